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
    metrics = json.loads((run_folder / "metrics.json").read_text())
    assert set(metrics["layers"]) == {"bronze", "silver", "gold"}
    assert metrics["layers"]["gold"]["daily_revenue"] > 0
    assert any(k.startswith("bronze_to_silver[") for k in metrics["durations"])
    report = (run_folder / "report.html").read_text()
    assert "<svg" in report and "Rows per layer" in report and "Task duration" in report
