"""A task list of another shape runs end to end on the local target through Airflow: after dbt, the quality
gate and the serving load run side by side, and the artifacts wait for both (tests/fixtures/pipelines/
fan_out_fan_in.yaml). Silver must equal PostgreSQL, Gold the SQL aggregates, and the serving schema Gold."""

from __future__ import annotations

import pytest

from edp.settings import REPO_ROOT
from edp.spec import load_spec
from edp_dev import shop
from edp_dev.airflow_run import run_dag
from edp_dev.local.postgres import EmbeddedPostgres
from tests.conftest import isolated_home, source_connection
from tests.lake_checks import assert_gold_matches, assert_silver_matches, pg_rows

pytestmark = pytest.mark.system

FAN_OUT = REPO_ROOT / "tests" / "fixtures" / "pipelines" / "fan_out_fan_in.yaml"


def test_a_fan_out_and_fan_in_list_runs_through_airflow():
    spec = load_spec(FAN_OUT)
    with isolated_home("fan-out") as paths:
        conn = source_connection(EmbeddedPostgres(paths.pg).start())
        try:
            shop.seed(conn, shop.SeedSize(customers=40, products=10, orders=90), rng_seed=8)
            log = paths.root / "logs" / "fan-out.log"
            code = run_dag(spec.pipeline.id, {}, log_file=log, task_list=FAN_OUT)
            assert code == 0, log.read_text()[-6000:]
            text = log.read_text()
            for task in spec.tasks:
                assert f"edp: {task.id} finished" in text or f"edp: {task.id} " in text, task.id
            for table in shop.TABLES:
                assert_silver_matches(conn, paths.silver, table, list(spec.source(table).primary_key))
            assert_gold_matches(paths.warehouse, conn)
            served = pg_rows(conn, "SELECT count(*) FROM serving.daily_revenue")[0][0]
            assert served > 0 and served == pg_rows(conn, "SELECT count(DISTINCT (ordered_at AT TIME ZONE 'UTC')::date) "
                                                          "FROM orders WHERE status NOT IN ('cancelled', 'returned')")[0][0]
            assert (paths.artifacts / "latest").exists()
        finally:
            conn.close()
