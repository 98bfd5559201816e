"""What a run's dbt files say, read the same way on every target: the data tests' outcome (the failing ones
named) from run_results.json, and each Silver source's freshness from `dbt source freshness`'s sources.json.
"""

from __future__ import annotations

from typing import Any

TEST_PREFIXES = ("test.", "unit_test.")
FAILED = ("fail", "error")


def node_name(unique_id: str) -> str:
    """`test.edp.not_null_orders_order_id.abc123` -> `not_null_orders_order_id`; a model's or source's last part."""
    parts = unique_id.split(".")
    if parts[0] == "test" and len(parts) >= 4:
        return parts[2]
    if parts[0] == "unit_test" and len(parts) >= 4:
        return ".".join(parts[2:])
    return parts[-1]


def tests(run_results: dict | None) -> dict[str, Any]:
    """Counts per status and the names of the tests that failed, errored or warned."""
    out: dict[str, Any] = {"total": 0, "passed": 0, "failed": [], "warned": []}
    for r in (run_results or {}).get("results", []):
        if not r.get("unique_id", "").startswith(TEST_PREFIXES):
            continue
        out["total"] += 1
        status = r.get("status")
        if status == "pass":
            out["passed"] += 1
        elif status in FAILED:
            out["failed"].append(node_name(r["unique_id"]))
        elif status == "warn":
            out["warned"].append(node_name(r["unique_id"]))
    out["failed"].sort()
    out["warned"].sort()
    return out


def freshness(sources: dict | None) -> dict[str, dict[str, Any]]:
    """Per source table: how old its newest row was when dbt looked (seconds), and dbt's verdict."""
    out = {}
    for r in (sources or {}).get("results", []):
        if "max_loaded_at_time_ago_in_s" not in r:
            continue
        out[node_name(r["unique_id"])] = {"lag_seconds": round(float(r["max_loaded_at_time_ago_in_s"]), 1),
                                          "max_loaded_at": r.get("max_loaded_at"), "status": r.get("status")}
    return out


def worst_lag(fresh: dict[str, dict[str, Any]]) -> float | None:
    """The stalest table's lag: how far behind the source Silver is at least."""
    return max((f["lag_seconds"] for f in fresh.values()), default=None)
