"""The AWS calls each task kind makes, shared by the Airflow aws target and the Step Functions definition.

Both paths must ask AWS for the same thing, so the arguments that are not names (a DMS start type, the
metric that says CDC has caught up, the dbt command, the container's environment) are decided here
once; names come from the published Terraform outputs (Airflow) or the definition's placeholders
(Step Functions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edp.spec import Task


# DMS task status -> how to start it; a running (or starting) task is only waited on.
DMS_START_TYPE = {"ready": "start-replication", "stopped": "resume-processing", "failed": "resume-processing"}
DMS_RELOAD = "reload-target"  # a full refresh: the task loads every table again (it must not be running)
DMS_WAIT_STATUSES = ("running", "starting")
DMS_FAILED_STATUSES = ("failed", "stopped")
CDC_LATENCY_METRIC = ("AWS/DMS", "CDCLatencyTarget")
CDC_LATENCY_PERIOD = 60
DEFAULT_MAX_LATENCY_SECONDS = 60

FULL_REFRESH_COMMANDS = ("build", "run", "seed")  # the dbt commands that take --full-refresh

# The dbt container's entrypoint uploads its target/ under runs/<run folder>/dbt/ of the artifacts bucket.
RUN_ID_ENV = "EDP_RUN_ID"


def dms_start_type_for_run(status: str, full_refresh: bool) -> str | None:
    """How a run starts the session's task: a full refresh reloads it (only a task that is not running can
    be), otherwise `dms_start_type`."""
    if not full_refresh:
        return dms_start_type(status)
    if status in DMS_WAIT_STATUSES:
        raise ValueError("a full refresh reloads the DMS task, which is running: turn the ingestion session off "
                         "and on again (or stop the task), then run again")
    dms_start_type(status)  # refuses statuses a task cannot start from
    return DMS_RELOAD


def dms_start_type(status: str) -> str | None:
    """The StartReplicationTaskType for a task in `status`; None when it is already running."""
    if status in DMS_WAIT_STATUSES:
        return None
    if status not in DMS_START_TYPE:
        raise ValueError(f"the DMS replication task is {status!r}; it can be started only when "
                         f"{', '.join(DMS_START_TYPE)} (or waited on when {', '.join(DMS_WAIT_STATUSES)})")
    return DMS_START_TYPE[status]


def max_latency_seconds(task: Task) -> int:
    return int(task.args.get("max_latency_seconds", DEFAULT_MAX_LATENCY_SECONDS))


def cdc_latency_query(instance_id: str, task_id: str) -> list[dict]:
    """GetMetricData's query for the latest CDC target latency of the session's task (the same metric the
    monitoring module alarms on)."""
    namespace, metric = CDC_LATENCY_METRIC
    return [{
        "Id": "latency",
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": [
                {"Name": "ReplicationInstanceIdentifier", "Value": instance_id},
                {"Name": "ReplicationTaskIdentifier", "Value": task_id},
            ]},
            "Period": CDC_LATENCY_PERIOD,
            "Stat": "Maximum",
        },
    }]


def glue_arguments(table: str, primary_key: str) -> dict[str, str]:
    """Job-run arguments on top of the job's defaults (the lake paths and schema are the job's own)."""
    return {"--table": table, "--primary_key": primary_key}


def dbt_command(task: Task, full_refresh: bool = False) -> list[str]:
    """The dbt command line of a dbt task; a full refresh rebuilds incremental models where dbt builds them."""
    words = task.args.get("command", "build").split()
    command = ["dbt", *words, "--target", "athena"]
    if task.args.get("select"):
        command += ["--select", task.args["select"]]
    return [*command, "--full-refresh"] if full_refresh and words[0] in FULL_REFRESH_COMMANDS else command


def publish_command(run_id: str) -> list[str]:
    return ["edp", "artifacts", "publish", "--run-id", run_id]
