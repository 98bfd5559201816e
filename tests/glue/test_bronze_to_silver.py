"""The Bronze->Silver merge as pure DataFrame functions, and the script's incremental I/O on real Spark."""

from __future__ import annotations

import json
import os
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from edp_dev.local import dms_format as dms
from edp_dev.local import iceberg
from edp_dev.local.glue import load_script

pytestmark = pytest.mark.integration  # a local Spark session

b2s = load_script("bronze_to_silver.py")
COLS = ["Op", "dms_timestamp", "dms_change_seq", "id", "name"]


def frame(spark, rows, with_op=True):
    columns = COLS if with_op else COLS[1:]
    return spark.createDataFrame([r if with_op else r[1:] for r in rows], schema=_schema(columns))


def _schema(columns):
    types = {"id": "bigint", "Op": "string", "dms_timestamp": "string", "dms_change_seq": "string", "name": "string"}
    return ", ".join(f"`{c}` {types[c]}" for c in columns)


def current(df):
    return sorted((r["id"], r["name"]) for r in df.collect())


def test_latest_change_wins_and_deletes_disappear(spark):
    changes = frame(spark, [
        ("I", "2026-01-01 00:00:00.000001", "A0", 1, "one"),
        ("U", "2026-01-01 00:00:00.000002", "A1", 1, "one-b"),
        ("I", "2026-01-01 00:00:00.000001", "A0", 2, "two"),
        ("D", "2026-01-01 00:00:00.000003", "A2", 2, None),
        ("I", "2026-01-01 00:00:00.000004", "A3", 3, "three"),
    ])
    assert current(b2s.apply_cdc(changes, ["id"])) == [(1, "one-b"), (3, "three")]


def test_sequence_orders_changes_within_the_same_timestamp(spark):
    ts = "2026-01-01 00:00:00.000001"
    changes = frame(spark, [("U", ts, "B2", 1, "last"), ("U", ts, "B1", 1, "middle"), ("I", ts, "B0", 1, "first")])
    assert current(b2s.apply_cdc(changes, ["id"])) == [(1, "last")]


def test_full_load_rows_have_no_op_and_sort_before_changes(spark):
    load = frame(spark, [("", "2026-01-02 00:00:00.000000", None, 1, "loaded"),
                         ("", "2026-01-02 00:00:00.000000", None, 2, "loaded")], with_op=False)
    # a change committed before the load's transfer time, but after its snapshot, must still win
    cdc = frame(spark, [("U", "2026-01-01 23:59:59.000000", "C0", 1, "changed"),
                        ("D", "2026-01-01 23:59:59.000000", "C1", 2, None)])
    merged = b2s.apply_cdc(load.unionByName(cdc, allowMissingColumns=True), ["id"])
    assert current(merged) == [(1, "changed")]


def test_merge_into_current_state_is_idempotent(spark):
    base = b2s.apply_cdc(frame(spark, [("I", "t1", "A0", 1, "one"), ("I", "t1", "A1", 2, "two")]), ["id"])
    batch = frame(spark, [("U", "t2", "A2", 1, "uno"), ("D", "t2", "A3", 2, None), ("I", "t2", "A4", 4, "four")])
    once = b2s.apply_cdc(batch, ["id"], current=base)
    twice = b2s.apply_cdc(batch, ["id"], current=once)
    assert current(once) == current(twice) == [(1, "uno"), (4, "four")]
    assert "Op" not in once.columns and "dms_change_seq" in once.columns


def test_deleted_key_can_come_back(spark):
    changes = frame(spark, [("I", "t1", "A0", 1, "a"), ("D", "t2", "A1", 1, None), ("I", "t3", "A2", 1, "again")])
    assert current(b2s.apply_cdc(changes, ["id"])) == [(1, "again")]


