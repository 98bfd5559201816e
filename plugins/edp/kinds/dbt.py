"""`dbt`: one dbt command over the project in dbt/ (Athena on AWS, DuckDB locally), so a list can split
dbt into seed / run / test / snapshot steps with their own retries and timeouts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edp.aws import calls
from edp.kinds import ecs
from edp.kinds.base import Arg, AslContext, DagContext, Kind

if TYPE_CHECKING:
    from edp.spec import Task

# the dbt commands a pipeline step may run (dbt's own command names; `source freshness` is one step)
COMMANDS = ("build", "run", "test", "seed", "snapshot", "source freshness", "compile")


class Dbt(Kind):
    name = "dbt"
    doc = "One dbt command over dbt/ (Athena on AWS in the dbt image on ECS; DuckDB locally)."
    args = (
        Arg("command", str, "the dbt command", default="build", choices=COMMANDS),
        Arg("select", str, "a dbt --select expression (empty: the whole project)", default=""),
    )
    local_executor = "edp_dev.local.executors:dbt"

    def asl(self, task: Task, ctx: AslContext) -> dict[str, Any]:
        plain = calls.dbt_command(task)
        with_refresh = calls.dbt_command(task, full_refresh=True)
        command: dict[str, Any] = {"Command": plain}
        states = ecs.asl_state(task, ctx, {**command, "Environment": [{"Name": calls.RUN_ID_ENV,
                                                                       "Value.$": ecs.RUN_ID}]},
                               f"dbt {task.args['command']} on Athena, in the container built from dbt/.")
        if with_refresh == plain:
            return states
        # a run asking for a full refresh rebuilds incremental models: the same container, one flag more
        refresh = ctx.step(task, "full_refresh")
        entry = states.pop(task.id)
        refreshed = {**entry, "Parameters": {**entry["Parameters"], "Overrides": {"ContainerOverrides": [{
            **entry["Parameters"]["Overrides"]["ContainerOverrides"][0], "Command": with_refresh}]}}}
        return {task.id: {"Type": "Choice", "Choices": [
            {"And": [{"Variable": "$.full_refresh", "IsPresent": True},
                     {"Variable": "$.full_refresh", "BooleanEquals": True}], "Next": refresh}],
            "Default": ctx.step(task, "run")},
            ctx.step(task, "run"): entry, refresh: refreshed}

    def aws_operator(self, task: Task, ctx: DagContext) -> Any:
        # the command line as the run asks (a full refresh adds --full-refresh where dbt takes it)
        return ecs.operator(task, ctx, ctx.name(f"dbt_command('{task.id}', params.full_refresh)"))


KIND = Dbt()
