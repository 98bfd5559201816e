"""The pipeline's ingestion session: a run that refreshes the source wraps cdc_ingest in setup/teardown,
and the teardown turns ingestion off (drops the replication slot) even when the task between them fails."""

from __future__ import annotations

import sqlite3

import pytest

from edp.spec import load_spec
from edp_dev import shop as source_db
from edp_dev.airflow_run import run_dag
from edp_dev.local.cdc import LocalDms
from edp_dev.local.postgres import EmbeddedPostgres
from tests.conftest import isolated_home, source_connection

pytestmark = pytest.mark.system


def slots(conn) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT slot_name FROM pg_replication_slots")
        return [r[0] for r in cur.fetchall()]


def task_states(paths, dag_id: str) -> dict[str, str]:
    with sqlite3.connect(paths.airflow_home / "airflow.db") as db:
        rows = db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ?", (dag_id,)).fetchall()
    return dict(rows)


def test_teardown_drops_the_slot_even_when_cdc_fails():
    with isolated_home("ingestion-session") as paths:
        info = EmbeddedPostgres(paths.pg).start()
        conn = source_connection(info)
        conn.autocommit = True
        try:
            source_db.seed(conn, source_db.SeedSize(customers=10, products=5, orders=20), rng_seed=3)
            spec = load_spec()
            dms = LocalDms(info, paths.bronze, spec.source_schema, spec.table_names, source_db.PUBLICATION)
            assert dms.run().mode == "full_load" and slots(conn) == [dms.slot]
            # a run that cannot succeed (a subset of tables on a lake without the others in Silver): cdc_ingest
            # fails at once, without retries, after ingestion_up turned the session on
            log = paths.root / "logs" / "refresh.log"
            conf = {"refresh_source": True, "tables": ["orders"]}
            assert run_dag("edp_pipeline", conf, log_file=log) != 0, "the failure must fail the run"
            states = task_states(paths, "edp_pipeline")
            assert states["ingestion_up"] == "success", log.read_text()[-3000:]
            assert states["cdc_ingest"] == "failed"
            assert states["ingestion_down"] == "success", log.read_text()[-3000:]
            assert states["bronze_to_silver"] == "upstream_failed"
            assert slots(conn) == [], "ingestion left on: the slot still retains WAL"
            assert "needs the other tables in Silver already" in log.read_text()
        finally:
            conn.close()