def test_a_key_update_deletes_the_old_key(spark):
    """DMS writes a primary-key update as one U row under the new key, with the old key in `BI_<key>`."""
    schema = "`Op` string, `dms_timestamp` string, `dms_change_seq` string, `id` bigint, `name` string, `BI_id` bigint"
    changes = spark.createDataFrame([("I", "t1", "A0", 1, "one", None), ("I", "t1", "A1", 2, "two", None),
                                     ("U", "t2", "A2", 5, "one", 1), ("U", "t3", "A3", 2, "two-b", 2)], schema=schema)
    merged = b2s.apply_cdc(changes, ["id"])
    assert current(merged) == [(2, "two-b"), (5, "one")]
    assert "BI_id" not in merged.columns
    # the old key taken again later is a new row, not the moved one
    again = spark.createDataFrame([("I", "t4", "A4", 1, "new-one", None)], schema=schema)
    assert current(b2s.apply_cdc(again, ["id"], current=merged)) == [(1, "new-one"), (2, "two-b"), (5, "one")]


def test_a_tombstone_keeps_an_older_change_delivered_again_from_bringing_a_row_back(spark):
    first = frame(spark, [("I", "t1", "A1", 1, "one"), ("I", "t1", "A2", 2, "two"), ("D", "t2", "A3", 2, None)])
    latest = b2s.latest_changes(first, ["id"])
    silver, tombstones = latest.where("Op != 'D'").drop("Op"), b2s.deleted_keys(latest, ["id"])
    assert [r["id"] for r in tombstones.collect()] == [2]
    redelivered = frame(spark, [("I", "t1", "A2", 2, "two")])  # the file with key 2's insert, once more
    assert current(b2s.apply_cdc(redelivered, ["id"], current=silver, tombstones=tombstones)) == [(1, "one")]
    assert current(b2s.apply_cdc(redelivered, ["id"], current=silver)) == [(1, "one"), (2, "two")], \
        "without the tombstone the row would come back"


def test_a_tombstone_keeps_the_deleted_rows_last_values(spark):
    """A PostgreSQL delete carries the key only; the tombstone keeps the row's last values (from the same batch,
    from Silver, or from the tombstone already kept), which is how Gold finds the date a deleted order counted on."""
    silver = frame(spark, [("I", "t0", "A0", 1, "one"), ("I", "t0", "A0", 3, "three")], with_op=True).drop("Op")
    batch = frame(spark, [("I", "t1", "A1", 2, "two"), ("U", "t1", "A2", 2, "two-b"), ("D", "t2", "A3", 2, None),
                          ("D", "t2", "A4", 1, None)])
    latest = b2s.latest_changes(batch, ["id"], current=silver)
    images = b2s.last_images(batch, ["id"], current=silver)
    tombstones = b2s.deleted_keys(latest, ["id"], images=images)
    assert sorted((r["id"], r["name"], r["dms_change_seq"]) for r in tombstones.collect()) == \
        [(1, "one", "A4"), (2, "two-b", "A3")]
    # an older change of a deleted key delivered again: the image stays the one the tombstone has
    again = frame(spark, [("I", "t1", "A1", 2, "two")])
    kept = b2s.last_images(again, ["id"], tombstones=tombstones)
    assert sorted((r["id"], r["name"]) for r in kept.collect()) == [(1, "one"), (2, "two-b")]


def test_missing_primary_key_is_named(spark):
    with pytest.raises(ValueError, match="primary key column"):
        b2s.apply_cdc(frame(spark, [("I", "t", "A", 1, "x")]), ["customer_id"])


def test_defaults_match_the_dms_writer():
    assert b2s.DEFAULTS == {"op_column": dms.OP_COLUMN, "timestamp_column": dms.TIMESTAMP_COLUMN,
                            "seq_column": dms.SEQ_COLUMN}


def test_the_platform_knows_the_tombstones_tables():
    from edp import assets

    assert assets.TOMBSTONES_PREFIX == b2s.TOMBSTONES_PREFIX


def test_arguments_are_checked():
    with pytest.raises(SystemExit, match="missing argument"):
        b2s.parse_args(["x", "--table", "t"])
    with pytest.raises(SystemExit, match="--name value pairs"):
        b2s.parse_args(["x", "table", "t"])


