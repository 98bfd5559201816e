"""A run's cost estimate: what the run used of each priced service, times the price list (`edp.pricing`).

The inputs are kept with the figures, so an operator can check them against the bill: Glue DPU-seconds per
job run (on aws as GetJobRun reports them: ExecutionTime × the run's DPUs, or its DPUSeconds), crawler runs,
Athena bytes scanned per query (dbt's adapter responses), ECS task seconds (the dbt steps) and the session
hours of DMS/RDS (the run's ingestion) and Redshift (its serving load). The same
computation runs on the local target's figures and is labelled an estimate of what the run would cost on AWS.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from edp import pricing

if TYPE_CHECKING:
    from edp.spec import Spec

Use = tuple[float, float]  # (amount, multiplier): (job seconds, DPUs), (bytes, 1), (hours, 1)
REDSHIFT_BASE_RPUS = 8     # the serving module's base capacity (dev's value)
LOCAL_BASIS = "estimate of the AWS cost, computed from this machine's figures"
AWS_BASIS = "estimate from the run's AWS figures"


class UnknownUsage(ValueError):
    """A usage line the price list has no price for."""


def estimate(uses: dict[str, list[Use]], basis: str) -> dict[str, Any]:
    """Each line billed as the price list says (its per-use minimum included) and the total, with the inputs."""
    unknown = sorted(set(uses) - set(pricing.PRICES))
    if unknown:
        raise UnknownUsage(f"no price for {', '.join(unknown)}; priced: {', '.join(pricing.PRICES)}")
    lines: dict[str, dict[str, Any]] = {}
    for name, items in uses.items():
        price = pricing.PRICES[name]
        billed = float(sum(max(amount, price.minimum) * multiplier for amount, multiplier in items))
        lines[name] = {"uses": len(items), "measured": round(sum(a * m for a, m in items), 3),
                       "billed": round(billed, 3), "unit": price.unit, "usd": round(billed * price.usd, 6)}
    return {"basis": basis, "region": pricing.REGION, "prices_as_of": pricing.AS_OF, "currency": pricing.CURRENCY,
            "inputs": {name: [list(u) for u in items] for name, items in uses.items()}, "lines": lines,
            "total_usd": round(sum(line["usd"] for line in lines.values()), 4)}


def _items(metrics: Any) -> list[dict]:
    """A task's metrics as a list (a mapped task's are one per table); tasks that did not run give none."""
    items = metrics if isinstance(metrics, list) else [metrics]
    return [m for m in items if isinstance(m, dict) and "seconds" in m and "skipped" not in m]


# task kind -> the priced line its seconds go to, and the multiplier of one run (a Glue job's workers)
_BY_KIND: dict[str, tuple[tuple[str, Any], ...]] = {
    # a job run's own DPUs where Glue reported them (aws: GetJobRun, edp.aws.glue_usage), else the list's workers
    "glue_job": (("glue_job_seconds", lambda task, m: (float(m["seconds"]),
                                                       float(m.get("dpus") or task.args.get("workers", 2)))),),
    "glue_crawler": (("crawler_seconds", lambda task, m: (float(m["seconds"]), 1.0)),),
    "dbt": (("ecs_task_seconds", lambda task, m: (float(m["seconds"]), 1.0)),),
    "quality_gate": (("athena_bytes_scanned", lambda task, m: (float(m.get("bytes_scanned", 0)), 1.0)),),
    "cdc_ingest": (("dms_hours", lambda task, m: (float(m["seconds"]) / 3600, 1.0)),
                   ("rds_hours", lambda task, m: (float(m["seconds"]) / 3600, 1.0))),
    "serving_load": (("redshift_seconds", lambda task, m: (float(m["seconds"]), float(REDSHIFT_BASE_RPUS))),),
}


def usage(spec: Spec | None, task_metrics: dict[str, Any], dbt_results: Iterable[dict] = ()) -> dict[str, list[Use]]:
    """What a run used, from its tasks' metrics (seconds per task run) and dbt's run results (bytes per query):
    the task list says which kind each task is and how many Glue workers a job runs with."""
    uses: dict[str, list[Use]] = {name: [] for name in pricing.PRICES}
    for task in spec.tasks if spec else ():
        for m in _items(task_metrics.get(task.id)):
            for line, use in _BY_KIND.get(task.kind, ()):
                uses[line].append(use(task, m))
    for results in dbt_results:
        for r in results.get("results", []):
            if r.get("unique_id", "").split(".")[0] in ("model", "test", "seed", "snapshot"):
                scanned = (r.get("adapter_response") or {}).get("data_scanned_in_bytes") or 0
                uses["athena_bytes_scanned"].append((float(scanned), 1.0))
    return {name: items for name, items in uses.items() if items}
