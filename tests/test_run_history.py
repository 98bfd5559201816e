"""The run history, the run report's new sections and the cost estimate, on hand-made run records (the e2e
test checks them on a real run's)."""

from __future__ import annotations

import json
import re

import pytest

from edp import cost, dbt_results, history, pricing, report, run_record

RESULTS = {"results": [
    {"unique_id": "model.edp.daily_revenue", "status": "success", "adapter_response": {"data_scanned_in_bytes": 3e7}},
    {"unique_id": "test.edp.not_null_orders_order_id.ab12", "status": "pass", "adapter_response": {}},
    {"unique_id": "test.edp.unique_customers_customer_id.cd34", "status": "fail", "adapter_response": {}},
    {"unique_id": "unit_test.edp.daily_revenue.sums_cents", "status": "pass"},
]}
SOURCES = {"results": [
    {"unique_id": "source.edp.silver.orders", "status": "pass", "max_loaded_at_time_ago_in_s": 120.4,
     "max_loaded_at": "2026-12-01T02:00:00+00:00"},
    {"unique_id": "source.edp.silver.customers", "status": "warn", "max_loaded_at_time_ago_in_s": 100000.0},
]}


def test_dbt_tests_name_the_failing_ones_and_freshness_keeps_the_worst_lag():
    tests = dbt_results.tests(RESULTS)
    assert tests == {"total": 3, "passed": 2, "failed": ["unique_customers_customer_id"], "warned": []}
    fresh = dbt_results.freshness(SOURCES)
    assert fresh["orders"]["lag_seconds"] == 120.4 and fresh["customers"]["status"] == "warn"
    assert dbt_results.worst_lag(fresh) == 100000.0 and dbt_results.worst_lag({}) is None


def test_cost_bills_each_use_at_least_its_minimum_and_keeps_its_inputs(spec):
    metrics = {"bronze_to_silver": [{"table": "orders", "seconds": 30.0}, {"table": "customers", "seconds": 90.0}],
               "crawl_silver": {"seconds": 1.0}, "dbt_build": {"seconds": 20.0}, "cdc_ingest": {"seconds": 1800.0},
               "serving_load": {"skipped": "serving is off", "seconds": 0.1}, "quality_gate": {"seconds": 1.0}}
    uses = cost.usage(spec, metrics, [RESULTS])
    workers = spec.task("bronze_to_silver").args["workers"]
    assert uses["glue_job_seconds"] == [(30.0, workers), (90.0, workers)]
    assert "redshift_seconds" not in uses  # a skipped load costs nothing
    est = cost.estimate(uses, cost.LOCAL_BASIS)
    glue = est["lines"]["glue_job_seconds"]
    assert glue["billed"] == (60 + 90) * workers  # the 30 s run is billed its first minute
    assert glue["usd"] == pytest.approx(glue["billed"] * pricing.PRICES["glue_job_seconds"].usd, abs=1e-6)
    athena = est["lines"]["athena_bytes_scanned"]  # 3 dbt nodes and the gate; the model scanned 30 MB
    assert athena["uses"] == 4 and athena["billed"] == 3e7 + 3 * pricing.PRICES["athena_bytes_scanned"].minimum
    assert est["lines"]["dms_hours"]["billed"] == 0.5 and est["region"] == pricing.REGION
    assert est["prices_as_of"] == pricing.AS_OF and est["inputs"]["glue_job_seconds"] == [[30.0, workers], [90.0, workers]]
    assert est["total_usd"] == pytest.approx(sum(line["usd"] for line in est["lines"].values()), abs=1e-4)
    with pytest.raises(cost.UnknownUsage, match="no price for gpu_hours"):
        cost.estimate({"gpu_hours": [(1.0, 1.0)]}, cost.LOCAL_BASIS)


def _record(spec, run_id, started, status="success", results=RESULTS, silver=100):
    m = run_record.build(spec, run_id, "local", started_at=started, tables=list(spec.table_names), full_refresh=False,
                         layers={"bronze": {"orders": silver + 5}, "silver": {"orders": silver}, "gold": {"daily": 3}},
                         task_metrics={"dbt_build": {"seconds": 12.0}}, run_results=results, sources=SOURCES)
    m["status"] = status
    return m


