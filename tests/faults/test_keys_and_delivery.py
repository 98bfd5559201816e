"""Faults of keys and delivery: one key changed many times or moved to a new key in one batch, a change file
delivered twice or late, a crash at every write boundary of the merge, and reloads after a TRUNCATE or a reset.
After each, Silver equals PostgreSQL row for row and Gold the SQL aggregates."""

from __future__ import annotations

import shutil

import pytest

from edp_dev.local import dms_format as dms
from edp_dev.local.glue import load_script

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
    first = max((p for p in folder.glob("*.parquet") if not dms.is_load_file(p.name)), key=lambda p: p.stat().st_mtime)
    keyed.sql("DELETE FROM pairs WHERE a = 300", "UPDATE pairs SET v = 'edited again' WHERE a = 301")
    keyed.run()
    shutil.copyfile(first, folder / "29991231-235959999.parquet")  # the first batch again, under a later name
    results = keyed.merge(["pairs"])
    assert results["pairs"]["mode"] == "merge" and results["pairs"]["new_files"] == 1
    keyed.assert_silver_matches("pairs")


BOUNDARIES = ["staging written", "old copy moved aside", "tombstones in place", "silver in place"]


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_a_crash_at_every_write_boundary_of_the_merge(keyed, monkeypatch, boundary):
    """The merge stopped dead after each of its writes (an exception where the process would die: no clean-up
    runs either way); the next run finishes the job and Silver is right, with no staging copy left behind."""
    b2s = load_script("bronze_to_silver.py")
    keyed.sql("UPDATE products SET name = name || '+' WHERE product_id % 2 = 0", "UPDATE pairs SET v = v || '+'",
              "DELETE FROM pairs WHERE a = (SELECT min(a) FROM pairs)")
    keyed.capture()
    real_swap, real_rename, real_bookmark = b2s.BronzeToSilver._swap_in, b2s.BronzeToSilver._rename, \
        b2s.BronzeToSilver._write_bookmark

    class Crash(Exception):
        pass

    def rename(self, src, dst):
        real_rename(self, src, dst)
        if boundary == "old copy moved aside" and "/_previous/" in dst:
            raise Crash(boundary)

    def swap(self, df, target):
        if boundary == "staging written":
            df.write.mode("overwrite").parquet(f"{self.staging_root}/{self.table}-crashed")
            raise Crash(boundary)
        real_swap(self, df, target)
        if boundary == "tombstones in place" and target == self.tombstone_dir:
            raise Crash(boundary)

    def bookmark(self, data):
        if boundary == "silver in place":
            raise Crash(boundary)
        real_bookmark(self, data)

    monkeypatch.setattr(b2s.BronzeToSilver, "_swap_in", swap)
    monkeypatch.setattr(b2s.BronzeToSilver, "_rename", rename)
    monkeypatch.setattr(b2s.BronzeToSilver, "_write_bookmark", bookmark)
    with pytest.raises(Crash):
        keyed.merge(["pairs"])
    monkeypatch.undo()
    keyed.merge()
    keyed.assert_silver_matches()
    leftovers = [p for p in (keyed.paths.silver / "_staging").glob("*")] if (keyed.paths.silver / "_staging").exists() \
        else []
    assert not leftovers, f"staging copies left behind: {leftovers}"


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
