"""What a pipeline task does when it runs: resolve the run's settings, then call the target's executor.

The DAG only declares tasks; each task calls `execute()` here, which is the
one place that turns Airflow's context (params, run id, map index) into a
`RunContext` and picks the executor module for the target.  Executors are
plain functions named after the task kinds, so adding a target means adding
one module with five functions.
"""

from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from types import ModuleType
from typing import Any

from edp.settings import ConfigError
from edp.spec import Spec, Task, load_spec

log = logging.getLogger(__name__)

# target -> module holding one function per task kind
EXECUTORS = {"local": "edp_dev.local.executors", "aws": "edp.aws.executors"}


def available_targets() -> tuple[str, ...]:
    return tuple(EXECUTORS)


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


def run_context(spec: Spec, run_id: str, params: dict[str, Any]) -> RunContext:
    """Validate a run's params against the task list (Airflow validates the form; the CLI and API may not)."""
    target = params.get("target", "local")
    if target not in EXECUTORS:
        raise ConfigError(f"param target={target!r} is not available; use one of {', '.join(EXECUTORS)}")
    tables = params.get("tables") or list(spec.table_names)
    if not isinstance(tables, list) or not all(isinstance(t, str) for t in tables):
        raise ConfigError(f"param tables must be a list of table names, got {tables!r}")
    unknown = [t for t in tables if t not in spec.table_names]
    if unknown:
        raise ConfigError(f"param tables names unknown table(s) {', '.join(unknown)}; known: {', '.join(spec.table_names)}")
    full_refresh = params.get("full_refresh", False)
    if not isinstance(full_refresh, bool):
        raise ConfigError(f"param full_refresh must be true or false, got {full_refresh!r}")
    refresh_source = params.get("refresh_source", False)
    if not isinstance(refresh_source, bool):
        raise ConfigError(f"param refresh_source must be true or false, got {refresh_source!r}")
    ordered = tuple(t for t in spec.table_names if t in tables)
    return RunContext(spec=spec, run_id=run_id, target=target, tables=ordered, full_refresh=full_refresh,
                      refresh_source=refresh_source)


@cache
def _executor(target: str) -> ModuleType:
    return importlib.import_module(EXECUTORS[target])


@lru_cache(maxsize=8)
def cached_spec(path: str) -> Spec:
    return load_spec(path)


def execute(spec_path: str, task_id: str, run_id: str, params: dict[str, Any], upstream_metrics: dict | None = None,
            table: str | None = None) -> dict:
    """Run one task of the task list for one run (and one table, for mapped tasks); returns its metrics."""
    spec = cached_spec(spec_path)
    task: Task = spec.task(task_id)
    run = run_context(spec, run_id, params)
    if table is not None and table not in run.tables:
        raise ConfigError(f"task {task_id!r}: table {table!r} is not selected for this run")
    log.info("edp: %s (%s) on target %s%s", task.id, task.kind, run.target, f" for table {table}" if table else "")
    fn = getattr(_executor(run.target), task.kind)
    kwargs: dict[str, Any] = {}
    if table is not None:
        kwargs["table"] = table
    if task.kind == "artifacts":
        kwargs["upstream_metrics"] = upstream_metrics or {}
    metrics = fn(task, run, **kwargs)
    log.info("edp: %s finished: %s", task.id, metrics)
    return metrics


def session_step(spec_path: str, mode: str, step: str, run_id: str, params: dict[str, Any]) -> dict:
    """Turn a session mode on (`up`) or off (`down`) around the tasks that need it, when the run refreshes
    the source; otherwise the mode is managed elsewhere (edp_session, or always on) and this does nothing."""
    run = run_context(cached_spec(spec_path), run_id, params)
    if not run.refresh_source:
        return {"skipped": "this run does not refresh the source"}
    log.info("edp: session mode %s %s on target %s", mode, step, run.target)
    return getattr(_executor(run.target), f"{mode}_{step}")(run)