def _argv(bronze, silver, **extra):
    """The script's Glue-style arguments for table `things` of schema `public`."""
    args = {"JOB_NAME": "t", "bronze_path": bronze.as_uri(), "silver_path": silver.as_uri(), "schema": "public",
            "table": "things", "primary_key": "id", **extra}
    return ["s"] + [x for k, v in args.items() for x in (f"--{k}", v)]


def _write_bronze(root, name, rows, cdc):
    schema = dms.bronze_schema([("id", pa.int64()), ("name", pa.string())], cdc=cdc)
    path = root / "public" / "things" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(dms.build_table(schema, rows), path)


def test_script_is_incremental_and_rebuilds_on_a_new_load(spark, tmp_path):
    bronze, silver = tmp_path / "bronze", tmp_path / "silver"
    argv = _argv(bronze, silver, compact_delete_ratio="1")  # never compacts: the commits counted below are the merges
    ts = "2026-01-01 00:00:00.000000"
    _write_bronze(bronze, "LOAD00000001.parquet", [{"dms_timestamp": ts, "id": i, "name": f"n{i}"} for i in (1, 2, 3)],
                  cdc=False)
    first = b2s.main(argv, spark=spark)
    assert first["mode"] == "rebuild" and first["silver_rows"] == 3
    _write_bronze(bronze, "2026/01/01/20260101-000000001.parquet", [{"Op": "D", "dms_timestamp": ts, "dms_change_seq": "S1", "id": 2},
                                                        {"Op": "I", "dms_timestamp": ts, "dms_change_seq": "S2", "id": 9,
                                                         "name": "n9"}], cdc=True)
    second = b2s.main(argv, spark=spark)
    assert second["mode"] == "merge" and second["new_files"] == 1 and second["rows_in"] == 2
    assert second["silver_rows"] == 3
    again = b2s.main(argv, spark=spark)
    assert again["mode"] == "noop" and again["new_files"] == 0 and again["silver_rows"] == 3
    assert sorted(iceberg.read(silver / "things")["id"].to_pylist()) == [1, 3, 9]
    bookmark = json.loads((silver / "_bookmarks" / "things.json").read_text())
    assert sorted(bookmark["root"]) == ["LOAD00000001.parquet"]
    assert sorted(bookmark["recent"]) == ["2026/01/01/20260101-000000001.parquet"]
    assert bookmark["high_water_mark"] == "2026/01/01"
    # the deleted key is a tombstone: the delete delivered again, or an older insert of it, changes nothing
    assert iceberg.read(silver / "_tombstones_things")["id"].to_pylist() == [2]
    # every write is one Iceberg commit: the load, then the merge (the no-op run commits nothing)
    assert len(spark.sql(f"SELECT * FROM {_table(spark, silver, 'things')}.snapshots").collect()) == 2
    # a change file with a new column merges into the touched key only, and Silver's schema gains the column
    schema = dms.bronze_schema([("id", pa.int64()), ("name", pa.string()), ("size", pa.int32())], cdc=True)
    pq.write_table(dms.build_table(schema, [{"Op": "U", "dms_timestamp": ts, "dms_change_seq": "S3", "id": 3,
                                             "name": "n3b", "size": 7}]),
                   bronze / "public" / "things" / "2026" / "01" / "01" / "20260101-000000002.parquet")
    assert b2s.main(argv, spark=spark)["mode"] == "merge"
    assert sorted(iceberg.read(silver / "things").select(["id", "name", "size"]).to_pylist(), key=lambda r: r["id"]) \
        == [{"id": 1, "name": "n1", "size": None}, {"id": 3, "name": "n3b", "size": 7},
            {"id": 9, "name": "n9", "size": None}]
    # a reload rewrites the load file in place (DMS does): Silver is rebuilt from it alone, the older changes
    # and the tombstones belong to the previous generation
    time.sleep(0.01)
    _write_bronze(bronze, "LOAD00000001.parquet", [{"dms_timestamp": ts, "id": i, "name": f"r{i}"} for i in (2, 4)],
                  cdc=False)
    os.utime(bronze / "public" / "things" / "LOAD00000001.parquet")
    reloaded = b2s.main(argv, spark=spark)
    assert reloaded["mode"] == "rebuild" and reloaded["silver_rows"] == 2
    assert sorted(iceberg.read(silver / "things").select(["id", "name"]).to_pylist(), key=lambda r: r["id"]) == [
        {"id": 2, "name": "r2"}, {"id": 4, "name": "r4"}]
    assert iceberg.read(silver / "_tombstones_things").num_rows == 0


