"""Publishing a local run: dbt artifacts, the static docs site and the run report into a per-run folder.

`<state>/artifacts/runs/<run id>/` mirrors `s3://<artifacts bucket>/runs/<run id>/`
on AWS; `<state>/artifacts/latest` names the newest run.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pyarrow.parquet as pq

from edp import report
from edp.runtime import RunContext
from edp.settings import local_paths
from edp_dev.local import iceberg
from edp_dev.local.dbt_cli import BUILD_RESULTS

DBT_FILES = {"manifest.json": "manifest.json", BUILD_RESULTS: "run_results.json", "catalog.json": "catalog.json"}


def layer_rows(run: RunContext) -> dict[str, dict[str, int]]:
    """Rows per table in Bronze (every file of the current generation), Silver and Gold."""
    import duckdb

    paths = local_paths()
    spec = run.spec
    bronze = {t: sum(pq.read_metadata(f).num_rows for f in (paths.bronze / spec.source_schema / t).glob("*.parquet"))
              for t in spec.table_names}
    silver = {t: iceberg.row_count(paths.silver / t) if iceberg.exists(paths.silver / t) else 0 for t in spec.table_names}
    gold: dict[str, int] = {}
    con = duckdb.connect(str(paths.warehouse / "warehouse.duckdb"), read_only=True)
    try:
        tables = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'gold' AND table_type = 'BASE TABLE' "
            "ORDER BY table_name"
        ).fetchall()
        for (name,) in tables:
            gold[name] = con.execute(f'SELECT count(*) FROM gold."{name}"').fetchone()[0]
    finally:
        con.close()
    return {"bronze": bronze, "silver": silver, "gold": gold}


def publish_run(run: RunContext, upstream_metrics: dict) -> dict:
    started = time.monotonic()
    paths = local_paths()
    folder = paths.artifacts / "runs" / run.run_folder
    folder.mkdir(parents=True, exist_ok=True)
    missing = [name for name in DBT_FILES if not (paths.dbt_target / name).exists()]
    if missing:
        raise FileNotFoundError(f"dbt artifacts missing from {paths.dbt_target}: {', '.join(missing)}; did dbt run?")
    for src, dst in DBT_FILES.items():
        shutil.copyfile(paths.dbt_target / src, folder / dst)
    docs = folder / "docs"
    docs.mkdir(exist_ok=True)
    shutil.copyfile(paths.dbt_target / "static_index.html", docs / "index.html")
    layers = layer_rows(run)
    task_seconds = report.durations(upstream_metrics)
    metrics = {"run_id": run.run_id, "target": run.target, "tables": list(run.tables), "full_refresh": run.full_refresh,
               "layers": layers, "durations": task_seconds, "tasks": upstream_metrics}
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=1, default=str))
    links = {"dbt docs": "docs/index.html", "manifest.json": "manifest.json", "run_results.json": "run_results.json",
             "catalog.json": "catalog.json", "metrics.json": "metrics.json"}
    details = {"tables": ", ".join(run.tables), "full refresh": run.full_refresh}
    cdc = upstream_metrics.get("cdc_ingest")
    if isinstance(cdc, dict):
        details.update({"ingest mode": cdc.get("mode"), "end LSN": cdc.get("end_lsn")})
    html = report.render(run.run_id, run.target, layers, task_seconds, links, details)
    (folder / "report.html").write_text(html)
    _point_latest(paths.artifacts, folder)
    return {"folder": str(folder), "report": str(folder / "report.html"), "layers": layers,
            "seconds": round(time.monotonic() - started, 3)}


def _point_latest(root: Path, folder: Path) -> None:
    tmp = root / "latest.tmp"
    tmp.write_text(str(folder) + "\n")
    tmp.replace(root / "latest")
