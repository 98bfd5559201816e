"""Renders the task list as an AWS Step Functions (ASL) definition: the lean orchestration path.

The task graph is decomposed into series and parallel blocks (`edp.shape`): a fan-out and fan-in becomes a
Parallel state (nested where needed), a mapped task a Map state, and where Step Functions cannot express the
graph exactly the renderer adds the fewest orderings and says so (`Rendering.added`, a warning from
`edp sfn render`); no dependency of the task list is ever dropped. Each task's states come from its kind
(`edp.kinds`): they are named `<task id>` and `<task id>:<step>`, retry with the task's retries, the
pipeline's delay, backoff and full jitter, and catch into the failure state of their scope (a Parallel
branch has its own, which fails the Parallel state, which the outer scope catches).

The machine starts by checking its input (a run that asks to refresh the source needs Airflow, which runs
the session's Terraform) and reading the live session's outputs once (DMS task, Redshift workgroup, scale),
so every branch sees them. Account-specific names are Terraform `templatefile` placeholders (`${...}`)
that the step_functions module fills in; the resources each task needs (Glue jobs, crawlers, the schedule)
go to `resources.json` beside the definition, which the foundation stack reads.

`task_order()` reads a definition back into the orderings it guarantees; the tests compare them with the
task list and the Airflow DAG.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edp import shape
from edp.kinds import KINDS
from edp.kinds.base import AslContext
from edp.spec import Spec, Task, schedule_expression

FAILED = "pipeline_failed"
SUCCEEDED = "pipeline_succeeded"
CHECK_INPUTS = "check_inputs"
READ_SESSION = "read_session"
NO_SESSION = "read_session:none"
STEP_SEPARATOR = ":"
POLL_SECONDS = 30
DEFINITION_FILE = "definition.asl.json"
INPUT_FILE = "schedule_input.json"
RESOURCES_FILE = "resources.json"

# Terraform templatefile() variables the definition may use; the step_functions module passes each.
PLACEHOLDERS = {
    "name_prefix": "prefix of every resource name; a task's own resources are <prefix>-<task id>",
    "session_parameter": "SSM parameter where the session stack publishes its outputs (the DMS task ARN among them)",
    "default_glue_workers": "Glue workers per run when no session publishes its scale",
    "dms_replication_instance_id": "identifier of the session's DMS replication instance (CloudWatch dimension)",
    "dms_replication_task_id": "identifier of the session's DMS replication task (CloudWatch dimension)",
    "ecs_cluster_arn": "ECS cluster running the dbt container",
    "dbt_task_definition_arn": "task definition of the dbt image",
    "dbt_container_name": "container name inside that task definition",
    "private_subnet_a": "first private subnet for ECS tasks",
    "private_subnet_b": "second private subnet for ECS tasks",
    "ecs_security_group_id": "security group of the ECS tasks",
    "glue_database_gold": "Glue catalog database of the Gold layer (quality gates, serving loads)",
    "glue_database_silver": "Glue catalog database of the Silver layer (quality gates)",
    "athena_workgroup": "Athena workgroup quality gates run in",
}


def placeholder_values(foundation: dict[str, Any]) -> dict[str, str]:
    """Each placeholder's value from the foundation's published outputs: what the foundation gives the
    step_functions module, and what the Airflow aws target reads at run time, so the two can be compared."""
    ecs = foundation["ecs"]
    return {
        "name_prefix": foundation["name_prefix"],
        "session_parameter": foundation["session_parameter"],
        "default_glue_workers": str(foundation["default_glue_workers"]),
        "dms_replication_instance_id": foundation["dms"]["replication_instance_id"],
        "dms_replication_task_id": foundation["dms"]["replication_task_id"],
        "ecs_cluster_arn": ecs["cluster_arn"],
        "dbt_task_definition_arn": ecs["task_definition_arn"],
        "dbt_container_name": ecs["container_name"],
        "private_subnet_a": ecs["subnet_ids"][0],
        "private_subnet_b": ecs["subnet_ids"][1],
        "ecs_security_group_id": ecs["security_group_id"],
        "glue_database_gold": foundation["glue_database_names"]["gold"],
        "glue_database_silver": foundation["glue_database_names"]["silver"],
        "athena_workgroup": foundation["athena_workgroup"],
    }


def filled(definition: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """The definition with its placeholders filled, as templatefile() does."""
    text = dumps(definition)
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    return json.loads(text)


def ph(name: str) -> str:
    if name not in PLACEHOLDERS:
        raise KeyError(f"undeclared ASL placeholder {name!r}")
    return "${" + name + "}"


def retry(spec: Spec, task: Task) -> list[dict]:
    return [{
        "ErrorEquals": ["States.ALL"],
        "IntervalSeconds": spec.pipeline.retry_delay_seconds,
        "MaxAttempts": task.retries,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 600,
        "JitterStrategy": "FULL",
    }]


@dataclass
class Rendering:
    """A rendered machine, and the orderings it adds to the task list's (empty for series-parallel lists)."""

    definition: dict[str, Any]
    added: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Scope:
    """Where states are being written: the machine's top level, or one branch of a Parallel state."""

    states: dict[str, Any]
    failed: str
    names: list[int]  # a counter shared by the whole machine: state names are unique across it


