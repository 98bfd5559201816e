"""Publishing a run on AWS: `s3://<artifacts bucket>/runs/<run folder>/`, the layout the local target
writes under `.edp/artifacts/runs/`.

Two halves, because the dbt container's files die with it: the container's entrypoint uploads its
target/ (manifest, run results, catalog, static docs) under `dbt/` as soon as dbt exits
(`upload_dbt_target`), and the pipeline's artifacts task then checks they are there and adds the run's
metrics and report (`publish_run`).  Airflow runs the second half on its worker; Step Functions runs it
in the same image (`edp artifacts publish`).  Neither needs Airflow: any S3 client will do.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from edp import report
from edp.runtime import run_folder

DBT_FILES = {"manifest.json": "application/json", "run_results.json": "application/json",
             "catalog.json": "application/json", "static_index.html": "text/html"}
REQUIRED_DBT_FILES = ("manifest.json", "run_results.json")
BUCKET_ENV = "EDP_ARTIFACTS_BUCKET"


def run_prefix(run_id: str) -> str:
    return f"runs/{run_folder(run_id)}/"


def upload_dbt_target(s3, bucket: str, run_id: str, target_dir: Path) -> list[str]:
    """The container's half: whatever dbt wrote (a failed build still leaves run results worth reading)."""
    keys = []
    for name, content_type in DBT_FILES.items():
        path = target_dir / name
        if path.is_file():
            key = f"{run_prefix(run_id)}dbt/{name}"
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType=content_type)
            keys.append(key)
    return keys


def publish_run(s3, bucket: str, run_id: str, upstream_metrics: dict, target: str = "aws",
                tables: tuple[str, ...] = (), full_refresh: bool = False) -> dict[str, Any]:
    """The pipeline's half: fails when the dbt container left nothing, else writes metrics and the report."""
    started = time.monotonic()
    prefix = run_prefix(run_id)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}dbt/").get("Contents", [])
    present = {obj["Key"].rsplit("/", 1)[-1] for obj in listed}
    missing = [n for n in REQUIRED_DBT_FILES if n not in present]
    if missing:
        raise FileNotFoundError(f"s3://{bucket}/{prefix}dbt/ lacks {', '.join(missing)}: the dbt container uploads them "
                                "when dbt exits; see the dbt task's log for why it did not")
    results = json.loads(s3.get_object(Bucket=bucket, Key=f"{prefix}dbt/run_results.json")["Body"].read())
    gold = gold_rows(results)
    seconds = report.durations(upstream_metrics) or model_seconds(results)
    metrics = {"run_id": run_id, "target": target, "tables": list(tables), "full_refresh": full_refresh,
               "layers": {"gold": gold}, "durations": seconds, "tasks": upstream_metrics}
    links = {name: f"dbt/{name}" for name in sorted(present)}
    links["metrics.json"] = "metrics.json"
    html = report.render(run_id, target, {"gold": gold}, seconds, links,
                         {"tables": ", ".join(tables) or "all", "full refresh": full_refresh,
                          "dbt": ", ".join(f"{k}: {v}" for k, v in sorted(statuses(results).items()))})
    s3.put_object(Bucket=bucket, Key=f"{prefix}metrics.json", Body=json.dumps(metrics, indent=1, default=str).encode(),
                  ContentType="application/json")
    s3.put_object(Bucket=bucket, Key=f"{prefix}report.html", Body=html.encode(), ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="runs/latest", Body=f"{prefix}\n".encode(), ContentType="text/plain")
    return {"uri": f"s3://{bucket}/{prefix}", "report": f"s3://{bucket}/{prefix}report.html",
            "dbt_files": sorted(present), "seconds": round(time.monotonic() - started, 3)}


def model_seconds(results: dict) -> dict[str, float]:
    return {r["unique_id"].split(".")[-1]: float(r.get("execution_time") or 0) for r in results.get("results", [])}


def statuses(results: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results.get("results", []):
        counts[r.get("status", "unknown")] = counts.get(r.get("status", "unknown"), 0) + 1
    return counts


def gold_rows(results: dict) -> dict[str, int]:
    """Rows each model wrote, as the adapter reported them (Athena reports it for CTAS and inserts)."""
    rows = {}
    for r in results.get("results", []):
        if r["unique_id"].startswith("model.") and (r.get("adapter_response") or {}).get("rows_affected") is not None:
            rows[r["unique_id"].split(".")[-1]] = int(r["adapter_response"]["rows_affected"])
    return rows


def bucket_from_env() -> str:
    bucket = os.environ.get(BUCKET_ENV, "")
    if not bucket:
        raise SystemExit(f"{BUCKET_ENV} is not set: the dbt task definition sets it to the artifacts bucket")
    return bucket
