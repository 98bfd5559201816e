"""What a task of the local target does when it runs, and the run's params and their checks for every target.

On the local target each task calls `execute()` here, which turns Airflow's context (params, run id, map
index) into a `RunContext` and calls the kind's local engine (`Kind.local_executor`, in edp_dev). On the
aws target the tasks are the provider's operators themselves; only the session setup/teardown around a
task (`session_step`) comes through here, to the target's module of session steps.
"""

from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from edp.kinds import KINDS
from edp.settings import ConfigError, resolve_target
from edp.spec import Spec, Task, load_spec

log = logging.getLogger(__name__)

# target -> the module with its session steps (<mode>_up, <mode>_down)
SESSION_STEPS = {"local": "edp_dev.local.executors", "aws": "edp.aws.executors"}


@dataclass(frozen=True)
class RunContext:
    spec: Spec
    run_id: str
    target: str
    tables: tuple[str, ...]
    full_refresh: bool
    refresh_source: bool = False

    @property
    def run_folder(self) -> str:
        return run_folder(self.run_id)


def run_folder(run_id: str) -> str:
    """A run id (Airflow's, or a Step Functions execution name) made safe for a folder or S3 prefix name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("_")


def run_params(spec: Spec) -> dict[str, dict]:
    """The run's params, each a JSON schema with its default: the one definition the trigger form shows
    (`dag_factory.params_schema`) and whose keys `run_context` accepts, so the two cannot drift apart. The
    target is not among them: it is the deployment's (EDP_TARGET), fixed when the DAG is rendered."""
    return {
        "tables": dict(
            default=list(spec.table_names), type="array", title="Tables", minItems=1, uniqueItems=True,
            items={"type": "string", "enum": list(spec.table_names)},
            description="Source tables to merge into Silver this run (CDC always captures every table).",
        ),
        "full_refresh": dict(
            default=False, type="boolean", title="Full refresh",
            description="Take a fresh full load of the source, rebuild Silver and rebuild dbt incremental models.",
        ),
        "refresh_source": dict(
            default=False, type="boolean", title="Refresh the source",
            description="Turn the ingestion session on for this run and off after it (also when a task fails); "
                        "off drops the replication slot, so the next session starts with a full load.",
        ),
    }


def run_context(spec: Spec, run_id: str, params: dict[str, Any], target: str | None = None) -> RunContext:
    """Validate a run's params against the task list (Airflow validates the form; the CLI and API may not, and
    Airflow passes a run's conf keys through to params unchecked, so a typo would otherwise be ignored)."""
    known = tuple(run_params(spec))
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ConfigError(f"unknown param(s) {', '.join(map(str, unknown))}; known: {', '.join(known)}")
    return RunContext(spec=spec, run_id=run_id, target=resolve_target(target), tables=_selected_tables(spec, params),
                      full_refresh=_flag(params, "full_refresh"), refresh_source=_flag(params, "refresh_source"))


def _selected_tables(spec: Spec, params: dict[str, Any]) -> tuple[str, ...]:
    """The run's tables in task list order; only a missing param means all (an empty list is a mistake, not
    a wish for everything: the form refuses it too)."""
    if "tables" not in params:
        return spec.table_names
    tables = params["tables"]
    if not isinstance(tables, list) or not all(isinstance(t, str) for t in tables):
        raise ConfigError(f"param tables must be a list of table names, got {tables!r}")
    if not tables:
        raise ConfigError("param tables is empty; name at least one table (leave it out to run all: "
                          f"{', '.join(spec.table_names)})")
    unknown = [t for t in tables if t not in spec.table_names]
    if unknown:
        raise ConfigError(f"param tables names unknown table(s) {', '.join(unknown)}; known: {', '.join(spec.table_names)}")
    return tuple(t for t in spec.table_names if t in tables)


def _flag(params: dict[str, Any], name: str) -> bool:
    """A true/false param, off when absent; a string like "yes" is refused rather than read as true."""
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise ConfigError(f"param {name} must be true or false, got {value!r}")
    return value


@cache
def _function(reference: str):
    """`module:function`, imported when first called (the local engines live in edp_dev)."""
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


@lru_cache(maxsize=8)
def cached_spec(path: str) -> Spec:
    return load_spec(path)


# target -> where a run's failure is recorded for the run history (the aws target records none yet)
FAILURE_RECORDERS = {"local": "edp_dev.local.publish:record_failure"}


def execute(spec_path: str, task_id: str, run_id: str, params: dict[str, Any], upstream_metrics: dict | None = None,
            table: str | None = None, target: str = "local", run_started: Any = None) -> dict:
    """Run one task of the task list on the local target for one run (and one table, for mapped tasks);
    returns its metrics. `run_started` (the run's start) is for the artifacts task's run record."""
    spec = cached_spec(spec_path)
    task: Task = spec.task(task_id)
    run = run_context(spec, run_id, params, target)
    if table is not None and table not in run.tables:
        raise ConfigError(f"task {task_id!r}: table {table!r} is not selected for this run")
    log.info("edp: %s (%s) on target %s%s", task.id, task.kind, run.target, f" for table {table}" if table else "")
    fn = _function(KINDS[task.kind].local_executor)
    kwargs: dict[str, Any] = {}
    if table is not None:
        kwargs["table"] = table
    if task.kind == "artifacts":
        kwargs["upstream_metrics"] = upstream_metrics or {}
        kwargs["started_at"] = run_started
    try:
        metrics = fn(task, run, **kwargs)
    except Exception as exc:  # named in the log in one line, which `edp run` shows (the traceback follows)
        log.error("edp: %s failed: %s: %s", task.id, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        raise
    log.info("edp: %s finished: %s", task.id, metrics)
    return metrics


def record_failure(spec_path: str, task_id: str, run_id: str, params: dict[str, Any], error: BaseException,
                   target: str = "local", run_started: Any = None) -> None:
    """Put a task's final failure into the run history. Never raises: the task's own failure stands."""
    recorder = FAILURE_RECORDERS.get(target)
    if recorder is None:
        return
    try:
        spec = cached_spec(spec_path)
        _function(recorder)(run_context(spec, run_id, params, target), spec.task(task_id), error, run_started)
    except Exception as exc:  # noqa: BLE001 - a record that cannot be written must not mask the failure
        log.warning("edp: the failure of %s was not recorded in the run history: %s", task_id, exc)


def session_step(spec_path: str, mode: str, step: str, run_id: str, params: dict[str, Any]) -> dict:
    """Turn a session mode on (`up`) or off (`down`) around the tasks that need it, when the run refreshes
    the source; otherwise the mode is managed elsewhere (edp_session, or always on) and this does nothing."""
    run = run_context(cached_spec(spec_path), run_id, params)
    if not run.refresh_source:
        return {"skipped": "this run does not refresh the source"}
    log.info("edp: session mode %s %s on target %s", mode, step, run.target)
    return _function(f"{SESSION_STEPS[run.target]}:{mode}_{step}")(run)
