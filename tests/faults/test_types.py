"""Edge values of every common PostgreSQL type, through the full load and through change capture, each mapped
as documented (docs/design.md, "PostgreSQL types in Bronze"); large values an update did not touch; and a
source that stops answering. After each, Silver equals PostgreSQL row for row."""

from __future__ import annotations

import os
import signal
import time

import pytest

from edp_dev.local.cdc import TIMEOUT_ENV, SourceUnresponsive

pytestmark = pytest.mark.integration  # PostgreSQL and Spark, without Airflow

EDGE_DDL = """
CREATE TABLE edge (
    id int PRIMARY KEY,
    wide numeric(50, 10), free numeric, money_like numeric(10, 2), ratio float8, small real,
    ts timestamp, tstz timestamptz, d date, t time, ttz timetz, span interval,
    doc jsonb, raw bytea, tags text[], nums int[], u uuid, flag boolean, label varchar(20), body text
)"""
ROWS = [
    "(1, 12345678901234567890123456789012345678.1234567890, 3.14159265358979323846264338327950288, 12.50, 0.1, 1.5,"
    " '2026-11-23 02:00:00.123456', '2026-11-23 02:00:00.123456+00', '2026-11-23', '13:45:10.5', '13:45:10+05:30',"
    " '1 year 2 mons 3 days 04:05:06.7', '{\"a\": [1, 2, {\"b\": null}]}', '\\x00ff10', '{\"x\",\"y z\",NULL}',"
    " '{1,2,3}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', true, 'ünïcödé', repeat('long ', 10))",
    "(2, -0.0000000001, 'NaN', 'NaN', 'NaN', '-Infinity', 'infinity', '-infinity', 'infinity', '00:00', '23:59:59-12',"
    " '-1 days', 'null', '\\x', '{}', '{}', NULL, false, '', '')",
    "(3, NULL, 'Infinity', NULL, 'Infinity', 'NaN', '-infinity', 'infinity', '-infinity', NULL, NULL, NULL, NULL,"
    " NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    "(4, 0, '-Infinity', -99999999.99, -1e300, 1e-30, '0044-03-15 12:00:00 BC', '0001-01-01 00:00:00+00 BC',"
    " '4713-01-01 BC', '24:00:00', '00:00:00+14', '178000000 years', '[]', '\\xdeadbeef', '{\"\"}', '{-1,NULL}',"
    " 'ffffffff-ffff-ffff-ffff-ffffffffffff', NULL, 'x', 'y')",
    "(5, 1e37, 1e-100, 0.01, 5e-324, 3.4e38, '9999-12-31 23:59:59.999999', '9999-12-31 23:00:00+00',"
    " '9999-12-31', '00:00:00.000001', '12:00+00', '00:00:00', '{\"deep\": {\"deeper\": [true, false]}}',"
    " '\\x5c6e', '{\"quote\\\"d\"}', '{2147483647}', NULL, true, 'z', 'w')",
    "(6, NULL, NULL, NULL, NULL, NULL, '10000-01-01 00:00:00', '294276-12-31 23:59:59+00', '5874897-12-31', NULL,"
    " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
]


@pytest.fixture(scope="module")
def typed(lake):
    # the database's own time zone far from UTC: every value near the edges must still read right
    lake.sql(f"ALTER DATABASE {lake.info.dbname} SET timezone TO 'Pacific/Kiritimati'")
    lake.add_table(EDGE_DDL, "edge", ["id"])
    lake.add_table("CREATE TABLE notes (id int PRIMARY KEY, title text, body text)", "notes", ["id"])
    lake.sql("INSERT INTO edge VALUES " + ", ".join(ROWS[:3]))
    # a value large and random enough that PostgreSQL stores it out of line (TOAST), compressed or not
    lake.sql("INSERT INTO notes SELECT g, 'title ' || g, (SELECT string_agg(md5(random()::text || i), '') "
             "FROM generate_series(1, 400) i) FROM generate_series(1, 5) g")
    lake.run()
    lake.assert_silver_matches("edge", "notes")
    return lake


def test_edge_values_arrive_through_change_capture(typed):
    typed.sql("INSERT INTO edge VALUES " + ", ".join(ROWS[3:]),
              "UPDATE edge SET ratio = 'NaN', tstz = '-infinity', wide = -wide WHERE id = 1",
              "UPDATE edge SET d = '0001-01-01 BC', span = '-178000000 years' WHERE id = 2")
    typed.run()
    typed.assert_silver_matches("edge")


def test_an_update_that_leaves_a_large_value_alone_keeps_it(typed):
    """PostgreSQL does not write an unchanged out-of-line value to WAL; it is looked up by key, as DMS does."""
    typed.sql("UPDATE notes SET title = 'retitled' WHERE id <= 3",
              "UPDATE notes SET title = 'then deleted' WHERE id = 4", "DELETE FROM notes WHERE id = 4")
    typed.run()
    typed.assert_silver_matches("notes")
    typed.sql("ALTER TABLE notes REPLICA IDENTITY FULL", "UPDATE notes SET title = 'full identity' WHERE id = 5")
    typed.run()
    typed.assert_silver_matches("notes")


def test_a_source_that_stops_answering_fails_fast_and_names_it(typed, monkeypatch):
    monkeypatch.setenv(TIMEOUT_ENV, "3")
    pid = int((typed.paths.pg / "data" / "postmaster.pid").read_text().split()[0])
    typed.sql("UPDATE notes SET title = 'during the hang' WHERE id = 1")
    os.kill(pid, signal.SIGSTOP)
    started = time.monotonic()
    try:
        with pytest.raises(SourceUnresponsive, match=r"did not answer for 3 s"):
            typed.capture()
    finally:
        os.kill(pid, signal.SIGCONT)
    assert time.monotonic() - started < 20
    monkeypatch.delenv(TIMEOUT_ENV)
    typed.run()  # nothing lost: the change is captured once the source answers again
    typed.assert_silver_matches("notes")
