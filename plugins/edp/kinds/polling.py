"""Step Functions building blocks the kinds share: Task states with the task's retries and catch, ARNs of
service integrations from named constants, and a poll loop that ends at the task's timeout.

Services without a `.sync` integration (crawlers, DMS, Redshift Data) are waited on with Wait -> poll ->
Choice loops. Step Functions has no timeout for a group of states, so each loop counts its polls in
`$.edp_polls.<task>` and fails the task with `EDP.TaskTimedOut` after `timeout_minutes` of waiting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edp.kinds.base import AslContext

if TYPE_CHECKING:
    from edp.spec import Task

SFN_INTEGRATION = "arn:aws:states:::"
TIMED_OUT = "EDP.TaskTimedOut"


def integration(service: str, action: str, sync: bool = False) -> str:
    """An optimised service integration ARN, e.g. glue:startJobRun.sync."""
    return f"{SFN_INTEGRATION}{service}:{action}{'.sync' if sync else ''}"


def sdk_integration(service: str, action: str) -> str:
    """An AWS SDK integration ARN, e.g. aws-sdk:glue:getCrawler."""
    return f"{SFN_INTEGRATION}aws-sdk:{service}:{action}"


def task_state(ctx: AslContext, task: Task, body: dict[str, Any], nxt: str) -> dict[str, Any]:
    """A Task state with the task's retries (its own count, the pipeline's delay, backoff and jitter) and the
    catch into the failure state."""
    return {"Type": "Task", **body, "Retry": ctx.retry(task), "Catch": ctx.catch(), "Next": nxt}


def counter(task: Task) -> str:
    return f"$.edp_polls.{task.id}"


def start_counting(ctx: AslContext, task: Task, nxt: str, name: str | None = None) -> dict[str, Any]:
    """The task's entry state (or `name`): its poll counter at zero."""
    return {name or task.id: {"Type": "Pass", "Comment": f"Task {task.id}: polls counted from here (timeout "
                      f"{task.timeout_minutes} min).", "Result": {"n": 0}, "ResultPath": counter(task), "Next": nxt}}


def wait_round(ctx: AslContext, task: Task, wait: str, then: str) -> dict[str, Any]:
    """wait -> count -> (`<task>:timed_out` | `then`): one round of a poll loop that gives up at the timeout."""
    limit = max(1, task.timeout_minutes * 60 // ctx.poll_seconds)
    return {
        ctx.step(task, wait): {"Type": "Wait", "Seconds": ctx.poll_seconds, "Next": ctx.step(task, f"{wait}_count")},
        ctx.step(task, f"{wait}_count"): {
            "Type": "Pass", "Parameters": {"n.$": f"States.MathAdd({counter(task)}.n, 1)"},
            "ResultPath": counter(task), "Next": ctx.step(task, f"{wait}_limit")},
        ctx.step(task, f"{wait}_limit"): {
            "Type": "Choice",
            "Choices": [{"Variable": f"{counter(task)}.n", "NumericGreaterThan": limit,
                         "Next": ctx.step(task, "timed_out")}],
            "Default": ctx.step(task, then)},
    }


def timed_out(ctx: AslContext, task: Task) -> dict[str, Any]:
    return {ctx.step(task, "timed_out"): {
        "Type": "Fail", "Error": TIMED_OUT,
        "Cause": f"task {task.id} waited longer than its {task.timeout_minutes} minutes"}}
