"""Bronze -> Silver: merge DMS full-load and CDC parquet into the current state of one source table.

One script for AWS Glue and for local PySpark, unchanged.  Three layers:

* pure DataFrame functions (`with_op`, `apply_cdc`) that the unit tests call;
* one I/O layer (`BronzeToSilver`) that lists and reads Bronze through Hadoop's
  FileSystem API (`s3://` on Glue, `file://` here) and writes Silver as Apache
  Iceberg tables (the Glue Data Catalog on Glue, a path catalog here);
* a thin `main` that reads Glue-style `--name value` arguments (with
  `awsglue.utils.getResolvedOptions` when it is importable).

Incremental: DMS writes change files under date folders (`DatePartitionEnabled`,
`<table>/YYYY/MM/DD/<time>.parquet`, the load files at the table's root), and a
bookmark beside the Silver data keeps a high-water mark: the files merged in the
latest two date folders, with their size and modification time.  A run lists the
table's root and only the date folders from the older of those two on, so its
listing and its bookmark stay the size of a day's changes however long the table's
history grows (a change file that lands one folder late is still found).  A new or
rewritten full-load (`LOAD*`) file means the source was reloaded (DMS rewrites the
load files in place), so Silver is replaced from the load files and the changes
written after them.  Otherwise the changes are merged
(MERGE INTO) into the rows of the keys they touch.  Deleted keys are kept in a
tombstones table, so a change delivered again or out of order cannot bring back
a row deleted since; a tombstone keeps the deleted row's last values, so Gold can
tell what the row counted for.  An update that moved a row to a new key carries the old key
as its before image (`BI_<key>`) and deletes it.  Files of different schemas (a
column added or widened mid-stream) are read together with their columns merged,
and Silver's schema evolves to match.  Every write to a table is one Iceberg
commit, so no reader sees part of one; the bookmark is written last: re-running
after any crash merges the same changes again, which the merge absorbs (it is
idempotent), so no change is lost or applied twice.
"""

from __future__ import annotations

import hashlib
import json
import operator
import sys
import time
import uuid
from datetime import UTC, datetime
from functools import reduce

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, DecimalType

DEFAULTS = {
    "op_column": "Op",
    "timestamp_column": "dms_timestamp",
    "seq_column": "dms_change_seq",
}
REQUIRED = ("JOB_NAME", "bronze_path", "silver_path", "schema", "table", "primary_key")
# Silver's Iceberg catalog and database on Glue (see silver_catalog), and how long old snapshots are kept
RETENTION = {"snapshot_retention_hours": "168", "snapshots_retained": "5"}
# Compaction: once the rows a table's position deletes hide pass this share of its rows, its data files are
# rewritten with the deletes applied (see BronzeToSilver._compact)
COMPACTION = {"compact_delete_ratio": "0.1"}
OPTIONAL = ("catalog", "namespace", *RETENTION, *COMPACTION)
# Merges write the changes only (merge-on-read): a MERGE INTO adds the new row versions as new data files and
# names the rows they replace in position-delete files, instead of rewriting every data file a changed key
# lives in (copy-on-write, which rewrites most of an unpartitioned table for a batch of scattered keys)
MERGE_ON_READ = {f"write.{op}.mode": "merge-on-read" for op in ("delete", "update", "merge")}
BEFORE_IMAGE_PREFIX = "BI_"  # DMS's add-before-image-columns rule (pk-only) on CDC rows
_ROW_NUMBER = "__edp_rank"


# -- pure transformations ---------------------------------------------------------------------
def with_op(df: DataFrame, op_column: str = DEFAULTS["op_column"]) -> DataFrame:
    """Full-load rows carry no Op column; they are inserts."""
    if op_column in df.columns:
        return df.withColumn(op_column, F.coalesce(F.col(op_column), F.lit("I")))
    return df.withColumn(op_column, F.lit("I"))


