"""Faults of keys and delivery: one key changed many times or moved to a new key in one batch, a change file
delivered twice or late, and reloads after a TRUNCATE or a reset (a crash at every write boundary of the merge:
test_kill_at_write_boundaries.py). After each, Silver equals PostgreSQL row for row and Gold the SQL aggregates."""

from __future__ import annotations

import json
import shutil
import subprocess

import duckdb
import pytest

from edp_dev.local import catalog, dbt_cli
from edp_dev.local import dms_format as dms
from edp_dev.local.quality import WAREHOUSE_FILE
from tests.faults.conftest import SHOP_KEYS
from tests.lake_checks import assert_gold_matches

pytestmark = pytest.mark.integration  # PostgreSQL, Spark and dbt, without Airflow


@pytest.fixture(scope="module")
def keyed(lake):
    lake.add_table("CREATE TABLE pairs (a int, b int, v text, PRIMARY KEY (a, b))", "pairs", ["a", "b"])
    lake.sql("INSERT INTO pairs SELECT g, g % 3, 'v' || g FROM generate_series(1, 20) g",
             # a customer and a product with no orders, for the incremental marts' deletes (the last test)
             "INSERT INTO customers VALUES (9001, 'gone@example.com', 'Gone Soon', 'DE', 'smb', now(), now())",
             "INSERT INTO products VALUES (9001, 'GONE-1', 'Gone soon', 'misc', 1.00, true, now())")
    results = lake.run()
    assert {r["mode"] for r in results.values()} == {"rebuild"}
    lake.assert_silver_matches()
    return lake


def test_one_key_changed_several_times_in_one_batch(keyed):
    keyed.sql("UPDATE customers SET full_name = 'first' WHERE customer_id = 1",
              "UPDATE customers SET full_name = 'second' WHERE customer_id = 1",
              "INSERT INTO pairs VALUES (100, 1, 'born')",
              "UPDATE pairs SET v = 'grown' WHERE a = 100",
              "DELETE FROM pairs WHERE a = 100",
              "INSERT INTO pairs VALUES (100, 1, 'born again')",
              "BEGIN", "UPDATE customers SET full_name = 'third' WHERE customer_id = 1",
              "UPDATE customers SET full_name = 'fourth' WHERE customer_id = 1", "COMMIT")
    keyed.run()
    keyed.assert_silver_matches("customers", "pairs")


def test_a_primary_key_update_moves_the_row(keyed):
    """DMS writes it as one U row under the new key with the old key in BI_<key>: the old row must go."""
    keyed.sql("UPDATE order_items SET order_item_id = order_item_id + 100000 WHERE order_item_id % 5 = 0",
              "UPDATE pairs SET b = b + 10 WHERE a < 5",                       # one column of a composite key
              "UPDATE pairs SET a = 500, b = 0 WHERE a = 7",
              "INSERT INTO pairs VALUES (7, 7 % 3, 'the old key again')")    # the freed key, taken again
    keyed.run()
    keyed.assert_silver_matches("order_items", "pairs")
    keyed.assert_gold_matches()


def test_a_change_file_delivered_twice_or_late_changes_nothing(keyed):
    keyed.sql("INSERT INTO pairs VALUES (300, 1, 'short-lived'), (301, 1, 'edited')")
    keyed.run()
    folder = keyed.paths.bronze / "public" / "pairs"
    first = max((p for p in dms.table_files(folder) if not dms.is_load_file(p.name)), key=lambda p: p.stat().st_mtime)
    keyed.sql("DELETE FROM pairs WHERE a = 300", "UPDATE pairs SET v = 'edited again' WHERE a = 301")
    keyed.run()
    late = first.parent / "29991231-235959999.parquet"  # the first batch again, under a later name in its folder
    shutil.copyfile(first, late)
    results = keyed.merge(["pairs"])
    assert results["pairs"]["mode"] == "merge" and results["pairs"]["new_files"] == 1
    keyed.assert_silver_matches("pairs")


def test_a_truncate_reloads_the_table(keyed):
    keyed.sql("INSERT INTO pairs VALUES (900, 0, 'gone soon')", "TRUNCATE pairs",
              "INSERT INTO pairs SELECT g, g % 4, 'after truncate ' || g FROM generate_series(1, 7) g")
    results = keyed.run()
    assert results["pairs"]["mode"] == "rebuild"
    keyed.assert_silver_matches("pairs")


