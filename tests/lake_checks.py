"""What "the lake matches the source" means, in one place: Silver equals PostgreSQL row for row (through the
documented type mapping, `edp_dev.local.dms_format`), and every Gold mart equals the same aggregate computed in
SQL on PostgreSQL. The end-to-end run and the fault suite both check with these."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from edp_dev.local import dms_format as dms
from edp_dev.local import iceberg

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
    query = iceberg.duckdb_select(iceberg.snapshot_files(paths.silver / table), columns)
    return con.execute(f"{query} ORDER BY 1").fetchall()


def pg_rows(conn, sql):
    with conn.cursor() as cur:
        cur.execute("SET timezone = 'UTC'")
        cur.execute(sql)
        return cur.fetchall()




def assert_gold_matches(warehouse: Path, conn) -> None:
    gold = duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True)
    try:
        gold.execute("SET TimeZone = 'UTC'")
        for mart, (_, pg_sql, gold_sql) in GOLD_IN_POSTGRES.items():
            assert normalise(gold.execute(gold_sql).fetchall()) == normalise(pg_rows(conn, pg_sql)), mart
    finally:
        gold.close()


def source_columns(conn, table: str, schema: str = "public") -> list[tuple[str, int, int]]:
    return pg_rows(conn, "SELECT attname, atttypid::int, atttypmod FROM pg_attribute WHERE attrelid = "
                         f"'{schema}.{table}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum")


def source_table(conn, table: str, key: list[str]) -> dict[str, list]:
    """The table as Bronze and Silver should hold it: PostgreSQL's text output through the documented mapping."""
    columns = source_columns(conn, table)
    texts = ", ".join(f'"{n}"::text AS _c{i}' for i, (n, _, _) in enumerate(columns))  # aliased: ORDER BY the values
    rows = pg_rows(conn, f"SELECT {texts} FROM {table} ORDER BY {', '.join(key)}")
    return {name: comparable(dms.to_arrow([r[i] for r in rows], dms.arrow_type(oid, mod)))
            for i, (name, oid, mod) in enumerate(columns)}


def silver_table(silver_root: Path, table: str, key: list[str], columns: list[str]) -> dict[str, list]:
    data = iceberg.read(silver_root / table).sort_by([(k, "ascending") for k in key])
    missing = [c for c in columns if c not in data.column_names]
    assert not missing, f"Silver {table} lacks column(s) {missing}"
    return {c: comparable(data.column(c).combine_chunks()) for c in columns}


def assert_silver_matches(conn, silver_root: Path, table: str, key: list[str]) -> None:
    expected = source_table(conn, table, key)
    actual = silver_table(silver_root, table, key, list(expected))
    for column, values in expected.items():
        assert len(actual[column]) == len(values), f"Silver {table} has {len(actual[column])} rows, PostgreSQL {len(values)}"
        diff = [(i, a, e) for i, (a, e) in enumerate(zip(actual[column], values, strict=True)) if a != e]
        assert not diff, f"Silver {table}.{column} differs from PostgreSQL at (row, silver, source): {diff[:5]}"


def comparable(array: pa.Array) -> list:
    """Values compared exactly: dates and timestamps as their integers (out-of-range and infinite ones
    included), NaN equal to NaN, decimals as Decimal."""
    if pa.types.is_timestamp(array.type):
        array = array.cast(pa.int64())
    elif pa.types.is_date32(array.type):
        array = array.cast(pa.int32())
    values = array.to_pylist()
    if pa.types.is_floating(array.type):
        return ["NaN" if v is not None and math.isnan(v) else v for v in values]
    if pa.types.is_decimal(array.type):
        return [None if v is None else Decimal(v) for v in values]
    return values