def key_moves(rows: DataFrame, primary_key: list[str], op_column: str = DEFAULTS["op_column"]) -> DataFrame:
    """An update whose before image (`BI_<key>`) differs from its key moved the row to a new key: add a delete
    of the old key in the same position of the change order. Rows without before-image columns pass as is."""
    before = [BEFORE_IMAGE_PREFIX + k for k in primary_key]
    if not set(before) <= set(rows.columns):
        return rows
    pairs = list(zip(before, primary_key, strict=True))
    has_before = reduce(operator.or_, [F.col(b).isNotNull() for b in before])
    same_key = reduce(operator.and_, [F.col(b).eqNullSafe(F.col(k)) for b, k in pairs])
    moved = rows.where((F.col(op_column) == "U") & has_before & ~same_key)
    deletes = moved.select(*[F.col(b).alias(k) for b, k in zip(before, primary_key, strict=True)],
                           *[c for c in rows.columns if c not in primary_key and c not in before]
                           ).withColumn(op_column, F.lit("D"))
    return rows.unionByName(deletes, allowMissingColumns=True).drop(*before)


def latest_changes(
    changes: DataFrame,
    primary_key: list[str],
    current: DataFrame | None = None,
    tombstones: DataFrame | None = None,
    op_column: str = DEFAULTS["op_column"],
    timestamp_column: str = DEFAULTS["timestamp_column"],
    seq_column: str = DEFAULTS["seq_column"],
) -> DataFrame:
    """The latest change per key, deletes included (with their `op_column`).

    Changes are ordered by the change sequence (commit order; a full load has
    none and sorts first), then by the DMS timestamp.  `current` is an earlier
    Silver state and `tombstones` the keys deleted before it, both carrying
    the sequence of their last change, so merging a batch twice, or a batch
    older than what is merged, gives the same result as merging it once.
    """
    missing = [k for k in primary_key if k not in changes.columns]
    if missing:
        raise ValueError(f"primary key column(s) {', '.join(missing)} not in Bronze columns {changes.columns}")
    rows = key_moves(with_op(changes, op_column), primary_key, op_column)
    for earlier, op in ((current, None), (tombstones, "D")):
        if earlier is not None:
            earlier = with_op(earlier, op_column) if op is None else earlier.withColumn(op_column, F.lit(op))
            rows = rows.unionByName(earlier, allowMissingColumns=True)
    return _latest_per_key(rows, primary_key, timestamp_column, seq_column)


def _latest_per_key(rows: DataFrame, primary_key: list[str], timestamp_column: str, seq_column: str) -> DataFrame:
    """Each key's latest row: by change sequence (commit order; none, a full load, sorts first), then timestamp."""
    order = [F.col(seq_column).desc_nulls_last(), F.col(timestamp_column).desc_nulls_last()]
    return (rows.withColumn(_ROW_NUMBER, F.row_number().over(Window.partitionBy(*primary_key).orderBy(*order)))
            .where(F.col(_ROW_NUMBER) == 1).drop(_ROW_NUMBER))


def apply_cdc(
    changes: DataFrame,
    primary_key: list[str],
    current: DataFrame | None = None,
    op_column: str = DEFAULTS["op_column"],
    timestamp_column: str = DEFAULTS["timestamp_column"],
    seq_column: str = DEFAULTS["seq_column"],
    tombstones: DataFrame | None = None,
) -> DataFrame:
    """Current state per key: the latest change wins, and a key whose latest change is a delete is gone."""
    latest = latest_changes(changes, primary_key, current, tombstones, op_column, timestamp_column, seq_column)
    return latest.where(F.col(op_column) != "D").drop(op_column)


def last_images(
    changes: DataFrame,
    primary_key: list[str],
    current: DataFrame | None = None,
    tombstones: DataFrame | None = None,
    op_column: str = DEFAULTS["op_column"],
    timestamp_column: str = DEFAULTS["timestamp_column"],
    seq_column: str = DEFAULTS["seq_column"],
) -> DataFrame:
    """Each key's last row before any delete: its latest insert or update among the changes, its current row, or
    the image its tombstone already keeps. A PostgreSQL delete carries the key only, so this is what tells Gold
    which order date a deleted order counted on, or which order a deleted item belonged to."""
    rows = key_moves(with_op(changes, op_column), primary_key, op_column).where(F.col(op_column) != "D")
    for earlier in (current, tombstones):
        if earlier is not None:
            rows = rows.unionByName(with_op(earlier.drop(op_column) if op_column in earlier.columns else earlier,
                                            op_column), allowMissingColumns=True)
    return _latest_per_key(rows, primary_key, timestamp_column, seq_column).drop(op_column, seq_column,
                                                                                 timestamp_column)


