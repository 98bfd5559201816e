"""The local quality gate, the serving load into the embedded PostgreSQL, and dbt split into steps.

A tiny Gold warehouse (and a Silver catalog) is written here with DuckDB, so nothing else of the pipeline runs.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg2
import pytest

from edp.runtime import RunContext
from edp.settings import PermanentError
from edp.spec import Task
from edp_dev.local import dbt_cli, executors, quality, serving
from edp_dev.local.catalog import CATALOG_FILE
from edp_dev.local.postgres import EmbeddedPostgres
from edp_dev.local.publish import DBT_FILES
from tests.conftest import isolated_home

pytestmark = pytest.mark.integration  # a real PostgreSQL, DuckDB files and (once) dbt

ORDERS = [  # id, amount, day, placed_at, note, ratio, paid
    (1, Decimal("12.50"), date(2024, 1, 1), datetime(2024, 1, 1, 9, 30, tzinfo=UTC), "first", 0.1, True),
    (2, Decimal("99.99"), date(2024, 1, 2), datetime(2024, 1, 2, 23, 59, 59, 123456, tzinfo=UTC), None, None, False),
    (3, Decimal("0.01"), date(2023, 12, 31), datetime(2023, 12, 31, 0, 0, tzinfo=UTC), "", 1e-300, None),
    (4, Decimal("-5.00"), None, None, 'quote " and, comma', float("inf"), True),
]
CUSTOMERS = [(1, "Ada"), (2, None), (3, "Grace")]


def write_warehouse(paths, orders=ORDERS, customers=CUSTOMERS) -> None:
    """Gold as dbt leaves it (tables in schema `gold`), and a Silver catalog with one table."""
    import duckdb

    paths.warehouse.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(paths.warehouse / quality.WAREHOUSE_FILE))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("CREATE SCHEMA IF NOT EXISTS gold")
        con.execute("CREATE OR REPLACE TABLE gold.orders (id INTEGER, amount DECIMAL(12,2), day DATE, "
                    "placed_at TIMESTAMPTZ, note VARCHAR, ratio DOUBLE, paid BOOLEAN)")
        con.executemany("INSERT INTO gold.orders VALUES (?, ?, ?, ?, ?, ?, ?)", orders)
        con.execute("CREATE OR REPLACE TABLE gold.customers (customer_id BIGINT, name VARCHAR)")
        con.executemany("INSERT INTO gold.customers VALUES (?, ?)", customers)
    finally:
        con.close()
    paths.catalog.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(paths.catalog / CATALOG_FILE))
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS silver")
        con.execute("CREATE OR REPLACE TABLE silver.customers AS SELECT * FROM (VALUES (1), (2), (3)) t(customer_id)")
    finally:
        con.close()


@pytest.fixture(scope="module")
def home():
    with isolated_home("quality-serving") as paths:
        write_warehouse(paths)
        yield paths


@pytest.fixture(scope="module")
def pg(home):
    info = EmbeddedPostgres(home.pg).start()
    conn = psycopg2.connect(info.dsn(), options="-c TimeZone=UTC")
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture
def run(spec):
    return RunContext(spec=spec, run_id="test", target="local", tables=spec.table_names, full_refresh=False)


def gate_task(*checks: str) -> Task:
    return Task(id="gate", kind="quality_gate", args={"checks": checks})


def load_task(*tables: str, schema: str = "serving") -> Task:
    return Task(id="serve", kind="serving_load", args={"tables": tables, "schema": schema})


# -- quality gate ---------------------------------------------------------------------------------------

def test_passing_gate_reports_its_checks(home, run):
    metrics = executors.quality_gate(gate_task(
        "SELECT * FROM {gold}.orders WHERE id IS NULL;",
        "SELECT o.* FROM {gold}.customers o\n"
        "LEFT JOIN {silver}.customers s USING (customer_id) WHERE s.customer_id IS NULL  -- every customer in Silver",
    ), run)
    assert metrics["checks"] == 2 and metrics["passed"] == 2 and metrics["seconds"] >= 0


def test_failing_gate_names_the_check_its_row_count_and_examples(home, run):
    with pytest.raises(PermanentError) as failed:
        executors.quality_gate(gate_task(
            "SELECT * FROM {gold}.customers WHERE customer_id < 0",
            "\n  SELECT id, amount FROM {gold}.orders\n  WHERE amount < 50 ORDER BY id",
        ), run)
    message = str(failed.value)
    assert "1 of 2 check(s) failed" in message
    assert "check 2 (SELECT id, amount FROM {gold}.orders)" in message and "check 1" not in message
    assert "3 rows violate it" in message
    assert "id=1, amount=12.50" in message and "id=3, amount=0.01" in message and "id=4, amount=-5.00" in message


def test_gate_shows_at_most_three_example_rows_and_nulls(home, run):
    with pytest.raises(PermanentError) as failed:
        executors.quality_gate(gate_task("SELECT id, day FROM {gold}.orders ORDER BY id"), run)
    message = str(failed.value)
    assert "4 rows violate it" in message
    assert "id=3" in message and "id=4" not in message  # the fourth row is counted, not shown
    results = quality.run_checks(("SELECT name FROM {gold}.customers WHERE name IS NULL",),
                                 home.warehouse / quality.WAREHOUSE_FILE, home.catalog / CATALOG_FILE)
    assert "(name=NULL)" in quality.describe_failure(results[0])


def test_bad_sql_is_a_permanent_error_naming_the_check(home, run):
    with pytest.raises(PermanentError) as failed:
        executors.quality_gate(gate_task("SELECT 1 WHERE false", "SELECT no_such_column FROM {gold}.orders"), run)
    message = str(failed.value)
    assert "check 2 (SELECT no_such_column FROM {gold}.orders): the SQL failed" in message
    assert "no_such_column" in message.split("the SQL failed", 1)[1]


def test_checks_cannot_change_the_warehouse(home, run):
    with pytest.raises(PermanentError, match="check 1 .*the SQL failed"):
        executors.quality_gate(gate_task("DELETE FROM {gold}.orders RETURNING *"), run)
    import duckdb

    con = duckdb.connect(str(home.warehouse / quality.WAREHOUSE_FILE), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM gold.orders").fetchone()[0] == len(ORDERS)
    finally:
        con.close()


def test_gate_without_a_warehouse_is_permanent(tmp_path):
    with pytest.raises(PermanentError, match="no Gold warehouse"):
        quality.gate(("SELECT 1",), tmp_path / "warehouse.duckdb", tmp_path / "catalog.duckdb")


def test_placeholders_are_filled_as_on_athena(home, run):
    assert quality.render_sql("SELECT * FROM {gold}.t WHERE regexp_matches(x, '^a{{2}}$') ;") == \
        "SELECT * FROM gold.t WHERE regexp_matches(x, '^a{2}$')"
    assert quality.render_sql("SELECT * FROM {silver}.orders") == "SELECT * FROM lake.silver.orders"
    with pytest.raises(PermanentError, match=r"check 1 .*unknown placeholder 'bronze'"):
        executors.quality_gate(gate_task("SELECT * FROM {bronze}.orders"), run)


# -- serving load ---------------------------------------------------------------------------------------

def in_duckdb(paths, table: str) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(paths.warehouse / quality.WAREHOUSE_FILE), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return sorted(con.execute(f"SELECT * FROM gold.{table}").fetchall(), key=lambda r: r[0])
    finally:
        con.close()


def in_postgres(conn, schema: str, table: str) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT * FROM {schema}.{table} ORDER BY 1")
        return cur.fetchall()


def pg_columns(conn, schema: str, table: str) -> dict[str, str]:
    with conn.cursor() as cur:
        cur.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                    "WHERE attrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass AND attnum > 0 "
                    "AND NOT attisdropped ORDER BY attnum", (schema, table))
        return dict(cur.fetchall())


def serving_tables(conn, schema: str) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (schema,))
        return [name for (name,) in cur.fetchall()]


def test_serving_load_copies_every_row_and_type(home, pg, run):
    metrics = executors.serving_load(load_task("orders", "customers"), run)
    assert metrics["schema"] == "serving" and metrics["tables"] == {"orders": 4, "customers": 3}
    assert in_postgres(pg, "serving", "orders") == in_duckdb(home, "orders")
    assert in_postgres(pg, "serving", "customers") == in_duckdb(home, "customers")
    assert in_postgres(pg, "serving", "orders")[2][4] == ""  # an empty string is not NULL
    assert pg_columns(pg, "serving", "orders") == {
        "id": "integer", "amount": "numeric(12,2)", "day": "date", "placed_at": "timestamp with time zone",
        "note": "text", "ratio": "double precision", "paid": "boolean"}
    assert pg_columns(pg, "serving", "customers") == {"customer_id": "bigint", "name": "text"}
    assert serving_tables(pg, "serving") == ["customers", "orders"]


def test_a_second_load_replaces_the_tables(home, pg, run):
    executors.serving_load(load_task("orders", "customers"), run)
    changed = [*ORDERS[1:3], (5, Decimal("1.00"), date(2024, 2, 1), datetime(2024, 2, 1, tzinfo=UTC), "new", 2.5, True)]
    write_warehouse(home, orders=changed, customers=CUSTOMERS[:1])
    try:
        metrics = executors.serving_load(load_task("orders", "customers"), run)
        assert metrics["tables"] == {"orders": 3, "customers": 1}
        assert in_postgres(pg, "serving", "orders") == in_duckdb(home, "orders")
        assert [r[0] for r in in_postgres(pg, "serving", "orders")] == [2, 3, 5]
        assert in_postgres(pg, "serving", "customers") == [(1, "Ada")]
        assert serving_tables(pg, "serving") == ["customers", "orders"]  # no __loading table left behind
    finally:
        write_warehouse(home)


def table_oids(conn, schema: str) -> dict[str, int]:
    with conn.cursor() as cur:
        cur.execute("SELECT c.relname, c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND c.relkind = 'r'", (schema,))
        return dict(cur.fetchall())


def test_a_table_whose_gold_rows_did_not_change_is_not_copied_again(home, pg, run):
    """Each serving table carries the fingerprint of the Gold rows it was loaded from: an unchanged table stays
    (the same table, not a copy), a changed one is replaced, and a table edited by hand since is reloaded."""
    executors.serving_load(load_task("orders", "customers"), run)
    before = table_oids(pg, "serving")
    again = executors.serving_load(load_task("orders", "customers"), run)
    assert again["unchanged"] == ["orders", "customers"] and again["tables"] == {"orders": 4, "customers": 3}
    assert table_oids(pg, "serving") == before
    write_warehouse(home, orders=ORDERS, customers=CUSTOMERS[1:])
    try:
        changed = executors.serving_load(load_task("orders", "customers"), run)
        assert changed["unchanged"] == ["orders"] and changed["tables"] == {"orders": 4, "customers": 2}
        after = table_oids(pg, "serving")
        assert after["orders"] == before["orders"] and after["customers"] != before["customers"]
        assert in_postgres(pg, "serving", "customers") == in_duckdb(home, "customers")
        with pg.cursor() as cur:
            cur.execute("COMMENT ON TABLE serving.orders IS 'edited by hand'")
        pg.commit()
        assert executors.serving_load(load_task("orders", "customers"), run)["unchanged"] == ["customers"]
    finally:
        write_warehouse(home)


def test_an_unknown_table_is_refused_before_anything_loads(home, pg, run):
    executors.serving_load(load_task("customers", schema="serving_unknown"), run)
    with pytest.raises(PermanentError) as refused:
        executors.serving_load(load_task("orders", "no_such_mart", schema="serving_unknown"), run)
    assert "no_such_mart" in str(refused.value) and "Gold has: customers, orders" in str(refused.value)
    assert serving_tables(pg, "serving_unknown") == ["customers"]


def test_a_failed_load_keeps_the_previous_tables(home, pg):
    """A type the serving store cannot hold fails the load inside its transaction: the earlier load stays."""
    import duckdb

    before = in_postgres(pg, "serving", "customers")
    con = duckdb.connect(str(home.warehouse / quality.WAREHOUSE_FILE))
    try:
        con.execute("CREATE OR REPLACE TABLE gold.odd AS SELECT 1 AS id, INTERVAL 1 DAY AS wait")
    finally:
        con.close()
    try:
        with pytest.raises(PermanentError, match=r"gold.odd .*wait \(.*interval"):
            serving.serving_load(("customers", "odd"), "serving", home.warehouse / quality.WAREHOUSE_FILE,
                                 home.catalog / CATALOG_FILE, EmbeddedPostgres(home.pg).connection().dsn())
        assert in_postgres(pg, "serving", "customers") == before
        assert serving_tables(pg, "serving") == ["customers", "orders"]
    finally:
        con = duckdb.connect(str(home.warehouse / quality.WAREHOUSE_FILE))
        con.execute("DROP TABLE gold.odd")
        con.close()


def test_the_source_schema_is_refused(home, run):
    with pytest.raises(PermanentError, match="must not be the source schema"):
        executors.serving_load(load_task("customers", schema=run.spec.source_schema), run)


def test_an_empty_table_list_is_refused(home, run):
    with pytest.raises(PermanentError, match="names no tables; Gold has: customers, orders"):
        executors.serving_load(load_task(), run)


def test_arrow_types_map_to_postgres_types():
    import pyarrow as pa

    assert serving.pg_type(pa.int16()) == "smallint" and serving.pg_type(pa.uint64()) == "numeric(20,0)"
    assert serving.pg_type(pa.float32()) == "real" and serving.pg_type(pa.decimal128(38, 9)) == "numeric(38,9)"
    assert serving.pg_type(pa.timestamp("us")) == "timestamp" and serving.pg_type(pa.large_string()) == "text"
    assert serving.pg_type(pa.binary()) == "bytea" and serving.pg_type(pa.list_(pa.int32())) is None


def test_csv_fields_keep_null_and_empty_apart():
    assert serving.csv_field(None) == "" and serving.csv_field("") == '""'
    assert serving.csv_field('a "b", c') == '"a ""b"", c"'
    assert serving.csv_field(True) == '"true"' and serving.csv_field(b"\x01\xff") == '"\\x01ff"'


# -- dbt steps ------------------------------------------------------------------------------------------

def test_dbt_command_lines():
    assert dbt_cli.command_line() == ["build"]
    assert dbt_cli.command_line("test", "marts", full_refresh=True) == ["test", "--select", "marts"]
    assert dbt_cli.command_line("run", "stg_orders+", full_refresh=True) == [
        "run", "--select", "stg_orders+", "--full-refresh"]
    assert dbt_cli.command_line("seed", "", full_refresh=True) == ["seed", "--full-refresh"]
    assert dbt_cli.command_line("source freshness", " source:shop ") == ["source", "freshness", "--select", "source:shop"]
    assert dbt_cli.command_line("snapshot", full_refresh=True) == ["snapshot"]
    with pytest.raises(dbt_cli.DbtError, match="unknown dbt command 'docs'"):
        dbt_cli.command_line("docs")


def test_dbt_steps_leave_what_publishing_needs(spec):
    """A real dbt step that builds (seed: the project has no seeds, so it is quick) generates the docs; a later
    step that builds nothing (compile) keeps them, and its results become the published run results."""
    with isolated_home("dbt-steps") as paths:
        write_warehouse(paths)
        run = RunContext(spec=spec, run_id="test", target="local", tables=spec.table_names, full_refresh=False)
        seeded = executors.dbt(Task(id="dbt_seed", kind="dbt", args={"command": "seed", "select": ""}), run)
        assert seeded["command"] == "seed" and seeded["nodes"] == 0
        target = paths.dbt_target
        assert all((target / name).exists() for name in [*DBT_FILES, "static_index.html"])
        assert (target / "steps" / "dbt_seed.json").exists()
        docs_written = (target / "static_index.html").stat().st_mtime_ns

        compiled = executors.dbt(Task(id="dbt_compile", kind="dbt", args={"command": "compile",
                                                                             "select": "stg_orders"}), run)
        assert compiled["select"] == "stg_orders" and set(compiled["statuses"]) == {"success"}
        assert (target / "static_index.html").stat().st_mtime_ns == docs_written
        published = json.loads((target / dbt_cli.BUILD_RESULTS).read_text())
        nodes = [r["unique_id"] for r in published["results"]]
        assert len(nodes) == compiled["nodes"]
        assert [n for n in nodes if n.startswith("model.")] == ["model.edp.stg_orders"]  # the model and its tests
        assert (target / "steps" / "dbt_seed.json").exists() and (target / "steps" / "dbt_compile.json").exists()


def test_a_failing_data_test_stops_the_step_for_good_and_a_broken_one_is_an_error():
    """Failed data tests are a PermanentError naming them (a retry cannot fix the data); a test that cannot run
    (its table is missing) is an ordinary error, which a retry may cure. Either way the step's results are
    kept for whoever debugs it."""
    with isolated_home("dbt-failing") as paths:
        write_warehouse(paths)
        import duckdb

        con = duckdb.connect(str(paths.catalog / CATALOG_FILE))
        con.execute("INSERT INTO silver.customers VALUES (2)")  # a duplicate key in Silver
        con.close()
        with pytest.raises(dbt_cli.DbtTestsFailed, match=r"data test\(s\) failed: .*source_unique_silver_customers"):
            dbt_cli.build("test", select="source:silver.customers", name="dbt_test")
        kept = json.loads((paths.dbt_target / "steps" / "dbt_test.json").read_text())
        assert {r["status"] for r in kept["results"]} == {"pass", "fail"}

        with pytest.raises(dbt_cli.DbtError) as broken:  # silver.products is not in the catalog
            dbt_cli.build("test", select="source:silver.products", name="dbt_test")
        assert not isinstance(broken.value, PermanentError) and "source:silver.products" in str(broken.value)