def test_a_run_lists_only_the_latest_date_folders(spark, tmp_path):
    """The high-water mark: after a month of change folders, a run lists the root and the latest two folders,
    finds a file that landed one folder late, and its bookmark holds two folders' files, not the history."""
    bronze, silver = tmp_path / "bronze", tmp_path / "silver"
    argv = _argv(bronze, silver)
    ts = "2026-01-01 00:00:00.000000"
    _write_bronze(bronze, "LOAD00000001.parquet", [{"dms_timestamp": ts, "id": 0, "name": "n0"}], cdc=False)
    for day in range(1, 31):  # one insert per day, in its date folder
        _write_bronze(bronze, f"2026/01/{day:02d}/202601{day:02d}-000000000.parquet",
                      [{"Op": "I", "dms_timestamp": ts, "dms_change_seq": f"S{day:04d}", "id": day, "name": f"n{day}"}],
                      cdc=True)
    first = b2s.main(argv, spark=spark)
    assert first["mode"] == "rebuild" and first["silver_rows"] == 31 and first["listed_files"] == 31
    _write_bronze(bronze, "2026/02/01/20260201-000000000.parquet",
                  [{"Op": "U", "dms_timestamp": ts, "dms_change_seq": "S0100", "id": 5, "name": "n5b"}], cdc=True)
    _write_bronze(bronze, "2026/01/30/20260130-235959999.parquet",  # late, in the previous folder
                  [{"Op": "D", "dms_timestamp": ts, "dms_change_seq": "S0099", "id": 7}], cdc=True)
    second = b2s.main(argv, spark=spark)
    # the load file and the folders from the older of the two the mark keeps (2026/01/29) on: 01/29, the two
    # files of 01/30 and the one of 02/01, not the 28 older folders
    assert second["mode"] == "merge" and second["new_files"] == 2 and second["listed_files"] == 5
    rows = {r["id"]: r["name"] for r in iceberg.read(silver / "things").to_pylist()}
    assert len(rows) == 30 and rows[5] == "n5b" and 7 not in rows
    bookmark = json.loads((silver / "_bookmarks" / "things.json").read_text())
    assert sorted(bookmark["recent"]) == ["2026/01/30/20260130-000000000.parquet",
                                          "2026/01/30/20260130-235959999.parquet",
                                          "2026/02/01/20260201-000000000.parquet"]
    assert b2s.main(argv, spark=spark)["mode"] == "noop"


def test_a_flat_bookmark_carries_over(spark, tmp_path):
    """A bookmark written before date folders (`files`: every file at the root) is read as the root's files:
    nothing merged is merged again as new, and the next run writes the high-water mark."""
    bronze, silver = tmp_path / "bronze", tmp_path / "silver"
    argv = _argv(bronze, silver)
    ts = "2026-01-01 00:00:00.000000"
    _write_bronze(bronze, "LOAD00000001.parquet", [{"dms_timestamp": ts, "id": 1, "name": "n1"}], cdc=False)
    assert b2s.main(argv, spark=spark)["mode"] == "rebuild"
    path = silver / "_bookmarks" / "things.json"
    mark = json.loads(path.read_text())
    path.write_text(json.dumps({"files": mark["root"], "updated_at": 0}))
    path.with_name(f".{path.name}.crc").unlink(missing_ok=True)  # Hadoop's local checksum of the old text
    assert b2s.main(argv, spark=spark)["mode"] == "noop"
    _write_bronze(bronze, "2026/01/02/20260102-000000000.parquet",
                  [{"Op": "I", "dms_timestamp": ts, "dms_change_seq": "S1", "id": 2, "name": "n2"}], cdc=True)
    assert b2s.main(argv, spark=spark)["mode"] == "merge"
    assert json.loads(path.read_text())["high_water_mark"] == "2026/01/02"