def deleted_keys(latest: DataFrame, primary_key: list[str], op_column: str = DEFAULTS["op_column"],
                 timestamp_column: str = DEFAULTS["timestamp_column"],
                 seq_column: str = DEFAULTS["seq_column"], images: DataFrame | None = None) -> DataFrame:
    """The tombstones of a merge: keys whose latest change is a delete, with that change's order, and (given
    `images`, from `last_images`) the deleted row's last values."""
    deleted = latest.where(F.col(op_column) == "D").select(*primary_key, seq_column, timestamp_column)
    return deleted if images is None else deleted.join(images, primary_key, "left")


# -- I/O -----------------------------------------------------------------------------------------
ICEBERG = "org.apache.iceberg.spark.SparkCatalog"
TOMBSTONES_PREFIX = "_tombstones_"  # a table's tombstones table; the leading underscore hides it from listings


def silver_catalog(spark: SparkSession, silver_root: str, catalog: str = "", namespace: str = "") -> tuple[str, str]:
    """The Iceberg catalog and namespace of Silver's tables. On Glue the job's `--conf` configures the Glue
    Data Catalog and `--catalog`/`--namespace` name it and Silver's database. Without them, Silver's folder is
    a path (hadoop) catalog: the warehouse is its parent and the namespace its name, so table `t` lives in
    `<silver_path>/t`; the commit there is the atomic creation of the table's next `vN.metadata.json`."""
    if catalog:
        return catalog, namespace or silver_root.rsplit("/", 1)[-1]
    warehouse, _, name = silver_root.rpartition("/")
    catalog = "edp_" + hashlib.sha1(warehouse.encode()).hexdigest()[:12]
    key = f"spark.sql.catalog.{catalog}"
    if spark.conf.get(key, None) is None:
        spark.conf.set(key, ICEBERG)
        spark.conf.set(f"{key}.type", "hadoop")
        spark.conf.set(f"{key}.warehouse", warehouse)
    return catalog, namespace or name


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class BronzeToSilver:
    """Reads new Bronze files of one table and commits them to its Silver Iceberg table.

    Every change to Silver is one Iceberg commit: readers see the snapshot before it or after it, never a
    part. The tombstones table commits first, Silver second and the bookmark last; a crash between any two
    leaves a state that re-merging the same files turns into the same result (the merge is idempotent)."""

    def __init__(self, spark: SparkSession, options: dict[str, str]):
        self.spark = spark
        self.opts = {**DEFAULTS, **options}
        self.table = self.opts["table"]
        self.keys = [k.strip() for k in self.opts["primary_key"].split(",") if k.strip()]
        self.bronze_dir = f"{self.opts['bronze_path'].rstrip('/')}/{self.opts['schema']}/{self.table}"
        silver_root = self.opts["silver_path"].rstrip("/")
        catalog, namespace = silver_catalog(spark, silver_root, self.opts.get("catalog", ""),
                                            self.opts.get("namespace", ""))
        self.catalog, self.namespace = catalog, namespace
        self.retention = _retention(self.opts)
        self.compact_ratio = _compact_ratio(self.opts)
        self.silver = f"{_q(catalog)}.{_q(namespace)}.{_q(self.table)}"
        self.tombstones = f"{_q(catalog)}.{_q(namespace)}.{_q(TOMBSTONES_PREFIX + self.table)}"
        self.bookmark = f"{silver_root}/_bookmarks/{self.table}.json"
        jvm = spark.sparkContext._jvm
        self._Path = jvm.org.apache.hadoop.fs.Path
        self.fs = self._Path(silver_root).getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())

    def run(self) -> dict:
        started = time.monotonic()
        mark = self._read_bookmark()
        root, dated = self._list_bronze(since=min(_folders(mark["recent"]), default=None))
        new = sorted([n for n, identity in root.items() if mark["root"].get(n) != identity]
                     + [n for n, identity in dated.items() if mark["recent"].get(n) != identity])
        result = {"table": self.table, "new_files": len(new), "mode": "noop", "rows_in": 0,
                  "listed_files": len(root) + len(dated)}
        if new:
            rebuild = any(_is_load(n) for n in new) or not self._table_exists(self.silver)
            if rebuild:  # the whole current generation: list every date folder once
                root, dated = self._list_bronze(since=None)
                result["listed_files"] = len(root) + len(dated)
            changes = self._read(self._generation({**root, **dated}) if rebuild else new)
            if rebuild:
                self._rebuild(changes)
            else:
                self._merge(changes)
            self._write_bookmark(_next_mark(mark, root, dated))
            result.update(mode="rebuild" if rebuild else "merge", rows_in=changes.count(),
                          compacted=self._compact(), expired_files=self._expire_snapshots())
        result["silver_rows"] = self._row_count() if self._table_exists(self.silver) else 0
        result["seconds"] = round(time.monotonic() - started, 3)
        return result

    def _row_count(self) -> int:
        """Silver's rows from its current snapshot's summary (Iceberg keeps the totals with each commit), so a run
        with nothing new reads metadata only, not the table: the data files' rows less those their position
        deletes hide."""
        summary = self._summary(self.silver)
        if "total-records" not in summary:
            return self.spark.table(self.silver).count()
        return int(summary["total-records"]) - int(summary.get("total-position-deletes") or 0)

    def _summary(self, table: str) -> dict[str, str]:
        """The current snapshot's summary (the one the main branch points at; a compaction commits twice)."""
        found = self.spark.sql(f"SELECT s.summary FROM {table}.snapshots s JOIN {table}.refs r "
                               "ON s.snapshot_id = r.snapshot_id WHERE r.name = 'main'").collect()
        return dict(found[0]["summary"] or {}) if found else {}

    def _compact(self) -> int:
        """Rewrites a table's data files with its deletes applied once the rows they hide pass
        `--compact_delete_ratio` of its rows (default 0.1); returns the number of tables compacted. Merges then
        stay in proportion to the changes, and readers never apply more than that share of deleted rows: at 1 %
        changed a night, one run in about ten rewrites the table. Two commits of its own after the merge's: the
        data files rewritten, then the delete files dropped (each names rows of files no longer live; Iceberg's
        `remove-dangling-deletes` left them in place here). A crash in either leaves a whole snapshot current."""
        compacted = 0
        for name, table in self._existing_tables():
            summary = self._summary(table)
            records, deleted = (int(summary.get(k) or 0) for k in ("total-records", "total-position-deletes"))
            if deleted and deleted > self.compact_ratio * records:
                for procedure in ("rewrite_data_files", "rewrite_position_delete_files"):
                    self.spark.sql(f"CALL {_q(self.catalog)}.system.{procedure}(table => '{self.namespace}.{name}', "
                                   "options => map('rewrite-all', 'true'))").collect()
                compacted += 1
        return compacted

    def _existing_tables(self) -> list[tuple[str, str]]:
        """(name, qualified name) of Silver's table and its tombstones table, those that exist."""
        names = ((name, f"{_q(self.catalog)}.{_q(self.namespace)}.{_q(name)}")
                 for name in (self.table, TOMBSTONES_PREFIX + self.table))
        return [(name, table) for name, table in names if self._table_exists(table)]

    def _expire_snapshots(self) -> int:
        """Old snapshots go, and the files only they used (a compaction or a rebuild replaces data files and the
        deletes on them), so storage stays the size of the table rather than of its history. Snapshots younger than
        `--snapshot_retention_hours` and the last `--snapshots_retained` stay: a query that started on one of
        them finishes, and a crashed commit always has its predecessor. Runs after the bookmark is written:
        a crash here loses nothing, the next commit expires again."""
        hours, keep = self.retention
        # to the microsecond: a cut-off cut to the second kept the snapshots committed earlier in that second
        older_than = datetime.fromtimestamp(time.time() - hours * 3600, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        expired = 0
        for name, table in self._existing_tables():
            # the procedure reads every manifest of the table even when nothing is old enough to go (0.4 s a
            # table here); a snapshot older than the cut-off is the only thing it can expire, so look first
            if not self.spark.sql(f"SELECT 1 FROM {table}.snapshots WHERE committed_at < TIMESTAMP '{older_than}' "
                                  "LIMIT 1").collect():
                continue
            row = self.spark.sql(
                f"CALL {_q(self.catalog)}.system.expire_snapshots(table => '{self.namespace}.{name}', "
                f"older_than => TIMESTAMP '{older_than}', retain_last => {keep})").collect()[0]
            expired += int(row["deleted_data_files_count"]) + int(row["deleted_position_delete_files_count"])
        return expired

    def _rebuild(self, changes: DataFrame, current: DataFrame | None = None,
                 tombstones: DataFrame | None = None) -> None:
        """A (re)load, or a change Iceberg cannot evolve into (a decimal's scale): the tables are replaced whole,
        each in one commit that keeps the old snapshots."""
        opts = {k: self.opts[k] for k in DEFAULTS}
        latest = latest_changes(changes, self.keys, current, tombstones, **opts).persist()
        try:
            images = self._deleted_images(latest, changes, current, tombstones)
            self._replace(deleted_keys(latest, self.keys, **opts, images=images), self.tombstones)
            self._replace(latest.where(F.col(opts["op_column"]) != "D").drop(opts["op_column"]), self.silver)
        finally:
            latest.unpersist()

    def _deleted_images(self, latest: DataFrame, changes: DataFrame, current: DataFrame | None,
                        tombstones: DataFrame | None) -> DataFrame:
        """The last values of the keys whose latest change is a delete, read from those keys' rows only (a
        rebuild's changes are the whole load)."""
        opts = {k: self.opts[k] for k in DEFAULTS}
        gone = latest.where(F.col(opts["op_column"]) == "D").select(*self.keys)

        def only(df: DataFrame | None) -> DataFrame | None:
            return None if df is None else df.join(gone, self.keys, "left_semi")

        return last_images(changes.join(gone, self.keys, "left_semi"), self.keys, only(current), only(tombstones),
                           **opts)

    def _replace(self, df: DataFrame, table: str) -> None:
        writer = (df.writeTo(table).using("iceberg").tableProperty("format-version", "2")
                  .tableProperty("write.parquet.compression-codec", "snappy"))
        for key, value in MERGE_ON_READ.items():
            writer = writer.tableProperty(key, value)
        writer.createOrReplace()

    def _merge_on_read(self, table: str) -> None:
        """A table created copy-on-write (before merges wrote changes only) is switched, once."""
        props = {row["key"]: row["value"] for row in self.spark.sql(f"SHOW TBLPROPERTIES {table}").collect()}
        missing = {k: v for k, v in MERGE_ON_READ.items() if props.get(k) != v}
        if missing:
            pairs = ", ".join(f"'{k}' = '{v}'" for k, v in missing.items())
            self.spark.sql(f"ALTER TABLE {table} SET TBLPROPERTIES ({pairs})")

    def _merge(self, changes: DataFrame) -> None:
        """Changes merged into the rows and tombstones of the keys they touch: the latest change per touched key
        (against its current row and tombstone) is upserted or deleted with MERGE INTO, once per table."""
        opts = {k: self.opts[k] for k in DEFAULTS}
        op = opts["op_column"]
        target = {f.name: f.dataType for f in self.spark.table(self.silver).schema.fields}
        if any(f.name in target and not (_widens(f.dataType, target[f.name]) or _widens(target[f.name], f.dataType))
               for f in changes.schema.fields):
            tombstones_now = self.spark.table(self.tombstones) if self._table_exists(self.tombstones) else None
            return self._rebuild(changes, self.spark.table(self.silver), tombstones_now)
        touched = key_moves(with_op(changes, op), self.keys, op).select(*self.keys).distinct()
        # the touched keys' rows, kept once read: the latest changes and the deleted images both need them, and
        # finding them scans the whole table
        current = self.spark.table(self.silver).join(touched, self.keys, "left_semi").persist()
        tombstones = self.spark.table(self.tombstones).join(touched, self.keys, "left_semi").persist() \
            if self._table_exists(self.tombstones) else None
        latest = latest_changes(changes, self.keys, current, tombstones, **opts).persist()
        try:
            images = self._deleted_images(latest, changes, current, tombstones)
            marks = latest.select(*self.keys, opts["seq_column"], opts["timestamp_column"], op) \
                .join(images, self.keys, "left")
            if not self._table_exists(self.tombstones):
                self._replace(marks.limit(0).drop(op), self.tombstones)
            self._merge_into(self.tombstones, marks, op, tombstone=True)
            self._merge_into(self.silver, latest, op, tombstone=False)
        finally:
            for kept in (latest, current, tombstones):
                if kept is not None:
                    kept.unpersist()

    def _merge_into(self, table: str, source: DataFrame, op: str, tombstone: bool) -> None:
        """One MERGE INTO: Silver deletes the keys whose latest change is a delete and upserts the others; the
        tombstones table does the opposite. New columns are added to the table first, and widened ones widened
        (Iceberg's schema evolution: int to bigint, float to double, a decimal's precision)."""
        self._merge_on_read(table)
        target = self._evolve(table, source, op)
        view = f"edp_changes_{uuid.uuid4().hex[:12]}"
        for name in target:
            if name not in source.columns:
                source = source.withColumn(name, F.lit(None).cast(target[name]))
        source.createOrReplaceTempView(view)
        on = " AND ".join(f"t.{_q(k)} = s.{_q(k)}" for k in self.keys)
        sets = ", ".join(f"t.{_q(c)} = s.{_q(c)}" for c in target)
        cols = ", ".join(_q(c) for c in target)
        vals = ", ".join(f"s.{_q(c)}" for c in target)
        delete, keep = ("<>", "=") if tombstone else ("=", "<>")
        try:
            self.spark.sql(f"""
                MERGE INTO {table} t USING {view} s ON {on}
                WHEN MATCHED AND s.{_q(op)} {delete} 'D' THEN DELETE
                WHEN MATCHED THEN UPDATE SET {sets}
                WHEN NOT MATCHED AND s.{_q(op)} {keep} 'D' THEN INSERT ({cols}) VALUES ({vals})""")
        finally:
            self.spark.catalog.dropTempView(view)

    def _evolve(self, table: str, source: DataFrame, op: str) -> dict:
        """The table's columns after adding the source's new ones and widening changed types."""
        target = {f.name: f.dataType for f in self.spark.table(table).schema.fields}
        for field in source.schema.fields:
            if field.name == op:
                continue
            if field.name not in target:
                self.spark.sql(f"ALTER TABLE {table} ADD COLUMN {_q(field.name)} {field.dataType.simpleString()}")
            elif target[field.name] != field.dataType and _widens(target[field.name], field.dataType):
                self.spark.sql(f"ALTER TABLE {table} ALTER COLUMN {_q(field.name)} TYPE {field.dataType.simpleString()}")
        self.spark.catalog.refreshTable(table)
        return {f.name: f.dataType for f in self.spark.table(table).schema.fields}

    def _table_exists(self, table: str) -> bool:
        return bool(self.spark.catalog.tableExists(table.replace("`", "")))

    def _generation(self, files: dict[str, list[int]]) -> list[str]:
        """The files of the current load generation: the load files, and the changes written after them
        (DMS rewrites the load files on a reload but leaves the older change files where they are)."""
        loads = [n for n in files if _is_load(n)]
        if not loads:
            return sorted(files)
        since = min(files[n][1] for n in loads)
        return sorted(n for n in files if _is_load(n) or files[n][1] >= since)

    def _read(self, names: list[str]) -> DataFrame:
        """Full-load and CDC files differ by the Op column, so each group is read on its own."""
        frames = []
        for group in ([n for n in names if _is_load(n)], [n for n in names if not _is_load(n)]):
            if group:
                frames.append(self._read_files([f"{self.bronze_dir}/{n}" for n in group]))
        df = frames[0]
        for other in frames[1:]:
            df = df.unionByName(other, allowMissingColumns=True)
        return df

    def _read_files(self, paths: list[str]) -> DataFrame:
        """Files written before and after a schema change: columns merged, and where Parquet's schema merge
        refuses a widened type (int to bigint), file by file with the union widening each column."""
        try:
            return self.spark.read.option("mergeSchema", "true").parquet(*paths)
        except Exception as exc:  # AnalysisException or SparkException: incompatible types across files
            if "merge" not in str(exc).lower() and "incompatible" not in str(exc).lower():
                raise
        frames = [self.spark.read.parquet(p) for p in paths]
        df = frames[0]
        for other in frames[1:]:
            df = df.unionByName(other, allowMissingColumns=True)
        return df

    def _list_bronze(self, since: str | None) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        """Bronze parquet files of the table, path relative to its folder -> [size, modification time in ms]:
        those at the root (the load files; every change file too when DMS writes no date folders), and those
        in date folders (`YYYY/MM/DD`, any depth of digit-named folders) at or after `since`. A folder before
        `since` is never listed, so a run lists what is new, not the table's history."""
        path = self._Path(self.bronze_dir)
        if not self.fs.exists(path):
            raise FileNotFoundError(f"no Bronze folder for table {self.table!r} at {self.bronze_dir}")
        root: dict[str, list[int]] = {}
        dated: dict[str, list[int]] = {}
        pending = [("", path)]
        while pending:
            prefix, folder = pending.pop()
            for status in self.fs.listStatus(folder):
                name = status.getPath().getName()
                rel = prefix + name
                if status.isFile():
                    if name.endswith(".parquet"):
                        (dated if prefix else root)[rel] = [status.getLen(), status.getModificationTime()]
                elif name.isdigit() and (since is None or rel >= since[:len(rel)]):
                    pending.append((rel + "/", status.getPath()))
        return root, dated

    def _read_bookmark(self) -> dict:
        """The high-water mark: the root files merged so far and the files of the latest two date folders
        merged, each with [size, modification time]. A bookmark of the earlier flat layout (`files`) lists the
        root files; one that listed names only cannot tell a rewritten file from a seen one, so it counts as none."""
        empty: dict = {"root": {}, "recent": {}}
        if not self.fs.exists(self._Path(self.bookmark)):
            return empty
        # read through Spark rather than a JVM stream API, so Glue's Java 8 runtimes work too
        text = "".join(row.value for row in self.spark.read.text(self.bookmark, wholetext=True).collect())
        data = json.loads(text)
        if "files" in data and isinstance(data["files"], dict):
            return {**empty, "root": {n: list(i) for n, i in data["files"].items()}}
        return {"root": {n: list(i) for n, i in data.get("root", {}).items()},
                "recent": {n: list(i) for n, i in data.get("recent", {}).items()}}

    def _write_bookmark(self, data: dict) -> None:
        tmp = self.bookmark + ".tmp"
        out = self.fs.create(self._Path(tmp), True)
        try:
            out.write(bytearray(json.dumps(data).encode()))
        finally:
            out.close()
        self._delete(self.bookmark)
        self._rename(tmp, self.bookmark)

    def _delete(self, path: str) -> None:
        if self.fs.exists(self._Path(path)):
            self.fs.delete(self._Path(path), True)

    def _rename(self, src: str, dst: str) -> None:
        if not self.fs.rename(self._Path(src), self._Path(dst)):
            raise OSError(f"could not rename {src} to {dst}")


def _retention(opts: dict[str, str]) -> tuple[float, int]:
    """(hours, snapshots) of `--snapshot_retention_hours` and `--snapshots_retained`, checked before any work."""
    hours, keep = (opts.get(k) or RETENTION[k] for k in RETENTION)
    try:
        parsed = float(hours), int(keep)
    except ValueError:
        parsed = (-1.0, 0)
    if parsed[0] < 0 or parsed[1] < 1:
        raise ValueError(f"--snapshot_retention_hours must be a number >= 0 and --snapshots_retained a whole "
                         f"number >= 1, got {hours!r} and {keep!r}")
    return parsed


def _compact_ratio(opts: dict[str, str]) -> float:
    """`--compact_delete_ratio`, checked before any work: a share of a table's rows above 0 and at most 1."""
    raw = opts.get("compact_delete_ratio") or COMPACTION["compact_delete_ratio"]
    try:
        ratio = float(raw)
    except ValueError:
        ratio = -1.0
    if not 0 < ratio <= 1:
        raise ValueError(f"--compact_delete_ratio must be a number above 0 and at most 1, got {raw!r}")
    return ratio


def _is_load(rel: str) -> bool:
    """A DMS full-load file (`LOAD00000001.parquet`), at the table's root or in a date folder."""
    return rel.rsplit("/", 1)[-1].startswith("LOAD")


def _folders(files: dict[str, list[int]]) -> set[str]:
    return {rel.rpartition("/")[0] for rel in files if "/" in rel}


RECENT_FOLDERS = 2  # date folders the high-water mark keeps: the latest, and one back for a late file


def _next_mark(mark: dict, root: dict[str, list[int]], dated: dict[str, list[int]]) -> dict:
    """The bookmark after merging what was listed: the root files, and the files of the latest date folders."""
    merged = {**mark["recent"], **dated}
    keep = set(sorted(_folders(merged))[-RECENT_FOLDERS:])
    return {"version": 2, "root": root, "recent": {n: i for n, i in merged.items() if n.rpartition("/")[0] in keep},
            "high_water_mark": max(keep, default=None), "updated_at": time.time()}


def _widens(narrow: DataType, wide: DataType) -> bool:
    """Whether values of `narrow` fit `wide` unchanged: Iceberg's type promotions (int to bigint, float to double,
    a decimal's precision at the same scale), or the same type."""
    if narrow == wide:
        return True
    if isinstance(narrow, DecimalType) and isinstance(wide, DecimalType):
        return narrow.scale == wide.scale and narrow.precision <= wide.precision
    return (narrow.simpleString(), wide.simpleString()) in {("int", "bigint"), ("float", "double")}


# -- entry point ---------------------------------------------------------------------------------
def parse_args(argv: list[str]) -> dict[str, str]:
    """Glue passes `--name value` pairs; locally the same pairs are accepted without awsglue."""
    try:
        from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]

        optional = [name for name in (*DEFAULTS, *OPTIONAL) if f"--{name}" in argv]  # getResolvedOptions requires all it is given
        return {**DEFAULTS, **getResolvedOptions(argv, list(REQUIRED) + optional)}
    except ImportError:
        pass
    opts = dict(DEFAULTS)
    args = argv[1:]
    for i in range(0, len(args), 2):
        name = args[i]
        if not name.startswith("--") or i + 1 >= len(args):
            raise SystemExit(f"bronze_to_silver: expected --name value pairs, got {name!r}")
        opts[name[2:]] = args[i + 1]
    missing = [r for r in REQUIRED if not opts.get(r)]
    if missing:
        raise SystemExit(f"bronze_to_silver: missing argument(s): {', '.join('--' + m for m in missing)}")
    return opts


def spark_session() -> SparkSession:
    try:
        from awsglue.context import GlueContext  # type: ignore[import-not-found]
        from pyspark.context import SparkContext

        return GlueContext(SparkContext.getOrCreate()).spark_session
    except ImportError:
        return SparkSession.builder.getOrCreate()


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> dict:
    opts = parse_args(sys.argv if argv is None else argv)
    spark = spark or spark_session()
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    # dates and times before 1582 (BC included) are proleptic Gregorian, as PostgreSQL and DMS write them
    for mode in ("datetimeRebaseModeInRead", "datetimeRebaseModeInWrite", "int96RebaseModeInRead",
                 "int96RebaseModeInWrite"):
        spark.conf.set(f"spark.sql.parquet.{mode}", "CORRECTED")
    result = BronzeToSilver(spark, opts).run()
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
