"""The local target: each task kind executed by a real engine on this machine.

cdc_ingest   -> logical replication from the embedded PostgreSQL into DMS-format Bronze
glue_job     -> the same glue_scripts/*.py under local PySpark
glue_crawler -> the DuckDB catalog refreshed from Silver parquet schemas
dbt          -> the dbt CLI on DuckDB, reading Silver through that catalog (one step: build, run, test...)
quality_gate -> SQL checks over Gold and Silver in DuckDB; any violating row fails the run
serving_load -> Gold tables copied into a schema of the embedded PostgreSQL (Redshift's stand-in)
artifacts    -> dbt artifacts, docs and a run report in a per-run folder

and the ingestion session around cdc_ingest when a run refreshes the source: the embedded PostgreSQL
is the RDS instance, its replication slot the DMS task's; turning ingestion off drops the slot so the
source stops retaining WAL, and the next session starts with a fresh full load.
"""

from __future__ import annotations

import time

from edp.runtime import RunContext
from edp.settings import PermanentError, local_paths
from edp.spec import Task
from edp_dev.local import catalog, dbt_cli, glue, iceberg, publish, quality, serving
from edp_dev.local.cdc import LocalDms


def cdc_ingest(task: Task, run: RunContext) -> dict:
    """Replicates every source table (one slot serves all); `tables` narrows only what is merged after."""
    _require_silver_for_unselected(run)
    started = time.monotonic()
    dms = LocalDms.for_spec(run.spec)
    if run.full_refresh:
        dms.drop_slot()  # the next run archives Bronze and takes a fresh full load
    result = dms.run()
    return {"mode": result.mode, "rows": result.rows, "files": len(result.files), "end_lsn": result.end_lsn,
            "seconds": round(time.monotonic() - started, 3)}


def _require_silver_for_unselected(run: RunContext) -> None:
    """A run for some tables merges only those, but the crawler and dbt need every table in Silver: on a
    lake without the others the run cannot succeed, so it stops before any work, saying what to run."""
    others = [t for t in run.spec.table_names if t not in run.tables]
    missing = [t for t in others if not iceberg.exists(local_paths().silver / t)]
    if missing and not run.full_refresh:
        raise PermanentError(f"a run for {', '.join(run.tables)} needs the other tables in Silver already, and "
                             f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not there yet: run every "
                             "table once first (`edp run` without --tables)")
    if missing:
        raise PermanentError(f"a full refresh rebuilds every table: run it without --tables ({', '.join(missing)} "
                             "would be missing from Silver)")


def ingestion_up(run: RunContext) -> dict:
    dms = LocalDms.for_spec(run.spec)
    dms.require_source()
    source = dms.conn_info
    return {"source": f"{source.host}:{source.port}/{source.dbname}", "slot": dms.slot}


def ingestion_down(run: RunContext) -> dict:
    dms = LocalDms.for_spec(run.spec)
    return {"slot": dms.slot, "slot_dropped": dms.drop_slot()}


def glue_job(task: Task, run: RunContext, table: str | None = None) -> dict:
    """The task's script under local PySpark, with the arguments the Glue job has on AWS: the lake paths and
    schema (the job's defaults there), the task's own `arguments`, and for a mapped task the table and key."""
    paths = local_paths()
    arguments = {
        "JOB_NAME": f"{run.spec.pipeline.id}_{task.id}",
        "bronze_path": paths.bronze.as_uri(),
        "silver_path": paths.silver.as_uri(),
        "schema": run.spec.source_schema,
    }
    arguments.update(item.split("=", 1) for item in task.args.get("arguments", ()))
    if table is not None:
        arguments.update(table=table, primary_key=",".join(run.spec.source(table).primary_key))
    return glue.run_script(task.args["script"], arguments)


def glue_crawler(task: Task, run: RunContext) -> dict:
    paths = local_paths()
    layer = task.args.get("layer", "silver")
    root = {"silver": paths.silver}.get(layer)
    if root is None:
        raise ValueError(f"task {task.id!r}: the local crawler catalogs the silver layer, not {layer!r}")
    return catalog.crawl(root, paths.catalog, layer, run.spec.table_names)


def dbt(task: Task, run: RunContext) -> dict:
    """One dbt step; its results are kept under the task's id, so two steps of one command do not collide."""
    return dbt_cli.build(task.args.get("command", "build"), full_refresh=run.full_refresh,
                         select=task.args.get("select") or "", name=task.id)


def quality_gate(task: Task, run: RunContext) -> dict:
    """The task's checks over the warehouse dbt built (Silver through the crawler's catalog); any violation is a
    PermanentError: retrying cannot fix the data."""
    paths = local_paths()
    return quality.gate(tuple(task.args.get("checks", ())), paths.warehouse / quality.WAREHOUSE_FILE,
                        paths.catalog / catalog.CATALOG_FILE)


def serving_load(task: Task, run: RunContext) -> dict:
    """Gold tables into the serving schema of the embedded PostgreSQL. The source's own schema is refused: the
    serving store is another database on AWS, and a load there could replace the source tables."""
    from edp_dev.local.postgres import EmbeddedPostgres

    schema = task.args.get("schema", "serving")
    if schema == run.spec.source_schema:
        raise PermanentError(f"task {task.id!r}: the serving schema must not be the source schema {schema!r}")
    paths = local_paths()
    conn = EmbeddedPostgres(paths.pg).start()
    return serving.serving_load(tuple(task.args.get("tables", ())), schema, paths.warehouse / quality.WAREHOUSE_FILE,
                                paths.catalog / catalog.CATALOG_FILE, conn.dsn())


def artifacts(task: Task, run: RunContext, upstream_metrics: dict, started_at=None) -> dict:
    return publish.publish_run(run, upstream_metrics, started_at)