def test_history_lists_runs_newest_first_with_status_tests_lag_cost_and_links(spec):
    older = _record(spec, "scheduled__2026-11-29", "2026-11-29T02:00:00+00:00", silver=90)
    failed = run_record.failed(None, spec, "manual__2026-11-30", "local", started_at="2026-11-30T02:00:00+00:00",
                               failed_task="dbt_build", error="DbtTestsFailed: data test(s) failed\nmore", run_results=RESULTS)
    newer = _record(spec, "scheduled__2026-12-01", "2026-12-01T02:00:00+00:00", results={"results": []})
    page = history.render([older, newer, failed], lambda m: f"runs/{m['run_id']}/report.html")
    rows = re.findall(r'<tr class="run (\w+)">(.*?)</tr>', page)
    assert [status for status, _ in rows] == ["success", "failed", "success"]
    assert 'href="runs/scheduled__2026-12-01/report.html"' in rows[0][1]
    assert "dbt_build" in rows[1][1] and "unique_customers_customer_id" in rows[1][1]
    assert "2/3 passed" in rows[2][1] and "27.8 h" in rows[2][1] and "$" in rows[2][1]
    assert "bronze 95 · silver 90 · gold 3" in rows[2][1]
    assert failed["error"] == "DbtTestsFailed: data test(s) failed"  # the first line only
    assert page.count("<polyline") == 2 and "Trend of the last 3 runs" in page
    assert "estimate of the AWS cost" in page


def test_history_refuses_what_is_not_a_run_record():
    with pytest.raises(history.BadMetrics, match="runs/x/metrics.json: not JSON"):
        history.load("{", "runs/x/metrics.json")
    with pytest.raises(history.BadMetrics, match="no run_id"):
        history.load("[]", "y")


def test_the_report_shows_tests_freshness_and_cost(spec):
    m = _record(spec, "r1", "2026-12-01T02:00:00+00:00")
    html = run_record.render_report(m, {"dbt docs": "docs/index.html"}, {})
    assert "2 of 3 passed" in html
    assert "<code>unique_customers_customer_id</code>" in html
    assert 'id="freshness"' in html and "customers" in html and "warn" in html
    assert f"${m['cost']['total_usd']:.4f}" in html and pricing.REGION in html
    assert report.render("r", "local", {}, {}, {}, {}).count("No ") == 3  # nothing given: said so


def test_local_history_leaves_out_an_unreadable_record_and_keeps_it(tmp_path, spec, caplog):
    from edp_dev.local.publish import write_history

    good = tmp_path / "runs" / "a" / "metrics.json"
    bad = tmp_path / "runs" / "b" / "metrics.json"
    good.parent.mkdir(parents=True)
    bad.parent.mkdir(parents=True)
    good.write_text(json.dumps(_record(spec, "a", "2026-12-01T02:00:00+00:00")))
    bad.write_text("not json")
    page = write_history(tmp_path).read_text()
    assert 'href="runs/a/report.html"' in page and page.count('<tr class="run') == 1
    assert bad.read_text() == "not json" and "runs/b/metrics.json" in caplog.text


def test_a_failed_dbt_step_is_recorded_with_its_failing_tests_and_kept_after(tmp_path, monkeypatch, spec):
    """The local target's failure record: the failing tests named from the step's own results; a later
    success of the same run (a retry) replaces it, and another run's record stays."""
    from edp.runtime import RunContext
    from edp_dev.local.dbt_cli import step_results_path
    from edp_dev.local.publish import record_failure

    monkeypatch.setenv("EDP_HOME", str(tmp_path))
    kept = step_results_path(tmp_path / "dbt" / "target", "dbt_build")
    kept.parent.mkdir(parents=True)
    kept.write_text(json.dumps(RESULTS))
    run = RunContext(spec=spec, run_id="manual__1", target="local", tables=("orders",), full_refresh=False)
    path = record_failure(run, spec.task("dbt_build"), RuntimeError("data test(s) failed: unique_customers"),
                          "2026-12-01T02:00:00+00:00")
    record = json.loads(path.read_text())
    assert record["status"] == "failed" and record["failed_task"] == "dbt_build" and record["tables"] == ["orders"]
    assert record["tests"]["failed"] == ["unique_customers_customer_id"]
    page = (tmp_path / "artifacts" / "index.html").read_text()
    assert '<tr class="run failed">' in page and "unique_customers_customer_id" in page
    assert 'href="manual__1/report.html"' in (tmp_path / "artifacts" / "runs" / "index.html").read_text()
