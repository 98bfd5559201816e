"""Operators of our own for the aws target, where the amazon provider has none for the job, shaped like its
operators: a hook owns the client, templated fields, `execute` returns what XCom keeps, and long waits defer
so no worker slot is held while AWS works.

CdcIngestOperator   starts or resumes the session's DMS task by its status, then waits (deferred) for the
                    full load and for the CDC target latency (CloudWatch) to fall to `max_latency_seconds`
AthenaCheckOperator runs a quality gate's checks as one Athena query (deferred on the provider's
                    AthenaTrigger) and fails the run unless no row breaks them
ServingLoadOperator RedshiftDataOperator, skipped when the serving mode is off
PublishArtifactsOperator  the run's metrics and report beside the dbt files the container uploaded
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
from airflow.sdk import BaseOperator

from edp.aws import calls
from edp.aws.names import Platform, aws_conn_id, poll_seconds
from edp.settings import PermanentError


def fails_at_once(method: Callable[..., Any]) -> Callable[..., Any]:
    """A PermanentError fails the task at once (AirflowFailException), as on the local target: retrying cannot
    fix it, and Airflow would otherwise retry it after `retry_delay`, then again, before the run fails."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except PermanentError as exc:
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(str(exc)) from exc

    return run


class CdcIngestOperator(BaseOperator):
    """Start or resume the ingestion session's DMS task, then wait until the full load is done and CDC has
    caught up; each wait is a deferral (LookAgainTrigger), not a sleeping worker.

    :param max_latency_seconds: CDC has caught up when the task's latest target latency is at most this.
    :param aws_conn_id: the Airflow AWS connection.
    :return: the task ARN, how it was started, the latency seen and the session's Glue workers.
    """

    template_fields: Sequence[str] = ("max_latency_seconds",)
    ui_color = "#ff9900"
    deferrable = True  # every wait is a deferral

    def __init__(self, *, max_latency_seconds: int = calls.DEFAULT_MAX_LATENCY_SECONDS, aws_conn_id: str | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.max_latency_seconds = max_latency_seconds
        self.aws_conn_id = aws_conn_id

    def _dms(self):
        from airflow.providers.amazon.aws.hooks.dms import DmsHook

        return DmsHook(aws_conn_id=self.aws_conn_id or aws_conn_id()).conn

    def _describe(self, arn: str) -> dict[str, Any]:
        tasks = self._dms().describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [arn]}])
        if not tasks["ReplicationTasks"]:
            raise PermanentError(f"the session's DMS task {arn} does not exist; turn ingestion off and on again")
        return tasks["ReplicationTasks"][0]

    @fails_at_once
    def execute(self, context) -> Any:
        platform = Platform.load()
        arn = platform.dms_task_arn
        status = self._describe(arn)["Status"]
        try:
            start_type = calls.dms_start_type_for_run(status, bool(context["params"].get("full_refresh")))
        except ValueError as exc:
            raise PermanentError(str(exc)) from exc
        if start_type:
            self._dms().start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType=start_type)
        return self.poll(context, {"arn": arn, "start_type": start_type, "since": time.time()})

    @fails_at_once
    def poll(self, context, event: dict[str, Any] | None = None) -> Any:
        """One look at the task: done, failed, or deferred again until the next look."""
        state = dict(event or {})
        current = self._describe(state["arn"])
        stats = current.get("ReplicationTaskStats") or {}
        if current["Status"] in calls.DMS_FAILED_STATUSES:
            raise RuntimeError(f"DMS task {state['arn']} is {current['Status']}: "
                               f"{current.get('StopReason') or current.get('LastFailureMessage')}")
        if current["Status"] == "running" and stats.get("FullLoadProgressPercent") == 100:
            latency = self._latency(datetime.fromtimestamp(state["since"], UTC))
            if latency is not None and latency <= int(self.max_latency_seconds):
                platform = Platform.load()
                return {"task_arn": state["arn"], "start_type": state["start_type"], "status": "running",
                        "cdc_latency_seconds": latency, "glue_workers": platform.glue_workers}
        return self._wait(state)

    def _wait(self, state: dict[str, Any]) -> None:
        from edp.aws.triggers import LookAgainTrigger

        self.defer(trigger=LookAgainTrigger(poll_seconds(), state), method_name="poll")

    def _latency(self, since: datetime) -> float | None:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        ids = Platform.load().dms_ids
        cloudwatch = AwsBaseHook(aws_conn_id=self.aws_conn_id or aws_conn_id(), client_type="cloudwatch").conn
        result = cloudwatch.get_metric_data(
            MetricDataQueries=calls.cdc_latency_query(ids["replication_instance_id"], ids["replication_task_id"]),
            StartTime=since, EndTime=datetime.now(UTC), ScanBy="TimestampDescending")
        values = result["MetricDataResults"][0].get("Values") or []
        return float(values[0]) if values else None