def render(spec: Spec) -> Rendering:
    layout = shape.decompose([t.id for t in spec.tasks], spec.edges())
    states: dict[str, Any] = {}
    scope = _Scope(states, FAILED, [0])
    first = _block(spec, layout.block, SUCCEEDED, scope)
    needs_session = any(KINDS[t.kind].name in ("cdc_ingest", "glue_job", "serving_load") for t in spec.tasks)
    start = _session_states(states, first) if needs_session else first
    states.update(_input_check(start))
    states[FAILED] = {"Type": "Fail", "Error": "EDP.PipelineFailed", "Cause": "A pipeline task failed; see $.error."}
    states[SUCCEEDED] = {"Type": "Succeed"}
    comment = f"{spec.pipeline.id}: {spec.pipeline.description} Rendered from {spec.path.name} by `edp sfn render`."
    if layout.added:
        comment += " Added orderings (not in the task list): " + ", ".join(f"{a} before {b}" for a, b in layout.added)
    definition = {"Comment": comment, "StartAt": CHECK_INPUTS, "TimeoutSeconds": spec.pipeline.timeout_minutes * 60,
                  "States": {CHECK_INPUTS: states.pop(CHECK_INPUTS), **states}}
    return Rendering(definition, layout.added)


def render_asl(spec: Spec) -> dict[str, Any]:
    """The state machine for the task list (a warning names any ordering it had to add)."""
    rendering = render(spec)
    if rendering.added:
        warnings.warn(added_message(spec, rendering.added), stacklevel=2)
    return rendering.definition


def added_message(spec: Spec, added: list[tuple[str, str]]) -> str:
    pairs = ", ".join(f"{a} before {b}" for a, b in added)
    return (f"{spec.path}: Step Functions cannot run this task graph exactly (it is not series-parallel); the "
            f"definition adds the fewest orderings it can: {pairs}")


def _block(spec: Spec, block: shape.Block, nxt: str, scope: _Scope) -> str:
    """Write the block's states into the scope; returns its entry state."""
    if isinstance(block, shape.Leaf):
        return _task_states(spec, spec.task(block.task), nxt, scope)
    if isinstance(block, shape.Series):
        entry = nxt
        for part in reversed(block.parts):
            entry = _block(spec, part, entry, scope)
        return entry
    scope.names[0] += 1
    name = f"parallel_{scope.names[0]}"
    branches = []
    for number, branch in enumerate(block.branches, start=1):
        end, failed = f"{name}_branch_{number}_done", f"{name}_branch_{number}_failed"
        inner = _Scope({}, failed, scope.names)
        start = _block(spec, branch, end, inner)
        inner.states[end] = {"Type": "Pass", "End": True}
        inner.states[failed] = {"Type": "Fail", "Error": "EDP.BranchFailed", "Cause": "A task of the branch failed."}
        branches.append({"StartAt": start, "States": inner.states})
    scope.states[name] = {"Type": "Parallel", "Comment": "Tasks with no dependency between them, at once.",
                          "Branches": branches, "ResultPath": None,
                          "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": scope.failed}],
                          "Next": nxt}
    return name


def _task_states(spec: Spec, task: Task, nxt: str, scope: _Scope) -> str:
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": scope.failed}]
    ctx = AslContext(spec=spec, next=nxt, failed=scope.failed, placeholder=ph,
                     retry=lambda t: retry(spec, t), catch=lambda: [dict(c) for c in catch], poll_seconds=POLL_SECONDS)
    states = KINDS[task.kind].asl(task, ctx)
    clash = sorted(set(states) & set(scope.states))
    if clash or task.id not in states:
        raise ValueError(f"kind {task.kind!r} rendered {task.id!r} without its entry state, or with names in use: {clash}")
    scope.states.update(states)
    return task.id


def _session_states(states: dict[str, Any], nxt: str) -> str:
    """Read the live session's outputs once; without a session the machine runs with the default scale (and a
    task that needs the session fails, saying so)."""
    states[READ_SESSION] = {
        "Type": "Task", "Comment": "The session's outputs, published by the session stack.",
        "Resource": "arn:aws:states:::aws-sdk:ssm:getParameter", "Parameters": {"Name": ph("session_parameter")},
        "ResultSelector": {"outputs.$": "States.StringToJson($.Parameter.Value)"}, "ResultPath": "$.session",
        "Retry": [{"ErrorEquals": ["Ssm.SsmException", "States.TaskFailed"], "IntervalSeconds": 5,
                   "MaxAttempts": 2, "BackoffRate": 2.0, "JitterStrategy": "FULL"}],
        "Catch": [{"ErrorEquals": ["Ssm.ParameterNotFoundException"], "ResultPath": None, "Next": NO_SESSION}],
        "Next": nxt}
    states[NO_SESSION] = {
        "Type": "Pass", "Comment": "No session is on: the foundation's default scale.",
        "Parameters": {"outputs": {"scale": {"glue_workers.$": f"States.StringToJson('{ph('default_glue_workers')}')"}}},
        "ResultPath": "$.session", "Next": nxt}
    return READ_SESSION


