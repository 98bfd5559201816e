"""`serving_load`: Gold marts loaded into the serving store for the serving session mode: Redshift Serverless
on AWS (through an external schema over the Gold catalog), a PostgreSQL schema locally (Redshift speaks its
protocol). Each table is replaced whole in one transaction. On AWS the task loads when the serving mode is on
(`edp_session`) and is skipped when it is off, in Step Functions and Airflow alike.

Step Functions runs `redshift-data:batchExecuteStatement` and polls `describeStatement` (the loop ends at the
task's timeout); Airflow runs `RedshiftDataOperator`, deferrable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edp.kinds.base import Arg, AslContext, DagContext, Kind
from edp.kinds.polling import sdk_integration, start_counting, task_state, timed_out, wait_round

if TYPE_CHECKING:
    from edp.spec import Task

EXTERNAL_SCHEMA = "edp_gold"
IDENTIFIER = r"[a-z][a-z0-9_]*"


def load_statements(tables: tuple[str, ...], schema: str, gold_database: str) -> list[str]:
    """Redshift SQL replacing each table of `schema` with the Gold mart of the same name."""
    sql = [f"CREATE EXTERNAL SCHEMA IF NOT EXISTS {EXTERNAL_SCHEMA} FROM DATA CATALOG DATABASE '{gold_database}' "
           "IAM_ROLE default", f"CREATE SCHEMA IF NOT EXISTS {schema}"]
    for table in tables:
        sql += [f"DROP TABLE IF EXISTS {schema}.{table}",
                f"CREATE TABLE {schema}.{table} AS SELECT * FROM {EXTERNAL_SCHEMA}.{table}"]
    return sql


class ServingLoad(Kind):
    name = "serving_load"
    doc = "Loads Gold marts into the serving store: Redshift Serverless on AWS, a PostgreSQL schema locally."
    args = (
        Arg("tables", list, "the Gold marts to load", pattern=IDENTIFIER),
        Arg("schema", str, "the serving schema the tables are replaced in", default="serving", pattern=IDENTIFIER),
    )
    local_executor = "edp_dev.local.executors:serving_load"

    def check_args(self, raw: dict[str, Any]) -> dict[str, Any]:
        args = super().check_args(raw)
        if not args["tables"]:
            raise ValueError("argument 'tables' must name at least one Gold mart")
        return args

    def asl(self, task: Task, ctx: AslContext) -> dict[str, Any]:
        serving = "$.session.outputs.serving"
        status = f"$.{task.id}.Status"
        sql = load_statements(task.args["tables"], task.args["schema"], ctx.placeholder("glue_database_gold"))
        return {
            task.id: {"Type": "Choice", "Comment": "Loads when the serving mode is on; otherwise nothing to load.",
                      "Choices": [{"And": [{"Variable": serving, "IsPresent": True},
                                           {"Not": {"Variable": serving, "IsNull": True}}],
                                   "Next": ctx.step(task, "count")}],
                      "Default": ctx.next},
            **start_counting(ctx, task, ctx.step(task, "load"), name=ctx.step(task, "count")),
            ctx.step(task, "load"): task_state(ctx, task, {
                "Resource": sdk_integration("redshiftdata", "batchExecuteStatement"),
                "Parameters": {"WorkgroupName.$": f"{serving}.workgroup_name", "Database.$": f"{serving}.database_name",
                               "Sqls": sql},
                "ResultSelector": {"Id.$": "$.Id"}, "ResultPath": f"$.{task.id}"}, ctx.step(task, "wait")),
            **wait_round(ctx, task, "wait", "poll"),
            ctx.step(task, "poll"): task_state(ctx, task, {
                "Resource": sdk_integration("redshiftdata", "describeStatement"),
                "Parameters": {"Id.$": f"$.{task.id}.Id"},
                "ResultSelector": {"Id.$": "$.Id", "Status.$": "$.Status"},
                "ResultPath": f"$.{task.id}"}, ctx.step(task, "check")),
            ctx.step(task, "check"): {"Type": "Choice", "Choices": [
                {"Variable": status, "StringEquals": "FINISHED", "Next": ctx.next},
                {"Or": [{"Variable": status, "StringEquals": s} for s in ("FAILED", "ABORTED")], "Next": ctx.failed}],
                "Default": ctx.step(task, "wait")},
            **timed_out(ctx, task),
        }

    def aws_operator(self, task: Task, ctx: DagContext) -> Any:
        from edp.aws.names import aws_conn_id, poll_seconds
        from edp.aws.operators import ServingLoadOperator

        return ServingLoadOperator(
            task_id=task.id, workgroup_name=ctx.name("serving('workgroup_name')"),
            database=ctx.name("serving('database_name')"),
            sql=ctx.name(f"serving_sql('{task.id}')"), wait_for_completion=True, deferrable=True,
            poll_interval=poll_seconds(), aws_conn_id=aws_conn_id(), **ctx.task_kwargs(task))


KIND = ServingLoad()
