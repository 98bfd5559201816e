"""The aws target: each task kind run by the amazon provider's operators against the real services.

cdc_ingest   -> DmsStartTaskOperator (start or resume the session's task), then wait for the full load
                and for CDC to catch up (the task's CloudWatch latency)
glue_job     -> GlueJobOperator: one run of the Bronze->Silver job per table
glue_crawler -> GlueCrawlerOperator on the layer's crawler
dbt          -> EcsRunTaskOperator: the dbt image on Fargate, with the dbt command as an override
artifacts    -> the dbt artifacts the container uploaded, the run's metrics and report, into the
                artifacts bucket (S3Hook)

Names come from what the Terraform layers publish (`edp.aws.names`), the arguments from
`edp.aws.calls`, which the Step Functions definition is rendered from too.  The operators run inside the
pipeline's task (the target is a run's Param, so the DAG's shape cannot depend on it) with that task's
context, and never deferrable: the task itself is what Airflow retries and times out.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from edp.aws import calls
from edp.aws.names import Platform, aws_conn_id, poll_seconds
from edp.runtime import RunContext
from edp.settings import PermanentError
from edp.spec import Task


def _context():
    from airflow.sdk import get_current_context

    return get_current_context()


def _op_args(task: Task, suffix: str = "") -> dict:
    return {"task_id": f"{task.id}{suffix}", "aws_conn_id": aws_conn_id()}


def cdc_ingest(task: Task, run: RunContext) -> dict:
    from airflow.providers.amazon.aws.hooks.dms import DmsHook
    from airflow.providers.amazon.aws.operators.dms import DmsStartTaskOperator

    started = time.monotonic()
    platform = Platform.load()
    arn = platform.dms_task_arn
    dms = DmsHook(aws_conn_id=aws_conn_id()).conn
    deadline = started + task.timeout_minutes * 60

    def describe() -> dict:
        tasks = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [arn]}])
        if not tasks["ReplicationTasks"]:
            raise PermanentError(f"the session's DMS task {arn} does not exist; turn ingestion off and on again")
        return tasks["ReplicationTasks"][0]

    status = describe()["Status"]
    try:
        start_type = calls.dms_start_type(status)
    except ValueError as exc:
        raise PermanentError(str(exc)) from exc
    if start_type:
        DmsStartTaskOperator(replication_task_arn=arn, start_replication_task_type=start_type,
                             **_op_args(task, "_start")).execute(_context())
    while True:  # the full load first (Step Functions: the same describe call, the same Choice)
        current = describe()
        stats = current.get("ReplicationTaskStats") or {}
        if current["Status"] == "running" and stats.get("FullLoadProgressPercent") == 100:
            break
        if current["Status"] in calls.DMS_FAILED_STATUSES:
            raise RuntimeError(f"DMS task {arn} is {current['Status']}: {current.get('StopReason') or current.get('LastFailureMessage')}")
        _sleep_until(deadline, f"DMS full load of {arn} ({stats.get('FullLoadProgressPercent', 0)}%)")
    latency = _wait_caught_up(task, platform, run, deadline)
    # the session's scale as this run found it: the Glue runs use it even when the session is gone by then
    return {"task_arn": arn, "start_type": start_type, "status": "running", "cdc_latency_seconds": latency,
            "glue_workers": platform.glue_workers, "seconds": round(time.monotonic() - started, 3)}


def _wait_caught_up(task: Task, platform: Platform, run: RunContext, deadline: float) -> float:
    """CDC has caught up when the task's latest target latency is at most the task's `max_latency_seconds`."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    cloudwatch = AwsBaseHook(aws_conn_id=aws_conn_id(), client_type="cloudwatch").conn
    ids = platform.dms_ids
    query = calls.cdc_latency_query(ids["replication_instance_id"], ids["replication_task_id"])
    since = _run_started()
    limit = calls.max_latency_seconds(task)
    while True:
        result = cloudwatch.get_metric_data(MetricDataQueries=query, StartTime=since, EndTime=datetime.now(UTC),
                                            ScanBy="TimestampDescending")
        values = result["MetricDataResults"][0].get("Values") or []
        if values and values[0] <= limit:
            return float(values[0])
        _sleep_until(deadline, f"CDC catch-up (latency {values[0] if values else 'not reported yet'} s, "
                               f"wanted <= {limit} s)")


def _run_started() -> datetime:
    context = _context()
    dag_run = context.get("dag_run")
    start = getattr(dag_run, "start_date", None) or getattr(dag_run, "run_after", None)
    return start or datetime.now(UTC)


def _sleep_until(deadline: float, waiting_for: str) -> None:
    if time.monotonic() + poll_seconds() > deadline:
        raise TimeoutError(f"gave up waiting for {waiting_for}")
    time.sleep(poll_seconds())


