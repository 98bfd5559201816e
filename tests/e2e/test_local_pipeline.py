"""End to end on real engines: PostgreSQL -> CDC -> Spark -> catalog -> dbt/DuckDB -> artifacts, through Airflow.

Seed, run the DAG, apply a simulator batch, run it again; then Silver must equal
the source row for row and every Gold mart must equal the same aggregate
computed directly in SQL on PostgreSQL.
"""

from __future__ import annotations

import json
from decimal import Decimal

import duckdb
import pytest

from edp_dev import shop as source_db
from edp_dev.airflow_run import run_dag
from edp_dev.local.postgres import EmbeddedPostgres
from tests.conftest import isolated_home, source_connection

pytestmark = pytest.mark.system

GOLD_IN_POSTGRES = {
    "daily_revenue": (
        "order_date",
        """
        SELECT (o.ordered_at AT TIME ZONE 'UTC')::date AS order_date, count(DISTINCT o.order_id),
               sum(i.quantity), sum(i.quantity * i.unit_price)
        FROM orders o JOIN order_items i ON i.order_id = o.order_id
        WHERE o.status NOT IN ('cancelled', 'returned')
        GROUP BY 1
        """,
        "SELECT order_date, order_count, units_sold, revenue FROM gold.daily_revenue",
    ),
    "customer_lifetime_value": (
        "customer_id",
        """
        WITH t AS (
            SELECT o.order_id, o.customer_id, (o.ordered_at AT TIME ZONE 'UTC')::date AS d,
                   sum(i.quantity * i.unit_price) AS amount
            FROM orders o JOIN order_items i ON i.order_id = o.order_id
            WHERE o.status NOT IN ('cancelled', 'returned')
            GROUP BY o.order_id, o.customer_id, d)
        SELECT c.customer_id, count(t.order_id), min(t.d), max(t.d), coalesce(sum(t.amount), 0),
               round(sum(t.amount) / nullif(count(t.order_id), 0), 2)
        FROM customers c LEFT JOIN t ON t.customer_id = c.customer_id
        GROUP BY c.customer_id
        """,
        "SELECT customer_id, order_count, first_order_date, last_order_date, lifetime_revenue, avg_order_value "
        "FROM gold.customer_lifetime_value",
    ),
    "product_performance": (
        "product_id",
        """
        SELECT p.product_id, p.sku, p.category, p.unit_price, count(DISTINCT o.order_id),
               coalesce(sum(i.quantity), 0), coalesce(sum(i.quantity * i.unit_price), 0)
        FROM products p
        LEFT JOIN order_items i ON i.product_id = p.product_id
            AND i.order_id IN (SELECT order_id FROM orders WHERE status NOT IN ('cancelled', 'returned'))
        LEFT JOIN orders o ON o.order_id = i.order_id
        GROUP BY p.product_id, p.sku, p.category, p.unit_price
        """,
        "SELECT product_id, sku, category, current_unit_price, order_count, units_sold, revenue "
        "FROM gold.product_performance",
    ),
}


def normalise(rows):
    out = []
    for row in rows:
        out.append(tuple(Decimal(str(v)).quantize(Decimal("0.01")) if isinstance(v, (Decimal, float)) else v
                         for v in row))
    return sorted(out, key=lambda r: r[0])


def silver_rows(paths, table, columns):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    glob = str(paths.silver / table / "*.parquet")
    return con.execute(f"SELECT {', '.join(columns)} FROM read_parquet('{glob}') ORDER BY 1").fetchall()


def pg_rows(conn, sql):
    with conn.cursor() as cur:
        cur.execute("SET timezone = 'UTC'")
        cur.execute(sql)
        return cur.fetchall()


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
        assert run_dag("edp_pipeline", {"target": "local"}, log_file=log1) == 0, log1.read_text()[-5000:]
        batch = source_db.simulate(conn, inserts=40, updates=30, deletes=12, rng_seed=22)
        assert batch.inserts and batch.updates and batch.deletes
        log2 = paths.root / "logs" / "run2.log"
        assert run_dag("edp_pipeline", {"target": "local"}, log_file=log2) == 0, log2.read_text()[-5000:]
        assert "'mode': 'merge'" in log2.read_text(), "the second run must merge incrementally"

        for table in source_db.TABLES:
            columns = [r[0] for r in pg_rows(conn, f"SELECT column_name FROM information_schema.columns "
                                                   f"WHERE table_name = '{table}' ORDER BY ordinal_position")]
            expected = pg_rows(conn, f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1")
            assert silver_rows(paths, table, columns) == expected, f"Silver {table} differs from PostgreSQL"

        gold = duckdb.connect(str(paths.warehouse / "warehouse.duckdb"), read_only=True)
        gold.execute("SET TimeZone = 'UTC'")
        for mart, (_, pg_sql, gold_sql) in GOLD_IN_POSTGRES.items():
            assert normalise(gold.execute(gold_sql).fetchall()) == normalise(pg_rows(conn, pg_sql)), mart
        gold.close()
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