def test_a_full_refresh_after_a_reset_rebuilds_silver(keyed):
    """`edp cdc reset` (or --full-refresh) drops the slot; the next run takes a fresh load, and every Silver
    table is rebuilt from it, so rows deleted since the old load are gone."""
    keyed.sql("DELETE FROM order_items WHERE order_item_id % 7 = 0")
    keyed.run()
    assert keyed.dms().drop_slot()
    keyed.sql("DELETE FROM order_items WHERE order_item_id % 3 = 0", "DELETE FROM pairs WHERE a % 2 = 0",
              "UPDATE products SET unit_price = unit_price + 1")
    results = keyed.run()
    assert {r["mode"] for r in results.values()} == {"rebuild"}, results
    keyed.assert_silver_matches()
    keyed.assert_gold_matches()


def _gold(lake, sql: str, params=()) -> list[tuple]:
    con = duckdb.connect(str(lake.paths.warehouse / WAREHOUSE_FILE))
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _source(lake, sql: str) -> list[tuple]:
    with lake.conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_incremental_marts_recompute_only_the_keys_a_batch_touched(keyed):
    """customer_lifetime_value and product_performance, like daily_revenue, recompute the customers and products
    that changes since their last build touched, and drop the deleted ones. A mark written on an untouched
    key's row survives the build (its row was not recomputed); every figure still equals PostgreSQL's. The
    lookback is 0 here: the whole test runs inside the default hour, which would touch every key."""
    keyed.assert_gold_matches()  # the marts are current; the batch below is what the next build sees
    assert _gold(keyed, "SELECT count(*) FROM gold.product_performance WHERE product_id = 9001") == [(1,)]
    revenue = _source(keyed, "SELECT o.customer_id, o.order_id, i.order_item_id, i.product_id FROM orders o "
                             "JOIN order_items i USING (order_id) WHERE o.status NOT IN ('cancelled', 'returned') "
                             "ORDER BY o.order_id, i.order_item_id")
    customers = list(dict.fromkeys(row[0] for row in revenue))
    renamed, cancelled, trimmed, dropped, untouched = customers[:5]
    cancelled_order = next(r[1] for r in revenue if r[0] == cancelled)
    trimmed_item = next(r for r in revenue if r[0] == trimmed)
    dropped_order = next(r[1] for r in revenue if r[0] == dropped)
    changed_orders = {cancelled_order, dropped_order, trimmed_item[1]}
    touched_products = {r[3] for r in revenue if r[1] in changed_orders}
    still = sorted({r[3] for r in revenue} - touched_products)
    assert still, "the batch must leave a product untouched"
    mark = "TIMESTAMP '2000-01-01 00:00:00'"  # in a column the comparison with PostgreSQL leaves out
    _gold(keyed, f"UPDATE gold.customer_lifetime_value SET source_changed_at = {mark} WHERE customer_id = ?",
          (untouched,))
    _gold(keyed, f"UPDATE gold.product_performance SET source_changed_at = {mark} WHERE product_id = ?", (still[0],))

    keyed.sql(f"UPDATE customers SET segment = 'enterprise' WHERE customer_id = {renamed}",
              f"UPDATE orders SET status = 'cancelled' WHERE order_id = {cancelled_order}",
              f"DELETE FROM order_items WHERE order_item_id = {trimmed_item[2]}",
              f"DELETE FROM orders WHERE order_id = {dropped_order}",  # its items go with it (ON DELETE CASCADE)
              "DELETE FROM customers WHERE customer_id = 9001", "DELETE FROM products WHERE product_id = 9001")
    keyed.run()
    catalog.crawl(keyed.paths.silver, keyed.paths.catalog, "silver", tuple(SHOP_KEYS))
    built = subprocess.run([dbt_cli.dbt_executable(), *dbt_cli.dbt_args(
        "build", "--vars", json.dumps({"gold_lookback_hours": 0}))], env=dbt_cli.dbt_env(),
        capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-3000:]

    marked = "SELECT count(*) FROM gold.{} WHERE {} = ? AND source_changed_at = " + mark
    assert _gold(keyed, marked.format("customer_lifetime_value", "customer_id"), (untouched,)) == [(1,)], \
        "an untouched customer's row must not be recomputed"
    assert _gold(keyed, marked.format("product_performance", "product_id"), (still[0],)) == [(1,)], \
        "an untouched product's row must not be recomputed"
    assert _gold(keyed, "SELECT segment FROM gold.customer_lifetime_value WHERE customer_id = ?",
                 (renamed,)) == [("enterprise",)]
    assert not _gold(keyed, "SELECT 1 FROM gold.customer_lifetime_value WHERE customer_id = 9001")
    assert not _gold(keyed, "SELECT 1 FROM gold.product_performance WHERE product_id = 9001")
    assert_gold_matches(keyed.paths.warehouse, keyed.conn)  # the figures, without another build
