"""Publishing a local run: dbt artifacts, the static docs site and the run report into a per-run folder, and
the run history over every run folder.

`<state>/artifacts/runs/<run id>/` mirrors `s3://<artifacts bucket>/runs/<run id>/`
on AWS; `<state>/artifacts/latest` names the newest run; `<state>/artifacts/index.html` is the history
(`runs/index.html` in the bucket). A run that fails before publishing leaves its metrics.json too
(`record_failure`), so the history shows it.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from edp import history, run_record
from edp.runtime import RunContext, run_folder
from edp.settings import local_paths
from edp.spec import Spec, Task
from edp_dev.local import dms_format as dms
from edp_dev.local import iceberg
from edp_dev.local.dbt_cli import BUILD_RESULTS, step_results_path
from edp_dev.private_files import write_private

DBT_FILES = {"manifest.json": "manifest.json", BUILD_RESULTS: "run_results.json", "catalog.json": "catalog.json"}


def layer_rows(run: RunContext) -> dict[str, dict[str, int]]:
    """Rows per table in Bronze (every file of the current generation), Silver and Gold."""
    import duckdb

    paths = local_paths()
    spec = run.spec
    bronze = {t: sum(pq.read_metadata(f).num_rows for f in dms.table_files(dms.table_dir(paths.bronze, spec.source_schema, t)))
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


def freshness_results(spec: Spec, target: Path) -> dict | None:
    """dbt's sources.json of the run's `source freshness` step (kept under its task id), if the list has one."""
    for task in spec.tasks:
        if task.kind == "dbt" and task.args.get("command") == "source freshness":
            kept = step_results_path(target, task.id)
            if kept.is_file():
                return json.loads(kept.read_text())
    return None


def publish_run(run: RunContext, upstream_metrics: dict, started_at: Any = None) -> dict:
    started = time.monotonic()
    paths = local_paths()
    folder = paths.artifacts / "runs" / run.run_folder
    folder.mkdir(parents=True, exist_ok=True)
    missing = [name for name in DBT_FILES if not (paths.dbt_target / name).exists()]
    if missing:
        raise FileNotFoundError(f"dbt artifacts missing from {paths.dbt_target}: {', '.join(missing)}; did dbt run?")
    for src, dst in DBT_FILES.items():
        shutil.copyfile(paths.dbt_target / src, folder / dst)
    sources = freshness_results(run.spec, paths.dbt_target)
    links = {"dbt docs": "docs/index.html", "manifest.json": "manifest.json", "run_results.json": "run_results.json",
             "catalog.json": "catalog.json", "metrics.json": "metrics.json", "run history": "../../index.html"}
    if sources is not None:
        (folder / "sources.json").write_text(json.dumps(sources, indent=1))
        links["sources.json"] = "sources.json"
    docs = folder / "docs"
    docs.mkdir(exist_ok=True)
    shutil.copyfile(paths.dbt_target / "static_index.html", docs / "index.html")
    metrics = run_record.build(run.spec, run.run_id, run.target, started_at=started_at, tables=run.tables,
                               full_refresh=run.full_refresh, layers=layer_rows(run), task_metrics=upstream_metrics,
                               run_results=json.loads((folder / "run_results.json").read_text()), sources=sources)
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=1, default=str))
    details = {"tables": ", ".join(run.tables), "full refresh": run.full_refresh}
    cdc = upstream_metrics.get("cdc_ingest")
    if isinstance(cdc, dict):
        details.update({"ingest mode": cdc.get("mode"), "end LSN": cdc.get("end_lsn")})
    (folder / "report.html").write_text(run_record.render_report(metrics, links, details))
    _point_latest(paths.artifacts, folder)
    write_history(paths.artifacts)
    return {"folder": str(folder), "report": str(folder / "report.html"), "layers": metrics["layers"],
            "cost_usd": metrics["cost"]["total_usd"], "seconds": round(time.monotonic() - started, 3)}


def record_failure(run: RunContext, task: Task, error: BaseException, started_at: Any = None) -> Path:
    """A run's failure into its run folder's metrics.json (on top of what was published, if anything) and the
    history; when dbt failed, its tests' results name the failing tests."""
    paths = local_paths()
    folder = paths.artifacts / "runs" / run.run_folder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "metrics.json"
    previous = history.load(path.read_text(), str(path)) if path.is_file() else None
    results = None
    if task.kind == "dbt":
        kept = step_results_path(paths.dbt_target, task.id)
        if kept.is_file() and task.args.get("command") != "source freshness":
            results = json.loads(kept.read_text())
    record = run_record.failed(previous, run.spec, run.run_id, run.target, started_at=started_at, failed_task=task.id,
                               error=f"{type(error).__name__}: {error}", run_results=results, tables=run.tables)
    path.write_text(json.dumps(record, indent=1, default=str))
    write_history(paths.artifacts)
    return path


def write_history(root: Path) -> Path:
    """`<root>/index.html` from every run folder's metrics.json, and the same page as `runs/index.html` (the
    bucket's layout, which the Airflow UI's pages read); an unreadable one is named in the log and left where
    it is (the page is rebuilt from the files, so nothing stored is lost)."""
    runs = history.load_all((str(path), path.read_text) for path in sorted((root / "runs").glob("*/metrics.json")))
    _replace(root / "runs" / "index.html", history.render(runs, lambda m: f"{_folder_of(m)}/report.html"))
    return _replace(root / "index.html", history.render(runs, lambda m: f"runs/{_folder_of(m)}/report.html"))


def _replace(path: Path, text: str) -> Path:
    """An artifact swapped in whole (a unique temporary file, renamed): a reader never sees half a page and
    two publishes at once never share a temporary file; artifacts are not secret, so readable as before."""
    return write_private(path, text, mode=0o644, folder_mode=None)


class LocalArtifacts:
    """The artifacts folder as the Airflow UI's pages read it (`edp.ui.ArtifactStore`): keys as in the bucket."""

    def __init__(self, root: Path):
        self.root = root.resolve()

    def get(self, key: str) -> bytes | None:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        return path.read_bytes()

    def latest_folder(self) -> str | None:
        latest = self.root / "latest"
        return Path(latest.read_text().strip()).name if latest.is_file() else None

    def docs_key(self, folder: str) -> str:
        return f"runs/{folder}/docs/index.html"


def artifact_store() -> LocalArtifacts:
    return LocalArtifacts(local_paths().artifacts)


def _folder_of(metrics: dict) -> str:
    return run_folder(str(metrics["run_id"]))


def _point_latest(root: Path, folder: Path) -> None:
    _replace(root / "latest", str(folder) + "\n")