def glue_job(task: Task, run: RunContext, table: str) -> dict:
    from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

    started = time.monotonic()
    platform = Platform.load()
    source = run.spec.source(table)
    workers = _session_glue_workers(run) or platform.glue_workers
    run_kwargs = {"NumberOfWorkers": workers} if workers else {}
    operator = GlueJobOperator(
        job_name=platform.glue_job, script_args=calls.glue_arguments(table, ",".join(source.primary_key)),
        run_job_kwargs=run_kwargs, wait_for_completion=True, deferrable=False, verbose=False,
        job_poll_interval=poll_seconds(), **_op_args(task, f"_{table}"),
    )
    run_id = operator.execute(_context())
    return {"table": table, "job_run_id": run_id, "seconds": round(time.monotonic() - started, 3)}


def _session_glue_workers(run: RunContext) -> int | None:
    """The workers the ingestion task read from the session (Step Functions passes the same value on from
    its session read): the ingestion session may be torn down while the Glue runs go on."""
    ti = _context()["ti"]
    for upstream in (t.id for t in run.spec.tasks if t.kind == "cdc_ingest"):
        metrics = ti.xcom_pull(task_ids=upstream, key="metrics") or {}
        if metrics.get("glue_workers"):
            return int(metrics["glue_workers"])
    return None


def glue_crawler(task: Task, run: RunContext) -> dict:
    from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerOperator

    started = time.monotonic()
    name = Platform.load().crawler(task.args.get("layer", "silver"))
    GlueCrawlerOperator(config={"Name": name}, wait_for_completion=True, deferrable=False,
                        poll_interval=poll_seconds(), **_op_args(task)).execute(_context())
    return {"crawler": name, "seconds": round(time.monotonic() - started, 3)}


def dbt(task: Task, run: RunContext) -> dict:
    from airflow.providers.amazon.aws.operators.ecs import EcsRunTaskOperator

    started = time.monotonic()
    ecs = Platform.load().ecs
    command = calls.dbt_command(task, run.full_refresh)
    operator = EcsRunTaskOperator(
        cluster=ecs["cluster_arn"], task_definition=ecs["task_definition_arn"], launch_type="FARGATE",
        overrides={"containerOverrides": [{"name": ecs["container_name"], "command": command,
                                           "environment": [{"name": calls.RUN_ID_ENV, "value": run.run_id}]}]},
        network_configuration={"awsvpcConfiguration": {"subnets": list(ecs["subnet_ids"]),
                                                       "securityGroups": [ecs["security_group_id"]],
                                                       "assignPublicIp": "DISABLED"}},
        wait_for_completion=True, deferrable=False, waiter_delay=poll_seconds(),
        waiter_max_attempts=max(1, task.timeout_minutes * 60 // poll_seconds()), **_op_args(task),
    )
    operator.execute(_context())
    return {"command": command, "task_arn": operator.arn, "seconds": round(time.monotonic() - started, 3)}


def artifacts(task: Task, run: RunContext, upstream_metrics: dict) -> dict:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from edp.aws.publish import publish_run

    s3 = S3Hook(aws_conn_id=aws_conn_id()).conn
    return publish_run(s3, Platform.load().bucket("artifacts"), run.run_id, upstream_metrics, target=run.target,
                       tables=run.tables, full_refresh=run.full_refresh)


def ingestion_up(run: RunContext) -> dict:
    return _switch_session(run, "up")


def ingestion_down(run: RunContext) -> dict:
    """Stop the replication task first (it stops reading the slot), then take the session down: the RDS
    instance goes with its slot (a final snapshot is kept), the buckets stay."""
    from airflow.providers.amazon.aws.hooks.dms import DmsHook

    platform = Platform.load()
    arn = (platform.session or {}).get("dms_replication_task_arn")
    stopped = False
    if arn:
        dms = DmsHook(aws_conn_id=aws_conn_id())
        if dms.get_task_status(arn) in calls.DMS_WAIT_STATUSES:
            dms.stop_replication_task(replication_task_arn=arn)
            stopped = True
    return {**_switch_session(run, "down"), "dms_task_stopped": stopped}


def _switch_session(run: RunContext, action: str) -> dict:
    """The same plan-and-apply the edp_session DAG runs, from inside the pipeline's setup/teardown."""
    from edp import session
    from edp.operators.terraform import TerraformOperator

    environment = Platform.load().environment
    args = session.prepare({"action": action, "modes": ["ingestion"]}, environment)
    summary = args.pop("summary")
    outputs = TerraformOperator(task_id=f"ingestion_{action}_terraform", command="plan_and_apply",
                                **args).execute(_context())
    return {"action": summary, **session.report(outputs, environment)}
