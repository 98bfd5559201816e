"""A run's metrics.json: one shape on both targets, which the run report and the run history read.

Publishing builds it from what the run left (its tasks' metrics, dbt's run results and source freshness,
rows per layer) and the run's start; a run that fails before publishing is recorded too (`failed`), so the
history shows it, with the failing task and, when dbt's tests were what failed, their names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from edp import cost, dbt_results, report

if TYPE_CHECKING:
    from edp.spec import Spec


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds") if isinstance(value, datetime) else str(value)


def seconds_between(started: str | None, finished: str) -> float | None:
    if not started:
        return None
    return round((datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds(), 1)


def build(spec: Spec | None, run_id: str, target: str, *, started_at: Any, tables: tuple[str, ...] | list[str],
          full_refresh: bool, layers: dict[str, dict[str, int]], task_metrics: dict[str, Any],
          run_results: dict | None, sources: dict | None, status: str = "success",
          durations: dict[str, float] | None = None) -> dict[str, Any]:
    """The metrics of a run at its end (or at its failure)."""
    finished = now()
    started = _iso(started_at)
    fresh = dbt_results.freshness(sources)
    basis = cost.LOCAL_BASIS if target == "local" else cost.AWS_BASIS
    return {"run_id": run_id, "target": target, "status": status, "started_at": started, "finished_at": finished,
            "duration_seconds": seconds_between(started, finished), "tables": list(tables),
            "full_refresh": full_refresh, "layers": layers,
            "durations": durations if durations is not None else report.durations(task_metrics),
            "tests": dbt_results.tests(run_results), "freshness": fresh,
            "silver_lag_seconds": dbt_results.worst_lag(fresh),
            "cost": cost.estimate(cost.usage(spec, task_metrics, [run_results] if run_results else []), basis),
            "tasks": task_metrics}


def failed(previous: dict[str, Any] | None, spec: Spec | None, run_id: str, target: str, *, started_at: Any,
           failed_task: str, error: str, run_results: dict | None = None,
           tables: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
    """A failed run's record: what was published before (if anything) with the failure on top, else a record
    of its own; the failing task and the first line of its error, and dbt's tests when they were read."""
    record = dict(previous) if previous else build(spec, run_id, target, started_at=started_at, tables=tables,
                                                   full_refresh=False, layers={}, task_metrics={},
                                                   run_results=run_results, sources=None, status="failed")
    record.update(status="failed", failed_task=failed_task, error=(error.splitlines() or [""])[0][:500])
    if run_results is not None:
        record["tests"] = dbt_results.tests(run_results)
    return record


def render_report(metrics: dict[str, Any], links: dict[str, str], details: dict) -> str:
    """The run report from a run's metrics."""
    return report.render(metrics["run_id"], metrics["target"], metrics.get("layers") or {},
                         metrics.get("durations") or {}, links, details, tests=metrics.get("tests"),
                         freshness=metrics.get("freshness"), cost=metrics.get("cost"),
                         status=str(metrics.get("status")))