class AthenaCheckOperator(BaseOperator):
    """A quality gate on Athena: every check's rows counted in one query; any row fails the run at once.

    :param checks: SELECT statements returning the rows that break an assertion; `{gold}`/`{silver}` name the
        layers' catalog databases.
    :param aws_conn_id: the Airflow AWS connection.
    :return: the number of checks and the query's execution id.
    """

    template_fields: Sequence[str] = ("checks",)
    ui_color = "#8c4fff"
    deferrable = True  # the query is waited on by the provider's AthenaTrigger

    def __init__(self, *, checks: list[str], aws_conn_id: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.checks = checks
        self.aws_conn_id = aws_conn_id

    def _hook(self):
        from airflow.providers.amazon.aws.hooks.athena import AthenaHook

        return AthenaHook(aws_conn_id=self.aws_conn_id or aws_conn_id())

    @fails_at_once
    def execute(self, context) -> Any:
        from airflow.providers.amazon.aws.triggers.athena import AthenaTrigger

        from edp.kinds.quality_gate import count_sql

        platform = Platform.load()
        databases = platform.foundation["glue_database_names"]
        sql = count_sql(tuple(self.checks), databases["gold"], databases["silver"])
        query_id = self._hook().run_query(sql, query_context={}, result_configuration={},
                                          workgroup=platform.foundation["athena_workgroup"])
        self.defer(trigger=AthenaTrigger(query_execution_id=query_id, waiter_delay=poll_seconds(),
                                         waiter_max_attempts=max(1, int(self.execution_timeout.total_seconds()
                                                                        if self.execution_timeout else 3600)
                                                                 // poll_seconds()),
                                         aws_conn_id=self.aws_conn_id or aws_conn_id()),
                   method_name="verdict", kwargs={"query_id": query_id})

    @fails_at_once
    def verdict(self, context, event: dict[str, Any] | None = None, query_id: str = "") -> Any:
        if event and event.get("status") not in (None, "success"):
            raise RuntimeError(f"quality gate query {query_id} did not finish: {event}")
        # the trigger's event names the query too; `airflow dags test` resumes with the event alone
        query_id = (event or {}).get("value") or query_id
        if not query_id:
            raise RuntimeError(f"quality gate {self.task_id}: resumed without its Athena query id ({event})")
        rows = self._hook().get_query_results(query_id)["ResultSet"]["Rows"]
        broken = rows[1]["Data"][0].get("VarCharValue") if len(rows) > 1 else None
        if broken != "0":
            raise PermanentError(f"quality gate {self.task_id}: {broken} row(s) break its checks (query {query_id}); "
                                 "run each check in Athena to see them")
        return {"checks": len(self.checks), "query_execution_id": query_id}


class ServingLoadOperator(RedshiftDataOperator):
    """Gold into Redshift Serverless, when the serving mode is on; skipped (not failed) when it is off."""

    @fails_at_once
    def execute(self, context) -> Any:
        from airflow.sdk.exceptions import AirflowSkipException

        if not (Platform.load().session or {}).get("serving"):
            raise AirflowSkipException("the serving mode is off: nothing to load (turn it on with edp_session)")
        return super().execute(context)

    def render_template_fields(self, context, jinja_env=None) -> None:
        # the names come from the session, which is only there when the mode is on: nothing to render otherwise
        if (Platform.load().session or {}).get("serving"):
            super().render_template_fields(context, jinja_env)


class PublishArtifactsOperator(BaseOperator):
    """The run's metrics and report into the artifacts bucket, beside the dbt files the container uploaded.

    :param upstream_tasks: the pipeline's other tasks, whose returned metrics go into the report.
    :return: where the report is.
    """

    template_fields: Sequence[str] = ()

    def __init__(self, *, upstream_tasks: Sequence[str] = (), aws_conn_id: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.upstream_tasks = list(upstream_tasks)
        self.aws_conn_id = aws_conn_id

    @fails_at_once
    def execute(self, context) -> Any:
        from airflow.providers.amazon.aws.hooks.glue import GlueJobHook
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from edp.aws.glue_usage import run_metrics
        from edp.aws.publish import publish_run, task_list

        params, ti, platform, spec = context["params"], context["ti"], Platform.load(), task_list()
        conn_id = self.aws_conn_id or aws_conn_id()
        metrics = {t: ti.xcom_pull(task_ids=t, key="metrics") for t in self.upstream_tasks}
        # the Glue tasks' job runs as Glue billed them (GetJobRun), from the run ids the operators returned
        returned = {t: ti.xcom_pull(task_ids=t) for t in self.upstream_tasks}
        metrics.update(run_metrics(GlueJobHook(aws_conn_id=conn_id).conn, spec, platform.task_resource, returned))
        s3 = S3Hook(aws_conn_id=conn_id).conn
        return publish_run(s3, platform.bucket("artifacts"), context["run_id"],
                           {k: v for k, v in metrics.items() if v}, target="aws", spec=spec,
                           tables=tuple(params.get("tables") or ()), full_refresh=bool(params.get("full_refresh")),
                           started_at=getattr(context.get("dag_run"), "start_date", None))
