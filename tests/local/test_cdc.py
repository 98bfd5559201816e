"""The local DMS on a real PostgreSQL: DMS layout, and no lost or duplicated change across crashes."""

from __future__ import annotations

import re
from datetime import UTC
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from edp_dev import shop as source_db
from edp_dev.local import dms_format as dms
from edp_dev.local.cdc import LocalDms
from tests.conftest import source_connection

pytestmark = pytest.mark.integration  # a real PostgreSQL

KEYS = {"customers": "customer_id", "products": "product_id", "orders": "order_id", "order_items": "order_item_id"}


@pytest.fixture(scope="module")
def source(pg_home):
    paths, conn_info = pg_home
    conn = source_connection(conn_info)
    source_db.seed(conn, source_db.SeedSize(customers=40, products=10, orders=80), rng_seed=3)
    yield paths, conn_info, conn
    conn.close()


def make_dms(paths, conn_info):
    return LocalDms(conn_info, paths.bronze, "public", source_db.TABLES, source_db.PUBLICATION)


def replay(paths, table):
    """Current state rebuilt from Bronze by the DMS rules, in plain Python (an independent check)."""
    rows = []
    for f in dms.table_files(paths.bronze / "public" / table):
        rows += pq.read_table(f).to_pylist()
    state = {}
    for row in sorted(rows, key=lambda r: (r[dms.SEQ_COLUMN] or "", r[dms.TIMESTAMP_COLUMN])):
        key = row[KEYS[table]]
        if row.get(dms.OP_COLUMN) == "D":
            state.pop(key, None)
        else:
            state[key] = {k: v for k, v in row.items() if k not in (dms.OP_COLUMN, dms.TIMESTAMP_COLUMN, dms.SEQ_COLUMN)
                          and not k.startswith(dms.BEFORE_IMAGE_PREFIX)}
    return state


