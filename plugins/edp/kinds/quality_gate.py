"""`quality_gate`: SQL assertions that fail the run. Each check is a SELECT returning the rows that break an
assertion; the gate passes when every check returns none (Athena on AWS, DuckDB over the warehouse
locally). `{gold}` and `{silver}` in a check name the layer's schema on either engine.

Step Functions runs one query counting every check's rows (`athena:startQueryExecution.sync`) and fails
the run unless the count is 0; Airflow runs our `AthenaCheckOperator` (deferrable, like AthenaOperator).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edp.kinds.base import Arg, AslContext, DagContext, Kind
from edp.kinds.polling import integration, task_state

if TYPE_CHECKING:
    from edp.spec import Task

FAILED_CHECKS = "EDP.QualityGateFailed"


def count_sql(checks: tuple[str, ...], gold: str, silver: str) -> str:
    """One query whose single value is the number of rows breaking any check."""
    parts = [f"SELECT count(*) AS n FROM ({c.format(gold=gold, silver=silver).rstrip().rstrip(';')}) AS c{i}"
             for i, c in enumerate(checks)]
    return "SELECT CAST(coalesce(sum(n), 0) AS varchar) AS broken FROM (" + " UNION ALL ".join(parts) + ") AS checks"


class QualityGate(Kind):
    name = "quality_gate"
    doc = ("SQL assertions that fail the run: each check returns the rows breaking it (Athena on AWS, DuckDB "
           "locally); {gold} and {silver} name the layers.")
    args = (Arg("checks", list, "SELECT statements returning the rows that break an assertion"),)
    local_executor = "edp_dev.local.executors:quality_gate"

    def check_args(self, raw: dict[str, Any]) -> dict[str, Any]:
        args = super().check_args(raw)
        if not args["checks"]:
            raise ValueError("argument 'checks' must list at least one SELECT")
        for check in args["checks"]:
            try:
                check.format(gold="gold", silver="silver")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"argument 'checks': {check!r} uses an unknown placeholder {exc}; "
                                 "only {gold} and {silver}") from None
        return args

    def asl(self, task: Task, ctx: AslContext) -> dict[str, Any]:
        sql = count_sql(task.args["checks"], ctx.placeholder("glue_database_gold"),
                        ctx.placeholder("glue_database_silver"))
        return {
            task.id: task_state(ctx, task, {
                "Resource": integration("athena", "startQueryExecution", sync=True),
                "Parameters": {"QueryString": sql, "WorkGroup": ctx.placeholder("athena_workgroup")},
                "TimeoutSeconds": task.timeout_minutes * 60,
                "ResultSelector": {"id.$": "$.QueryExecution.QueryExecutionId"},
                "ResultPath": f"$.{task.id}"}, ctx.step(task, "results")),
            ctx.step(task, "results"): task_state(ctx, task, {
                "Resource": integration("athena", "getQueryResults"),
                "Parameters": {"QueryExecutionId.$": f"$.{task.id}.id"},
                "ResultSelector": {"broken.$": "$.ResultSet.Rows[1].Data[0].VarCharValue"},
                "ResultPath": f"$.{task.id}"}, ctx.step(task, "verdict")),
            ctx.step(task, "verdict"): {"Type": "Choice", "Choices": [
                {"Variable": f"$.{task.id}.broken", "StringEquals": "0", "Next": ctx.next}],
                "Default": ctx.step(task, "broken")},
            ctx.step(task, "broken"): {"Type": "Fail", "Error": FAILED_CHECKS,
                                       "Cause": f"quality gate {task.id}: rows break its checks"},
        }

    def aws_operator(self, task: Task, ctx: DagContext) -> Any:
        from edp.aws.operators import AthenaCheckOperator

        return AthenaCheckOperator(task_id=task.id, checks=list(task.args["checks"]), **ctx.task_kwargs(task))


KIND = QualityGate()