def _input_check(nxt: str) -> dict[str, Any]:
    return {CHECK_INPUTS: {
        "Type": "Choice", "Comment": "Run inputs Step Functions cannot honour stop here, saying why.",
        "Choices": [{"And": [{"Variable": "$.refresh_source", "IsPresent": True},
                             {"Variable": "$.refresh_source", "BooleanEquals": True}],
                     "Next": f"{CHECK_INPUTS}:refresh_source"}],
        "Default": nxt},
        f"{CHECK_INPUTS}:refresh_source": {
            "Type": "Fail", "Error": "EDP.RefreshSourceNeedsAirflow",
            "Cause": "refresh_source runs the session's Terraform, which Airflow does: turn the ingestion session "
                     "on with the edp_session DAG and start the execution without refresh_source"}}


def default_input(spec: Spec) -> dict[str, Any]:
    """The execution input the nightly schedule sends: every table with its key, and the run inputs the DAG
    has as Params (refresh_source is Airflow's: see `_input_check`)."""
    return {"tables": [{"table": s.name, "primary_key": ",".join(s.primary_key)} for s in spec.sources],
            "full_refresh": False, "refresh_source": False}


def resources(spec: Spec) -> dict[str, Any]:
    """What Terraform creates from the task list: each task's own resources, the schedule and the services the
    state machine calls (its role's permissions)."""
    out: dict[str, Any] = {"pipeline": spec.pipeline.id, "schedule": schedule_expression(spec.pipeline.schedule),
                           "glue_jobs": {}, "crawlers": {}, "dms": {}, "kinds": sorted({t.kind for t in spec.tasks})}
    for task in spec.tasks:
        for key, value in (KINDS[task.kind].resources(task, spec) or {}).items():
            out.setdefault(key, {}).update(value)
    return out


def dumps(definition: dict[str, Any]) -> str:
    return json.dumps(definition, indent=2, sort_keys=False) + "\n"


def rendered_files(spec: Spec) -> dict[str, str]:
    return {DEFINITION_FILE: dumps(render_asl(spec)), INPUT_FILE: dumps(default_input(spec)),
            RESOURCES_FILE: dumps(resources(spec))}


def write_asl(spec: Spec, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = rendered_files(spec)
    for name, text in files.items():
        (folder / name).write_text(text)
    return [folder / n for n in files]


def stale_files(spec: Spec, folder: Path) -> list[str]:
    """Committed files that differ from a fresh render (empty when up to date)."""
    return [n for n, text in rendered_files(spec).items()
            if not (folder / n).exists() or (folder / n).read_text() != text]


def task_of(state_name: str) -> str | None:
    """The task a state belongs to, or None for the renderer's own states (checks, session, forks, ends)."""
    task = state_name.split(STEP_SEPARATOR, 1)[0]
    if state_name in (FAILED, SUCCEEDED) or task in (CHECK_INPUTS, READ_SESSION) or task.startswith("parallel_"):
        return None
    return task


def task_order(definition: dict[str, Any]) -> tuple[set[str], set[tuple[str, str]]]:
    """The tasks of a definition and every (a, b) where a finishes before b starts, whichever way it runs."""
    return _scope_order(definition["States"], definition["StartAt"])


def _scope_order(states: dict[str, Any], start: str) -> tuple[set[str], set[tuple[str, str]]]:
    """Orderings in one States object, among the states a run can reach: a state reachable from another runs
    after it; a Parallel state's branches run after what precedes it and before what follows it, and not in
    order among themselves."""
    contents: dict[str, set[str]] = {}
    pairs: set[tuple[str, str]] = set()
    successors = {name: {t for t in _targets(state) if states.get(t, {}).get("Type") not in ("Fail", None)}
                  for name, state in states.items()}
    live = {start} | _reachable(start, successors)
    for name, state in states.items():
        if name not in live:
            continue
        if state.get("Type") == "Parallel":
            inner_tasks: set[str] = set()
            for branch in state["Branches"]:
                tasks, inner = _scope_order(branch["States"], branch["StartAt"])
                inner_tasks |= tasks
                pairs |= inner
            contents[name] = inner_tasks
        else:
            task = task_of(name)
            contents[name] = {task} if task else set()
    for name in contents:
        for later in _reachable(name, successors) & set(contents):
            pairs |= {(a, b) for a in contents[name] for b in contents[later] if a != b}
    return set().union(*contents.values()), pairs


def _targets(state: dict[str, Any]) -> list[str]:
    out = [state.get("Next"), state.get("Default")]
    out += [c.get("Next") for c in state.get("Choices", [])]
    out += [c.get("Next") for c in state.get("Catch", [])]
    return [t for t in out if t]


def _reachable(start: str, successors: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(successors.get(start, ()))
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(successors.get(node, ()))
    return seen