def test_old_snapshots_expire_and_their_files_go(spark, tmp_path):
    """Each merge commits a snapshot; with a retention of 0 hours only the last `snapshots_retained` stay, and
    the data files only expired snapshots used are deleted, so the table's storage does not grow with runs."""
    bronze, silver = tmp_path / "bronze", tmp_path / "silver"
    argv = _argv(bronze, silver, snapshot_retention_hours="0", snapshots_retained="2")
    ts = "2026-01-01 00:00:00.000000"
    _write_bronze(bronze, "LOAD00000001.parquet", [{"dms_timestamp": ts, "id": 1, "name": "n1"}], cdc=False)
    b2s.main(argv, spark=spark)
    expired = 0
    for n in range(2, 6):
        _write_bronze(bronze, f"2026/01/0{n}/2026010{n}-000000000.parquet",
                      [{"Op": "U", "dms_timestamp": ts, "dms_change_seq": f"S{n}", "id": 1, "name": f"v{n}"}], cdc=True)
        expired += b2s.main(argv, spark=spark)["expired_files"]
    snapshots = spark.sql(f"SELECT * FROM {_table(spark, silver, 'things')}.snapshots").collect()
    assert len(snapshots) == 2 and expired >= 3
    assert iceberg.read(silver / "things").to_pylist()[0]["name"] == "v5"
    live = {r["file_path"] for r in spark.sql(f"SELECT file_path FROM {_table(spark, silver, 'things')}.all_files")
            .collect()}
    on_disk = {p.as_uri() for p in (silver / "things" / "data").rglob("*.parquet")}
    assert {u.replace("file:///", "file:/") for u in on_disk} == {u.replace("file:///", "file:/") for u in live}
    # with the default retention (168 h) nothing is old enough: the merge looks at the snapshots' times and skips
    # the procedure, which would read every manifest to expire nothing
    _write_bronze(bronze, "2026/01/06/20260106-000000000.parquet",
                  [{"Op": "U", "dms_timestamp": ts, "dms_change_seq": "S6", "id": 1, "name": "v6"}], cdc=True)
    recorded = RecordedSql(spark)
    assert b2s.main(_argv(bronze, silver), spark=recorded)["expired_files"] == 0
    assert any(".snapshots" in text for text in recorded.statements)
    assert not [text for text in recorded.statements if "expire_snapshots" in text]
    kept = {r["snapshot_id"] for r in spark.sql(f"SELECT snapshot_id FROM {_table(spark, silver, 'things')}.snapshots")
            .collect()}
    assert {r["snapshot_id"] for r in snapshots} < kept, "every snapshot stays, and the merge added its own"
    with pytest.raises(ValueError, match="--snapshots_retained"):
        b2s.main(argv[:-1] + ["0"], spark=spark)


class RecordedSql:
    """A Spark session that keeps the text of every `sql()` statement it is given (the rest is the session's)."""

    def __init__(self, spark):
        self._spark, self.statements = spark, []

    def sql(self, text, *args, **kwargs):
        self.statements.append(text)
        return self._spark.sql(text, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._spark, name)


