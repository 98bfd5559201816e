"""Publishing a run on AWS: `s3://<artifacts bucket>/runs/<run folder>/`, the layout the local target
writes under `.edp/artifacts/runs/`.

Two halves, because the dbt container's files die with it: the container's entrypoint uploads its
target/ (manifest, run results, catalog, static docs) under `dbt/` as soon as dbt exits
(`upload_dbt_target`), and the pipeline's artifacts task then checks they are there and adds the run's
metrics and report (`publish_run`).  Airflow runs the second half on its worker; Step Functions runs it
in the same image (`edp artifacts publish`).  Neither needs Airflow: any S3 client will do.  Each publish
also rebuilds the run history, `runs/index.html`, from every run's metrics.json under `runs/`; a task that
fails for good records the run as failed there too (`record_failed_task`, the tasks' failure callback).
"""

from __future__ import annotations

import json
import logging
import os
import time
from functools import partial
from pathlib import Path
from typing import Any

from edp import history, report, run_record
from edp.runtime import run_folder
from edp.spec import Spec, SpecError, load_spec

log = logging.getLogger(__name__)

DBT_FILES = {"manifest.json": "application/json", "run_results.json": "application/json",
             "catalog.json": "application/json", "static_index.html": "text/html",
             "sources.json": "application/json"}  # sources.json: the source_freshness step's results
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
                tables: tuple[str, ...] = (), full_refresh: bool = False, spec: Spec | None = None,
                started_at: Any = None) -> dict[str, Any]:
    """The pipeline's half: fails when the dbt container left nothing, else writes metrics, the report and the
    run history."""
    started = time.monotonic()
    spec = spec or task_list()
    prefix = run_prefix(run_id)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}dbt/").get("Contents", [])
    present = {obj["Key"].rsplit("/", 1)[-1] for obj in listed}
    missing = [n for n in REQUIRED_DBT_FILES if n not in present]
    if missing:
        raise FileNotFoundError(f"s3://{bucket}/{prefix}dbt/ lacks {', '.join(missing)}: the dbt container uploads them "
                                "when dbt exits; see the dbt task's log for why it did not")
    results = _json(s3, bucket, f"{prefix}dbt/run_results.json")
    sources = _json(s3, bucket, f"{prefix}dbt/sources.json") if "sources.json" in present else None
    metrics = run_record.build(spec, run_id, target, started_at=started_at, tables=tables, full_refresh=full_refresh,
                               layers={"gold": gold_rows(results)}, task_metrics=upstream_metrics,
                               run_results=results, sources=sources,
                               durations=report.durations(upstream_metrics) or model_seconds(results))
    links = {name: f"dbt/{name}" for name in sorted(present)}
    links.update({"metrics.json": "metrics.json", "run history": "../index.html"})
    html = run_record.render_report(metrics, links, {
        "tables": ", ".join(tables) or "all", "full refresh": full_refresh,
        "dbt": ", ".join(f"{k}: {v}" for k, v in sorted(statuses(results).items()))})
    s3.put_object(Bucket=bucket, Key=f"{prefix}metrics.json", Body=json.dumps(metrics, indent=1, default=str).encode(),
                  ContentType="application/json")
    s3.put_object(Bucket=bucket, Key=f"{prefix}report.html", Body=html.encode(), ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="runs/latest", Body=f"{prefix}\n".encode(), ContentType="text/plain")
    write_history(s3, bucket)
    return {"uri": f"s3://{bucket}/{prefix}", "report": f"s3://{bucket}/{prefix}report.html",
            "history": f"s3://{bucket}/{HISTORY_KEY}", "dbt_files": sorted(present),
            "cost_usd": metrics["cost"]["total_usd"], "seconds": round(time.monotonic() - started, 3)}


HISTORY_KEY = "runs/index.html"


