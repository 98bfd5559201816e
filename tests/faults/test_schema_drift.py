"""Faults of schema: columns added, widened or defaulted mid-stream, inside one change batch and across files
merged in one run. After each, Silver equals PostgreSQL row for row (new columns included) and Gold the SQL
aggregates."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration  # PostgreSQL, Spark and dbt, without Airflow


@pytest.fixture(scope="module")
def drifting(lake):
    lake.add_table("CREATE TABLE drift (id int PRIMARY KEY, qty int, price numeric(8,2), code varchar(4))",
                   "drift", ["id"])
    lake.sql("INSERT INTO drift SELECT g, g, g * 1.5, 'c' || g FROM generate_series(1, 30) g")
    lake.run()
    lake.assert_silver_matches()
    return lake


def test_a_column_added_inside_one_batch_keeps_its_values(drifting):
    drifting.sql("UPDATE drift SET qty = qty + 1 WHERE id <= 5",
                 "ALTER TABLE drift ADD COLUMN note text",
                 "UPDATE drift SET note = 'noted ' || id WHERE id BETWEEN 3 AND 8",
                 "INSERT INTO drift VALUES (100, 1, 1.00, 'new', 'with a note')")
    drifting.run()
    drifting.assert_silver_matches("drift")


def test_a_not_null_default_column_reaches_the_rows_nobody_changed(drifting):
    """PostgreSQL fills existing rows with the default without writing them to WAL: the table is reloaded."""
    drifting.sql("ALTER TABLE drift ADD COLUMN status text NOT NULL DEFAULT 'active'",
                 "UPDATE drift SET status = 'special' WHERE id = 2",
                 "ALTER TABLE customers ADD COLUMN tier int NOT NULL DEFAULT 1")
    results = drifting.run()
    assert results["drift"]["mode"] == "rebuild" and results["customers"]["mode"] == "rebuild"
    drifting.assert_silver_matches()
    drifting.assert_gold_matches()


def test_widened_columns_merge_with_the_narrower_files(drifting):
    drifting.sql("UPDATE drift SET qty = qty * 2 WHERE id % 3 = 0",
                 "ALTER TABLE drift ALTER COLUMN qty TYPE bigint, ALTER COLUMN price TYPE numeric(12,3), "
                 "ALTER COLUMN code TYPE varchar(40)",
                 "UPDATE drift SET qty = 5000000000, price = 123456.789, code = 'a much longer code' WHERE id = 4")
    drifting.run()
    drifting.assert_silver_matches("drift")


def test_old_and_new_schema_files_merged_in_one_run(drifting):
    """Two captures before one merge: a file without the column and a file with it, read together."""
    drifting.sql("UPDATE drift SET note = 'old schema' WHERE id = 10")
    drifting.capture()
    drifting.sql("ALTER TABLE drift ADD COLUMN extra int", "UPDATE drift SET extra = id * 10 WHERE id > 25")
    drifting.capture()
    results = drifting.merge(["drift"])
    assert results["drift"]["mode"] == "merge" and results["drift"]["new_files"] == 2
    drifting.assert_silver_matches("drift")
