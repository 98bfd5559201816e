"""Renders the task list as an AWS Step Functions (ASL) definition: the lean orchestration path.

Each task kind becomes a small group of states named `<task id>` and
`<task id>:<step>`: an optimised integration where one exists
(`glue:startJobRun.sync`, `ecs:runTask.sync`), a Wait/poll/Choice loop where
none does (crawler, DMS).  Every Task state retries with exponential backoff
and full jitter and catches into one failure state.  Resource ARNs come from
named constants; account-specific names are Terraform `templatefile`
placeholders (`${...}`) that the step_functions module fills in.

`task_graph()` reads a definition back into task-level edges; a test compares
them with the Airflow DAG's, so neither side can drift from the task list.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edp.aws import calls
from edp.spec import Spec, Task, topological_order

SFN_INTEGRATION = "arn:aws:states:::"
SYNC = ".sync"
FAILED = "pipeline_failed"
SUCCEEDED = "pipeline_succeeded"
TERMINAL = (FAILED, SUCCEEDED)
STEP_SEPARATOR = ":"
POLL_SECONDS = 30
DEFINITION_FILE = "definition.asl.json"

# Terraform templatefile() variables the definition needs; the step_functions module passes each.
PLACEHOLDERS = {
    "session_parameter": "SSM parameter where the session stack publishes its outputs (the DMS task ARN among them)",
    "dms_replication_instance_id": "identifier of the session's DMS replication instance (CloudWatch dimension)",
    "dms_replication_task_id": "identifier of the session's DMS replication task (CloudWatch dimension)",
    "glue_job_bronze_to_silver": "name of the Bronze->Silver Glue job",
    "glue_crawler_silver": "name of the Silver crawler",
    "ecs_cluster_arn": "ECS cluster running the dbt container",
    "dbt_task_definition_arn": "task definition of the dbt image",
    "dbt_container_name": "container name inside that task definition",
    "private_subnet_a": "first private subnet for ECS tasks",
    "private_subnet_b": "second private subnet for ECS tasks",
    "ecs_security_group_id": "security group of the ECS tasks",
}


def placeholder_values(foundation: dict[str, Any]) -> dict[str, str]:
    """Each placeholder's value from the foundation's outputs: what the foundation gives the step_functions
    module, and what the Airflow aws target reads at run time, so the two can be compared."""
    ecs = foundation["ecs"]
    return {
        "session_parameter": foundation["session_parameter"],
        "dms_replication_instance_id": foundation["dms"]["replication_instance_id"],
        "dms_replication_task_id": foundation["dms"]["replication_task_id"],
        "glue_job_bronze_to_silver": foundation["glue_job_name"],
        "glue_crawler_silver": foundation["crawler_names"]["silver"],
        "ecs_cluster_arn": ecs["cluster_arn"],
        "dbt_task_definition_arn": ecs["task_definition_arn"],
        "dbt_container_name": ecs["container_name"],
        "private_subnet_a": ecs["subnet_ids"][0],
        "private_subnet_b": ecs["subnet_ids"][1],
        "ecs_security_group_id": ecs["security_group_id"],
    }


def filled(definition: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """The definition with its placeholders filled, as templatefile() does."""
    text = dumps(definition)
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    return json.loads(text)


def integration(service: str, action: str, sync: bool = False) -> str:
    """An optimised service integration ARN, e.g. glue:startJobRun.sync."""
    return f"{SFN_INTEGRATION}{service}:{action}{SYNC if sync else ''}"


def sdk_integration(service: str, action: str) -> str:
    """An AWS SDK integration ARN, e.g. aws-sdk:glue:getCrawler."""
    return f"{SFN_INTEGRATION}aws-sdk:{service}:{action}"


def ph(name: str) -> str:
    if name not in PLACEHOLDERS:
        raise KeyError(f"undeclared ASL placeholder {name!r}")
    return "${" + name + "}"


def retry(task: Task) -> list[dict]:
    return [{
        "ErrorEquals": ["States.ALL"],
        "IntervalSeconds": 30,
        "MaxAttempts": task.retries,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 600,
        "JitterStrategy": "FULL",
    }]


def catch() -> list[dict]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": FAILED}]


def step(task: Task, name: str) -> str:
    return f"{task.id}{STEP_SEPARATOR}{name}"


# -- one builder per task kind: returns {state name: state}, entry state is the task id ------------
def _start_then_poll(task: Task, nxt: str, start: dict[str, Any], poll: dict[str, Any], done: dict,
                     failed: dict) -> dict[str, Any]:
    """For services with no `.sync` integration: start, then Wait -> poll -> Choice until done or failed.

    `done` and `failed` are Choice rule conditions over `$.<task id>`, where the poll's result lands.
    """
    return {
        task.id: {"Type": "Task", **start, "ResultPath": None, "Retry": retry(task), "Catch": catch(),
                "Next": step(task, "wait")},
        step(task, "wait"): {"Type": "Wait", "Seconds": POLL_SECONDS, "Next": step(task, "poll")},
        step(task, "poll"): {"Type": "Task", **poll, "ResultPath": f"$.{task.id}", "Retry": retry(task),
                             "Catch": catch(), "Next": step(task, "check")},
        step(task, "check"): {
            "Type": "Choice",
            "Choices": [{**done, "Next": nxt}, {**failed, "Next": FAILED}],
            "Default": step(task, "wait"),
        },
    }


def _cdc_ingest(task: Task, spec: Spec, nxt: str) -> dict[str, Any]:
    """Read the live session's outputs first: the DMS task belongs to the session layer, so its ARN is
    known only while ingestion is on (a missing parameter fails the run with that reason).  Then start or
    resume the task by its status, wait for the full load, and wait until the CDC target latency
    (CloudWatch) is low enough: the same calls, in the same order, as the Airflow aws target."""
    arn = "$.session.outputs.dms_replication_task_arn"
    status = f"$.{task.id}.status"
    describe = {
        "Resource": sdk_integration("databasemigration", "describeReplicationTasks"),
        "Parameters": {"Filters": [{"Name": "replication-task-arn", "Values.$": f"States.Array({arn})"}]},
        "ResultSelector": {"status.$": "$.ReplicationTasks[0].Status",
                           "stats.$": "$.ReplicationTasks[0].ReplicationTaskStats"},
        "ResultPath": f"$.{task.id}",
    }

    def task_state(body: dict, nxt_state: str, **extra) -> dict:
        return {"Type": "Task", **body, **extra, "Retry": retry(task), "Catch": catch(), "Next": nxt_state}

    def start(start_type: str) -> dict:
        return task_state({
            "Comment": f"{start_type} of the session's full-load-and-CDC task.",
            "Resource": sdk_integration("databasemigration", "startReplicationTask"),
            "Parameters": {"ReplicationTaskArn.$": arn, "StartReplicationTaskType": start_type},
            "TimeoutSeconds": 300, "ResultPath": None}, step(task, "wait"))

    def is_status(*values: str) -> dict[str, Any]:
        rules: list[dict[str, Any]] = [{"Variable": status, "StringEquals": v} for v in values]
        return rules[0] if len(rules) == 1 else {"Or": rules}

    start_types = sorted(set(calls.DMS_START_TYPE.values()))
    routes = [{**is_status(*calls.DMS_WAIT_STATUSES), "Next": step(task, "wait")}]
    routes += [{**is_status(*sorted(k for k, v in calls.DMS_START_TYPE.items() if v == t)), "Next": step(task, t)}
               for t in start_types]
    latency = f"$.{task.id}.latency"
    return {
        task.id: task_state({
            "Comment": "Read the ingestion session's outputs (published by the session stack).",
            "Resource": sdk_integration("ssm", "getParameter"),
            "Parameters": {"Name": ph("session_parameter")},
            "ResultSelector": {"outputs.$": "States.StringToJson($.Parameter.Value)"},
            "ResultPath": "$.session"}, step(task, "status")),
        step(task, "status"): task_state(describe, step(task, "route")),
        step(task, "route"): {"Type": "Choice", "Choices": routes, "Default": FAILED},
        **{step(task, t): start(t) for t in start_types},
        step(task, "wait"): {"Type": "Wait", "Seconds": POLL_SECONDS, "Next": step(task, "poll")},
        step(task, "poll"): task_state(describe, step(task, "check")),
        step(task, "check"): {
            "Type": "Choice",
            "Choices": [
                {"And": [is_status("running"),
                         {"Variable": f"$.{task.id}.stats.FullLoadProgressPercent", "NumericEquals": 100}],
                 "Next": step(task, "latency")},
                {**is_status(*calls.DMS_FAILED_STATUSES), "Next": FAILED},
            ],
            "Default": step(task, "wait"),
        },
        step(task, "latency"): task_state({
            "Comment": "The task's latest CDC target latency since the execution started.",
            "Resource": sdk_integration("cloudwatch", "getMetricData"),
            "Parameters": {
                "MetricDataQueries": calls.cdc_latency_query(ph("dms_replication_instance_id"),
                                                             ph("dms_replication_task_id")),
                "StartTime.$": "$$.Execution.StartTime",
                "EndTime.$": "$$.State.EnteredTime",
                "ScanBy": "TimestampDescending",
            },
            "ResultSelector": {"values.$": "$.MetricDataResults[0].Values"},
            "ResultPath": latency}, step(task, "caught_up")),
        step(task, "caught_up"): {
            "Type": "Choice",
            "Choices": [{"And": [{"Variable": f"{latency}.values[0]", "IsPresent": True},
                                 {"Variable": f"{latency}.values[0]",
                                  "NumericLessThanEquals": calls.max_latency_seconds(task)}],
                         "Next": nxt}],
            "Default": step(task, "latency_wait"),
        },
        step(task, "latency_wait"): {"Type": "Wait", "Seconds": POLL_SECONDS, "Next": step(task, "latency")},
    }


def _glue_job(task: Task, spec: Spec, nxt: str) -> dict[str, Any]:
    inner = step(task, "table")
    return {
        task.id: {
            "Type": "Map",
            "Comment": f"One Glue job run per source table ({task.args['script']}).",
            "ItemsPath": "$.tables",
            "ItemSelector": {"table.$": "$$.Map.Item.Value.table", "primary_key.$": "$$.Map.Item.Value.primary_key",
                             "workers.$": "$.session.outputs.scale.glue_workers"},
            "MaxConcurrency": 4,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": inner,
                "States": {
                    inner: {
                        "Type": "Task",
                        "Resource": integration("glue", "startJobRun", sync=True),
                        "Parameters": {
                            "JobName": ph("glue_job_bronze_to_silver"),
                            "Arguments": {f"{k}.$": f"$.{k[2:]}" for k in calls.glue_arguments("table", "key")},
                            "NumberOfWorkers.$": "$.workers",
                        },
                        "TimeoutSeconds": task.timeout_minutes * 60,
                        "Retry": retry(task),
                        "End": True,
                    }
                },
            },
            "ResultPath": None,
            "Catch": catch(),
            "Next": nxt,
        }
    }


def _glue_crawler(task: Task, spec: Spec, nxt: str) -> dict[str, Any]:
    crawler = ph(f"glue_crawler_{task.args.get('layer', 'silver')}")
    ready = {"Variable": f"$.{task.id}.Crawler.State", "StringEquals": "READY"}
    last = f"$.{task.id}.Crawler.LastCrawl.Status"
    finished = [ready, {"Variable": last, "IsPresent": True}]
    start = {"Resource": sdk_integration("glue", "startCrawler"), "Parameters": {"Name": crawler}}
    poll = {"Resource": sdk_integration("glue", "getCrawler"), "Parameters": {"Name": crawler},
            "ResultSelector": {"Crawler.$": "$.Crawler"}}
    done = {"And": [*finished, {"Variable": last, "StringEquals": "SUCCEEDED"}]}
    failed = {"And": [*finished, {"Not": {"Variable": last, "StringEquals": "SUCCEEDED"}}]}
    return _start_then_poll(task, nxt, start, poll, done, failed)


def _ecs_run(task: Task, command: dict[str, Any], nxt: str, comment: str) -> dict[str, Any]:
    return {
        task.id: {
            "Type": "Task",
            "Comment": comment,
            "Resource": integration("ecs", "runTask", sync=True),
            "Parameters": {
                "Cluster": ph("ecs_cluster_arn"),
                "TaskDefinition": ph("dbt_task_definition_arn"),
                "LaunchType": "FARGATE",
                "NetworkConfiguration": {"AwsvpcConfiguration": {
                    "Subnets": [ph("private_subnet_a"), ph("private_subnet_b")],
                    "SecurityGroups": [ph("ecs_security_group_id")],
                    "AssignPublicIp": "DISABLED",
                }},
                "Overrides": {"ContainerOverrides": [{"Name": ph("dbt_container_name"), **command}]},
            },
            "TimeoutSeconds": task.timeout_minutes * 60,
            "ResultPath": None,
            "Retry": retry(task),
            "Catch": catch(),
            "Next": nxt,
        }
    }


RUN_ID = "$$.Execution.Name"  # the execution's name is its run id, as Airflow's run_id is a DagRun's


def _dbt(task: Task, spec: Spec, nxt: str) -> dict[str, Any]:
    override = {"Command": calls.dbt_command(task),
                "Environment": [{"Name": calls.RUN_ID_ENV, "Value.$": RUN_ID}]}
    return _ecs_run(task, override, nxt, "dbt on Athena, in the container built from dbt/.")


def _artifacts(task: Task, spec: Spec, nxt: str) -> dict[str, Any]:
    *words, _ = calls.publish_command("RUN_ID")
    command = {"Command.$": "States.Array(" + ", ".join(f"'{w}'" for w in words) + f", {RUN_ID})"}
    return _ecs_run(task, command, nxt, "Publish dbt artifacts, docs and the run report to the artifacts bucket.")


_BUILDERS = {"cdc_ingest": _cdc_ingest, "glue_job": _glue_job, "glue_crawler": _glue_crawler,
             "dbt": _dbt, "artifacts": _artifacts}


def render_asl(spec: Spec) -> dict[str, Any]:
    """The state machine for the task list; Step Functions runs tasks in one chain, so the list must be one."""
    order = topological_order(spec)
    _require_chain(spec, order)
    states: dict[str, Any] = {}
    for index, task in enumerate(order):
        nxt = order[index + 1].id if index + 1 < len(order) else SUCCEEDED
        states.update(_BUILDERS[task.kind](task, spec, nxt))
    states[FAILED] = {"Type": "Fail", "Error": "EDP.PipelineFailed", "Cause": "A pipeline task failed; see $.error."}
    states[SUCCEEDED] = {"Type": "Succeed"}
    return {
        "Comment": f"{spec.pipeline.id}: {spec.pipeline.description} Rendered from {spec.path.name} by `edp sfn render`.",
        "StartAt": order[0].id,
        "TimeoutSeconds": spec.pipeline.timeout_minutes * 60,
        "States": states,
    }


def _require_chain(spec: Spec, order: list[Task]) -> None:
    """This renderer emits a sequence; a fan-out would need Parallel states, so refuse it loudly."""
    for prev, task in zip(order, order[1:], strict=False):
        if task.upstream != (prev.id,):
            raise ValueError(
                f"{spec.path}: task {task.id!r}: the ASL renderer supports a linear chain; "
                f"expected upstream [{prev.id}], got {list(task.upstream)}"
            )


def default_input(spec: Spec) -> dict[str, Any]:
    """The execution input the nightly schedule sends: every table with its key."""
    return {"tables": [{"table": s.name, "primary_key": ",".join(s.primary_key)} for s in spec.sources],
            "full_refresh": False}


def dumps(definition: dict[str, Any]) -> str:
    return json.dumps(definition, indent=2, sort_keys=False) + "\n"


def write_asl(spec: Spec, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {DEFINITION_FILE: dumps(render_asl(spec)), "schedule_input.json": dumps(default_input(spec))}
    for name, text in files.items():
        (folder / name).write_text(text)
    return [folder / n for n in files]


def stale_files(spec: Spec, folder: Path) -> list[str]:
    """Committed files that differ from a fresh render (empty when up to date)."""
    expected = {DEFINITION_FILE: dumps(render_asl(spec)), "schedule_input.json": dumps(default_input(spec))}
    return [n for n, text in expected.items() if not (folder / n).exists() or (folder / n).read_text() != text]


def task_of(state_name: str) -> str | None:
    return None if state_name in TERMINAL else state_name.split(STEP_SEPARATOR, 1)[0]


def task_graph(definition: dict[str, Any]) -> tuple[set[str], set[tuple[str, str]]]:
    """Task ids and task-level edges of a definition: states grouped by task, transitions between groups."""
    tasks: set[str] = set()
    edges: set[tuple[str, str]] = set()
    for name, state in definition["States"].items():
        source = task_of(name)
        if source is None:
            continue
        tasks.add(source)
        targets = [state.get("Next"), state.get("Default")]
        targets += [c.get("Next") for c in state.get("Choices", [])]
        targets += [c.get("Next") for c in state.get("Catch", [])]
        for target in filter(None, targets):
            dest = task_of(target)
            if dest is not None and dest != source:
                edges.add((source, dest))
    return tasks, edges