def record_failure(s3, bucket: str, run_id: str, spec: Spec | None, task_id: str, error: BaseException | str, *,
                   started_at: Any = None, tables: tuple[str, ...] | list[str] = ()) -> str:
    """A run's failure into `runs/<run>/metrics.json` (on top of what was published, if anything) and the run
    history, as the local target records one: the failing task, the first line of its error and, when a dbt
    step failed, its tests from the run results the container uploaded. Returns the metrics key."""
    prefix = run_prefix(run_id)
    key = f"{prefix}metrics.json"
    previous = _json_or_none(s3, bucket, key)
    task = next((t for t in spec.tasks if t.id == task_id), None) if spec else None
    results = None
    if task is not None and task.kind == "dbt" and task.args.get("command") != "source freshness":
        results = _json_or_none(s3, bucket, f"{prefix}dbt/run_results.json")
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    record = run_record.failed(previous, spec, run_id, "aws", started_at=started_at, failed_task=task_id,
                               error=message, run_results=results, tables=tables)
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(record, indent=1, default=str).encode(),
                  ContentType="application/json")
    write_history(s3, bucket)
    return key


def record_failed_task(context: dict[str, Any]) -> None:
    """on_failure_callback of the aws target's tasks (called once a task has failed for good): the run's
    failure into the artifacts bucket's run history. Never raises: the task's own failure stands."""
    ti = context.get("ti") or context.get("task_instance")
    task_id = str(getattr(ti, "task_id", "?"))
    try:
        from edp.aws.names import Platform
        from edp.environments import aws_client

        platform = Platform.load()
        spec = task_list()
        params = dict(context.get("params") or {})
        tables = params.get("tables") or (spec.table_names if spec else ())
        key = record_failure(aws_client("s3", platform.environment), platform.bucket("artifacts"),
                             str(context.get("run_id")), spec, task_id, context.get("exception") or "failed",
                             started_at=getattr(context.get("dag_run"), "start_date", None), tables=tables)
        log.info("edp: the failure of %s is in the run history (%s)", task_id, key)
    except Exception as exc:  # noqa: BLE001 - a record that cannot be written must not mask the failure
        log.warning("edp: the failure of %s was not recorded in the run history: %s", task_id, exc)


def task_list() -> Spec | None:
    """The task list, which prices the tasks' seconds; the dbt image (Step Functions' publishing) has none, and
    the estimate then holds what dbt's files say (Athena bytes scanned)."""
    try:
        return load_spec(os.environ.get("EDP_TASK_LIST") or None)
    except (OSError, SpecError) as exc:
        log.info("no task list to price the tasks' seconds (%s): the cost holds dbt's Athena bytes only", exc)
        return None


def _body(s3, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def _json(s3, bucket: str, key: str) -> dict:
    return json.loads(_body(s3, bucket, key))


def _json_or_none(s3, bucket: str, key: str) -> dict | None:
    """The object's JSON, or None when there is no such object."""
    try:
        return _json(s3, bucket, key)
    except s3.exceptions.NoSuchKey:
        return None


def write_history(s3, bucket: str) -> str:
    """`runs/index.html` from every `runs/<run>/metrics.json`; an unreadable one is logged and left out."""
    keys = [obj["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="runs/")
            for obj in page.get("Contents", []) if obj["Key"].count("/") == 2 and obj["Key"].endswith("/metrics.json")]
    runs = history.load_all((f"s3://{bucket}/{key}", partial(_body, s3, bucket, key)) for key in keys)
    html = history.render(runs, lambda m: f"{run_folder(str(m['run_id']))}/report.html")
    s3.put_object(Bucket=bucket, Key=HISTORY_KEY, Body=html.encode(), ContentType="text/html")
    return HISTORY_KEY


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


class S3Artifacts:
    """The artifacts bucket as the Airflow UI's pages read it (`edp.ui.ArtifactStore`)."""

    def __init__(self, s3, bucket: str):
        self.s3, self.bucket = s3, bucket

    def get(self, key: str) -> bytes | None:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None

    def latest_folder(self) -> str | None:
        body = self.get("runs/latest")
        return body.decode().strip().strip("/").split("/")[-1] if body else None

    def docs_key(self, folder: str) -> str:
        return f"runs/{folder}/dbt/static_index.html"


def artifact_store() -> S3Artifacts:
    """The deployment's artifacts bucket (the foundation's published outputs), through Airflow's AWS connection."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from edp.aws.names import Platform, aws_conn_id

    return S3Artifacts(S3Hook(aws_conn_id=aws_conn_id()).conn, Platform.load().bucket("artifacts"))


def bucket_from_env() -> str:
    bucket = os.environ.get(BUCKET_ENV, "")
    if not bucket:
        raise SystemExit(f"{BUCKET_ENV} is not set: the dbt task definition sets it to the artifacts bucket")
    return bucket