def test_a_merge_writes_only_the_changes_and_compaction_applies_the_deletes(spark, tmp_path):
    """Merge-on-read: a merge leaves every data file of the table as it was and adds the new row versions and
    a position-delete file; every reader (Spark, pyiceberg, the DuckDB views dbt reads) skips the rows it
    names. Once the deleted rows pass `--compact_delete_ratio`, the data files are rewritten without them."""
    import duckdb

    bronze, silver = tmp_path / "bronze", tmp_path / "silver"
    argv = _argv(bronze, silver, compact_delete_ratio="0.2")
    ts = "2026-01-01 00:00:00.000000"
    for part in range(4):  # four load files: the rebuild writes several data files
        _write_bronze(bronze, f"LOAD0000000{part + 1}.parquet",
                      [{"dms_timestamp": ts, "id": i, "name": f"n{i}"} for i in range(part * 25, part * 25 + 25)],
                      cdc=False)
    assert b2s.main(argv, spark=spark)["silver_rows"] == 100
    before = iceberg.snapshot_files(silver / "things")

    def change(n, rows):
        _write_bronze(bronze, f"2026/01/01/20260101-00000000{n}.parquet",
                      [{"dms_timestamp": ts, "dms_change_seq": f"S{n}{i}", **row} for i, row in enumerate(rows)],
                      cdc=True)
        return b2s.main(argv, spark=spark)

    merged = change(1, [{"Op": "U", "id": 7, "name": "v7"}, {"Op": "D", "id": 42}, {"Op": "I", "id": 100, "name": "n100"}])
    assert merged["mode"] == "merge" and merged["compacted"] == 0 and merged["silver_rows"] == 100
    after = iceberg.snapshot_files(silver / "things")
    assert set(before.data) < set(after.data), "no data file is rewritten: the merge only adds files"
    assert set(after.data) - set(before.data) and sum(map(len, after.deletes.values())) >= 1
    expected = {i: f"n{i}" for i in range(101) if i != 42} | {7: "v7"}
    assert {r["id"]: r["name"] for r in iceberg.read(silver / "things").to_pylist()} == expected
    con = duckdb.connect()
    query = iceberg.duckdb_select(after, ["id", "name"])
    assert dict(con.execute(query).fetchall()) == expected
    assert iceberg.row_count(silver / "things") == 100

    # 25 more rows replaced: 27 of 127 rows deleted, above 0.2 of them: the table is rewritten without them
    compacted = change(2, [{"Op": "U", "id": i, "name": f"w{i}"} for i in range(50, 75)])
    assert compacted["compacted"] == 1 and compacted["silver_rows"] == 100
    final = iceberg.snapshot_files(silver / "things")
    assert final.deletes == {} and not set(final.data) & set(after.data)
    expected |= {i: f"w{i}" for i in range(50, 75)}
    assert dict(con.execute(iceberg.duckdb_select(final, ["id", "name"])).fetchall()) == expected
    assert iceberg.row_count(silver / "things") == 100
    with pytest.raises(ValueError, match="--compact_delete_ratio"):
        b2s.main(_argv(bronze, silver, compact_delete_ratio="0"), spark=spark)


def _table(spark, silver, name):
    catalog, namespace = b2s.silver_catalog(spark, silver.as_uri())
    return f"{catalog}.{namespace}.{name}"


def test_glue_argument_path_asks_only_for_given_optionals(monkeypatch):
    """On Glue, getResolvedOptions fails on any name it is asked for but not given; we ask only for those given."""
    import sys
    import types

    asked = {}

    def get_resolved_options(argv, names):
        asked["names"] = names
        pairs = dict(zip(argv[1::2], argv[2::2], strict=False))
        return {n: pairs[f"--{n}"] for n in names}

    fake = types.ModuleType("awsglue.utils")
    fake.getResolvedOptions = get_resolved_options
    monkeypatch.setitem(sys.modules, "awsglue", types.ModuleType("awsglue"))
    monkeypatch.setitem(sys.modules, "awsglue.utils", fake)
    argv = ["s", "--JOB_NAME", "j", "--bronze_path", "b", "--silver_path", "s", "--schema", "public",
            "--table", "t", "--primary_key", "id", "--seq_column", "seq"]
    opts = b2s.parse_args(argv)
    assert asked["names"] == [*b2s.REQUIRED, "seq_column"]
    assert opts["seq_column"] == "seq" and opts["op_column"] == "Op"