def in_postgres(conn, table):
    with conn.cursor() as cur:
        cur.execute("SET timezone = 'UTC'")
        cur.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cur.description]
        return {r[names.index(KEYS[table])]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def assert_bronze_matches(paths, conn):
    for table in source_db.TABLES:
        assert replay(paths, table) == in_postgres(conn, table), table


def test_full_load_then_cdc_in_dms_layout(source):
    paths, conn_info, conn = source
    first = make_dms(paths, conn_info).run()
    assert first.mode == "full_load" and first.rows["customers"] == 40
    load = pq.read_table(paths.bronze / "public" / "customers" / "LOAD00000001.parquet")
    assert dms.OP_COLUMN not in load.column_names
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", load.column(dms.TIMESTAMP_COLUMN)[0].as_py())
    assert load.schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert load.schema.field("customer_id").type == pa.int64()
    price = pq.read_table(paths.bronze / "public" / "products" / "LOAD00000001.parquet").schema.field("unit_price")
    assert price.type == pa.decimal128(10, 2)
    assert_bronze_matches(paths, conn)

    source_db.simulate(conn, inserts=15, updates=10, deletes=6, rng_seed=5)
    second = make_dms(paths, conn_info).run()
    assert second.mode == "cdc" and sum(second.rows.values()) > 0
    for rel in second.files:
        # DMS's date folders (DatePartitionEnabled, YYYYMMDD, SLASH), then the file named by its time
        found = re.fullmatch(r"public/\w+/(\d{4})/(\d\d)/(\d\d)/(\d{8})-\d{9}\.parquet", rel)
        assert found and "".join(found.groups()[:3]) == found.group(4), rel
        table = pq.read_table(paths.bronze / rel)
        assert table.column_names[0] == dms.OP_COLUMN
        assert set(table.column(dms.OP_COLUMN).to_pylist()) <= {"I", "U", "D"}
    ops = {op for rel in second.files for op in pq.read_table(paths.bronze / rel).column(dms.OP_COLUMN).to_pylist()}
    assert ops == {"I", "U", "D"}
    assert_bronze_matches(paths, conn)
    assert make_dms(paths, conn_info).run().files == []  # nothing new: nothing written


def test_crash_after_commit_point_neither_loses_nor_duplicates(source, monkeypatch):
    paths, conn_info, conn = source
    source_db.simulate(conn, inserts=8, updates=6, deletes=3, rng_seed=11)
    crashing = make_dms(paths, conn_info)
    publish = crashing._publish

    def crash_on_new_files(entry):
        if any((paths.bronze / (f + dms.IN_PROGRESS)).exists() for f in entry["files"]):
            raise OSError("power cut")
        publish(entry)

    monkeypatch.setattr(crashing, "_publish", crash_on_new_files)
    with pytest.raises(OSError, match="power cut"):
        crashing.run()
    assert list(paths.bronze.rglob("*" + dms.IN_PROGRESS)), "the crash left committed files unpublished"
    monkeypatch.undo()
    recovered = make_dms(paths, conn_info).run()
    assert recovered.files == [], "the committed batch was captured a second time"
    assert not list(paths.bronze.rglob("*" + dms.IN_PROGRESS))
    assert_bronze_matches(paths, conn)


def test_crash_before_commit_point_recaptures_the_batch_once(source, monkeypatch):
    paths, conn_info, conn = source
    source_db.simulate(conn, inserts=5, updates=5, deletes=2, rng_seed=13)
    crashing = make_dms(paths, conn_info)
    monkeypatch.setattr(crashing, "_commit", lambda entry: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        crashing.run()
    monkeypatch.undo()
    again = make_dms(paths, conn_info).run()
    assert again.files, "the uncommitted batch must be captured again"
    assert not list(paths.bronze.rglob("*" + dms.IN_PROGRESS))
    assert_bronze_matches(paths, conn)


def test_truncate_reloads_the_table_and_archives_its_bronze(source):
    """A TRUNCATE has no row changes: the batch reloads the table (DMS's table reload), the old Bronze
    generation of that table moves to the archive, and the other tables are untouched."""
    paths, conn_info, conn = source
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE scratch (id int primary key, v text)")
        cur.execute(f"ALTER PUBLICATION {source_db.PUBLICATION} ADD TABLE scratch")
        cur.execute("INSERT INTO scratch SELECT g, 'v' || g FROM generate_series(1, 5) g")
    conn.commit()
    tables = (*source_db.TABLES, "scratch")
    dms_task = LocalDms(conn_info, paths.bronze, "public", tables, source_db.PUBLICATION)
    assert dms_task.drop_slot() or True
    dms_task.run()  # a fresh load with scratch in it
    with conn.cursor() as cur:
        cur.execute("UPDATE scratch SET v = 'before' WHERE id = 1")
        cur.execute("TRUNCATE scratch")
        cur.execute("INSERT INTO scratch VALUES (9, 'after')")
    conn.commit()
    before = dms_task.run()
    assert "scratch" not in before.rows, "the truncated table's changes are in its reload, not in a change file"
    folder = paths.bronze / "public" / "scratch"
    names = sorted(str(p.relative_to(folder)) for p in dms.table_files(folder))
    assert names == ["LOAD00000001.parquet"]
    assert pq.read_table(paths.bronze / "public" / "scratch" / "LOAD00000001.parquet").column("id").to_pylist() == [9]
    assert list((paths.bronze / "_archive").rglob("scratch/LOAD00000001.parquet")), "archived, not deleted"
    with conn.cursor() as cur:
        cur.execute(f"ALTER PUBLICATION {source_db.PUBLICATION} DROP TABLE scratch")
        cur.execute("DROP TABLE scratch")
    conn.commit()
    assert_bronze_matches(paths, conn)


def test_value_conversion_and_names():
    assert dms.from_text("12.50", 1700, (10 << 16 | 2) + 4) == Decimal("12.50")
    assert dms.from_text("12.50", 1700) == "12.50", "unconstrained numeric is exact text (DMS: MapUnboundedNumericAsString)"
    assert dms.from_text("t", 16) is True
    assert dms.from_text(None, 23) is None
    assert dms.from_text("2026-11-23 02:00:00.5+00", 1184).isoformat() == "2026-11-23T02:00:00.500000+00:00"
    assert dms.arrow_type(1700, (10 << 16 | 2) + 4) == pa.decimal128(10, 2)
    assert dms.arrow_type(1700, -1) == pa.string()
    assert dms.load_file_name(3) == "LOAD00000003.parquet"
    from datetime import datetime

    moment = datetime(2026, 11, 23, 2, 0, 0, 123456, tzinfo=UTC)
    assert dms.cdc_file_name(moment) == "20261123-020000123.parquet"
    assert dms.format_timestamp(moment) == "2026-11-23 02:00:00.123456"
    assert dms.change_seq(0x10, 2) < dms.change_seq(0x10, 10) < dms.change_seq(0x11, 0)


def test_unseeded_source_is_named(pg_home):
    from edp.settings import ConfigError

    paths, conn_info = pg_home
    dms_task = LocalDms(conn_info, paths.bronze / "other", "public", ("customers",), "no_such_publication")
    with pytest.raises(ConfigError, match="has no publication 'no_such_publication'.*edp seed"):
        dms_task.run()
