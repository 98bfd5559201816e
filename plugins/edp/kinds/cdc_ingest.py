"""`cdc_ingest`: the full load and change capture of the source into Bronze (DMS on AWS, the local stand-in).

Step Functions: the session's outputs are read once at the start of the machine (the renderer's first
state); the task starts or resumes the session's DMS task by its status, waits for the full load, then for
the CDC target latency (CloudWatch) to be at most `max_latency_seconds`: the same calls, in the same order,
as the Airflow aws target. Both waits count their polls, so the task's timeout ends them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edp.aws import calls
from edp.kinds.base import Arg, AslContext, DagContext, Kind
from edp.kinds.polling import sdk_integration, start_counting, task_state, timed_out, wait_round

if TYPE_CHECKING:
    from edp.spec import Spec, Task

SESSION = "$.session.outputs"


class CdcIngest(Kind):
    name = "cdc_ingest"
    doc = "Full load and change capture of the source tables into Bronze (AWS DMS; locally the DMS stand-in)."
    args = (
        Arg("max_latency_seconds", int, "CDC has caught up when the task's target latency is at most this",
            default=calls.DEFAULT_MAX_LATENCY_SECONDS, minimum=1, maximum=3600),
    )
    session_modes = ("ingestion",)
    local_executor = "edp_dev.local.executors:cdc_ingest"

    def resources(self, task: Task, spec: Spec) -> dict[str, Any]:
        return {"dms": {task.id: {}}}

    def asl(self, task: Task, ctx: AslContext) -> dict[str, Any]:
        arn = f"{SESSION}.dms_replication_task_arn"
        status = f"$.{task.id}.status"
        describe = {
            "Resource": sdk_integration("databasemigration", "describeReplicationTasks"),
            "Parameters": {"Filters": [{"Name": "replication-task-arn", "Values.$": f"States.Array({arn})"}]},
            "ResultSelector": {"status.$": "$.ReplicationTasks[0].Status",
                               "stats.$": "$.ReplicationTasks[0].ReplicationTaskStats"},
            "ResultPath": f"$.{task.id}",
        }

        def is_status(*values: str) -> dict:
            rules: list[dict[str, Any]] = [{"Variable": status, "StringEquals": v} for v in values]
            return rules[0] if len(rules) == 1 else {"Or": rules}

        def start(start_type: str) -> dict:
            return task_state(ctx, task, {
                "Comment": f"{start_type} of the session's full-load-and-CDC task.",
                "Resource": sdk_integration("databasemigration", "startReplicationTask"),
                "Parameters": {"ReplicationTaskArn.$": arn, "StartReplicationTaskType": start_type},
                "TimeoutSeconds": 300, "ResultPath": None}, ctx.step(task, "wait"))

        start_types = sorted({*calls.DMS_START_TYPE.values(), calls.DMS_RELOAD})
        full_refresh = {"And": [{"Variable": "$.full_refresh", "IsPresent": True},
                                {"Variable": "$.full_refresh", "BooleanEquals": True}]}
        # a full refresh reloads the task, which only a task that is not running can do (as in Airflow)
        routes = [{"And": [full_refresh, is_status(*calls.DMS_WAIT_STATUSES)], "Next": ctx.step(task, "running")},
                  {"And": [full_refresh, is_status(*calls.DMS_START_TYPE)], "Next": ctx.step(task, calls.DMS_RELOAD)},
                  {**is_status(*calls.DMS_WAIT_STATUSES), "Next": ctx.step(task, "wait")}]
        routes += [{**is_status(*sorted(k for k, v in calls.DMS_START_TYPE.items() if v == t)),
                    "Next": ctx.step(task, t)} for t in sorted(set(calls.DMS_START_TYPE.values()))]
        latency = f"$.{task.id}.latency"
        states = {
            task.id: {"Type": "Choice", "Comment": "The ingestion session must be on (edp_session).",
                      "Choices": [{"Variable": arn, "IsPresent": True, "Next": ctx.step(task, "count")}],
                      "Default": ctx.step(task, "no_session")},
            ctx.step(task, "running"): {
                "Type": "Fail", "Error": "EDP.FullRefreshOfARunningTask",
                "Cause": "a full refresh reloads the DMS task, which is running: turn the ingestion session off and "
                         "on again (or stop the task), then run again"},
            ctx.step(task, "no_session"): {
                "Type": "Fail", "Error": "EDP.NoIngestionSession",
                "Cause": "no ingestion session is on: turn it on with the edp_session DAG, then run again"},
            **start_counting(ctx, task, ctx.step(task, "status"), name=ctx.step(task, "count")),
            ctx.step(task, "status"): task_state(ctx, task, describe, ctx.step(task, "route")),
            ctx.step(task, "route"): {"Type": "Choice", "Choices": routes, "Default": ctx.failed},
            **{ctx.step(task, t): start(t) for t in start_types},
            **wait_round(ctx, task, "wait", "poll"),
            ctx.step(task, "poll"): task_state(ctx, task, describe, ctx.step(task, "check")),
            ctx.step(task, "check"): {
                "Type": "Choice",
                "Choices": [
                    {"And": [is_status("running"),
                             {"Variable": f"$.{task.id}.stats.FullLoadProgressPercent", "NumericEquals": 100}],
                     "Next": ctx.step(task, "latency")},
                    {**is_status(*calls.DMS_FAILED_STATUSES), "Next": ctx.failed},
                ],
                "Default": ctx.step(task, "wait"),
            },
            ctx.step(task, "latency"): task_state(ctx, task, {
                "Comment": "The task's latest CDC target latency since the execution started.",
                "Resource": sdk_integration("cloudwatch", "getMetricData"),
                "Parameters": {
                    "MetricDataQueries": calls.cdc_latency_query(ctx.placeholder("dms_replication_instance_id"),
                                                                 ctx.placeholder("dms_replication_task_id")),
                    "StartTime.$": "$$.Execution.StartTime",
                    "EndTime.$": "$$.State.EnteredTime",
                    "ScanBy": "TimestampDescending",
                },
                "ResultSelector": {"values.$": "$.MetricDataResults[0].Values"},
                "ResultPath": latency}, ctx.step(task, "caught_up")),
            ctx.step(task, "caught_up"): {
                "Type": "Choice",
                "Choices": [{"And": [{"Variable": f"{latency}.values[0]", "IsPresent": True},
                                     {"Variable": f"{latency}.values[0]",
                                      "NumericLessThanEquals": task.args["max_latency_seconds"]}],
                             "Next": ctx.next}],
                "Default": ctx.step(task, "latency_wait"),
            },
            **wait_round(ctx, task, "latency_wait", "latency"),
            **timed_out(ctx, task),
        }
        return states

    def aws_operator(self, task: Task, ctx: DagContext) -> Any:
        from edp.aws.operators import CdcIngestOperator

        return CdcIngestOperator(task_id=task.id, max_latency_seconds=task.args["max_latency_seconds"],
                                 **ctx.task_kwargs(task))


KIND = CdcIngest()
