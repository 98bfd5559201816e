"""Faults of keys and delivery: one key changed many times or moved to a new key in one batch, a change file
delivered twice or late, and reloads after a TRUNCATE or a reset (a crash at every write boundary of the merge:
test_kill_at_write_boundaries.py). After each, Silver equals PostgreSQL row for row and Gold the SQL aggregates."""

from __future__ import annotations

import shutil

import pytest

from edp_dev.local import dms_format as dms

pytestmark = pytest.mark.integration  # PostgreSQL, Spark and dbt, without Airflow


@pytest.fixture(scope="module")
def keyed(lake):
    lake.add_table("CREATE TABLE pairs (a int, b int, v text, PRIMARY KEY (a, b))", "pairs", ["a", "b"])
    lake.sql("INSERT INTO pairs SELECT g, g % 3, 'v' || g FROM generate_series(1, 20) g")
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
