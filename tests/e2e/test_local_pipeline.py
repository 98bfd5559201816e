"""End to end on real engines: PostgreSQL -> CDC -> Spark -> catalog -> dbt/DuckDB -> artifacts, through Airflow.

Seed, run the DAG, apply a simulator batch, run it again; then Silver must equal
the source row for row and every Gold mart must equal the same aggregate
computed directly in SQL on PostgreSQL.
"""

from __future__ import annotations

import json

import pytest

from edp.spec import load_spec
from edp_dev import shop as source_db
from edp_dev.airflow_run import run_dag
from edp_dev.local.postgres import EmbeddedPostgres
from tests.conftest import isolated_home, source_connection
from tests.lake_checks import assert_gold_matches, assert_silver_matches

pytestmark = pytest.mark.system

@pytest.fixture(scope="module")
def pipeline_home():
    with isolated_home("e2e") as paths:
        yield paths


def test_seed_run_change_run_then_every_layer_matches_the_source(pipeline_home):
    paths = pipeline_home
    conn = source_connection(EmbeddedPostgres(paths.pg).start())
    try:
        source_db.seed(conn, source_db.SeedSize(customers=120, products=30, orders=360), rng_seed=21)
        log1 = paths.root / "logs" / "run1.log"
        assert run_dag("edp_pipeline", {}, log_file=log1) == 0, log1.read_text()[-5000:]
        batch = source_db.simulate(conn, inserts=40, updates=30, deletes=12, rng_seed=22)
        assert batch.inserts and batch.updates and batch.deletes
        log2 = paths.root / "logs" / "run2.log"
        assert run_dag("edp_pipeline", {}, log_file=log2) == 0, log2.read_text()[-5000:]
        assert "'mode': 'merge'" in log2.read_text(), "the second run must merge incrementally"

        spec = load_spec()
        for table in source_db.TABLES:
            assert_silver_matches(conn, paths.silver, table, list(spec.source(table).primary_key))

        assert_gold_matches(paths.warehouse, conn)
    finally:
        conn.close()

    latest = paths.artifacts.joinpath("latest").read_text().strip()
    from pathlib import Path

    run_folder = Path(latest)
    for name in ("manifest.json", "run_results.json", "catalog.json", "docs/index.html", "report.html", "metrics.json"):
        assert (run_folder / name).is_file(), name
    results = json.loads((run_folder / "run_results.json").read_text())
    assert {r["status"] for r in results["results"]} <= {"success", "pass"}
    assert any(r["unique_id"].startswith("unit_test.") for r in results["results"])
    # the second run built daily_revenue incrementally (only the dates its changes touched), and it still equals
    # PostgreSQL's figures above: deleted orders and items included, through the tombstones' last values
    daily = next(r for r in results["results"] if r["unique_id"] == "model.edp.daily_revenue")
    assert "touched_dates" in daily["compiled_code"], "the second run must build daily_revenue incrementally"
    metrics = json.loads((run_folder / "metrics.json").read_text())
    assert set(metrics["layers"]) == {"bronze", "silver", "gold"}
    assert metrics["layers"]["gold"]["daily_revenue"] > 0
    assert any(k.startswith("bronze_to_silver[") for k in metrics["durations"])
    report = (run_folder / "report.html").read_text()
    assert "<svg" in report and "Rows per layer" in report and "Task duration" in report
    assert_history_tests_freshness_and_cost(paths, run_folder, metrics, report)
    assert_lineage_chains_postgres_to_gold(paths, conn_tables=source_db.TABLES)


def assert_lineage_chains_postgres_to_gold(paths, conn_tables):
    """The OpenLineage provider's file transport left one JSON event per file under <state>/lineage/; the
    COMPLETE events of the pipeline's tasks chain: PostgreSQL tables -> Bronze -> Silver -> Gold, each
    task's outputs being the next task's inputs by namespace and name."""
    events = [json.loads(p.read_text()) for p in sorted(paths.root.joinpath("lineage").glob("event*"))]
    complete = [e for e in events if e.get("eventType") == "COMPLETE" and e["job"]["name"].startswith("edp_pipeline.")]
    assert complete, f"no COMPLETE events among {len(events)} in {paths.root / 'lineage'}"

    def io(task: str, side: str) -> set[tuple[str, str]]:
        return {(d["namespace"], d["name"]) for e in complete if e["job"]["name"] == f"edp_pipeline.{task}"
                for d in e.get(side, [])}

    sources = io("cdc_ingest", "inputs")
    assert {n.rsplit(".", 1)[-1] for _, n in sources} == set(conn_tables)
    assert all(ns.startswith("postgres://127.0.0.1:") for ns, _ in sources)
    bronze = io("cdc_ingest", "outputs")
    assert len(bronze) == len(conn_tables) and bronze == io("bronze_to_silver", "inputs")
    silver = io("bronze_to_silver", "outputs")  # each table and its tombstones
    assert len(silver) == 2 * len(conn_tables) and io("dbt_build", "inputs") <= silver
    assert {n.rsplit("/", 1)[-1].rsplit(".", 1)[-1] for _, n in io("dbt_build", "inputs")} >= set(conn_tables)
    gold = {n for _, n in io("dbt_build", "outputs")}
    assert "gold.daily_revenue" in gold and len(gold) == 3


def assert_history_tests_freshness_and_cost(paths, run_folder, metrics, report):
    """The run history lists both runs, newest first, linked to their reports; each run's metrics carry its dbt
    tests, Silver's freshness from dbt and the cost estimate from this machine's figures."""
    import re

    from edp import pricing

    assert metrics["status"] == "success" and metrics["duration_seconds"] > 0
    assert metrics["tests"]["total"] > 10 and metrics["tests"]["failed"] == []
    assert set(metrics["freshness"]) == set(source_db.TABLES) and 0 <= metrics["silver_lag_seconds"] < 3600
    cost = metrics["cost"]
    assert cost["basis"].startswith("estimate of the AWS cost") and cost["region"] == pricing.REGION
    assert len(cost["inputs"]["glue_job_seconds"]) == len(source_db.TABLES) and cost["total_usd"] > 0
    assert {"ecs_task_seconds", "crawler_seconds", "athena_bytes_scanned", "dms_hours", "rds_hours"} <= set(cost["lines"])
    assert 'id="tests"' in report and 'id="freshness"' in report and 'id="cost"' in report
    page = paths.artifacts.joinpath("index.html").read_text()
    links = re.findall(r'<a href="(runs/[^"]+/report.html)">', page)
    assert len(links) == 2 and links[0] == f"runs/{run_folder.name}/report.html"
    assert all(paths.artifacts.joinpath(link).is_file() for link in links)
    assert page.count('<tr class="run success">') == 2 and f"${cost['total_usd']:.4f}" in page
