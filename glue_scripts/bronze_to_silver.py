"""Bronze -> Silver: merge DMS full-load and CDC parquet into the current state of one source table.

One script for AWS Glue and for local PySpark, unchanged.  Three layers:

* pure DataFrame functions (`with_op`, `apply_cdc`) that the unit tests call;
* one I/O layer (`BronzeToSilver`) that lists, reads and writes through Hadoop's
  FileSystem API, so the same code serves `s3://` on Glue and `file://` here;
* a thin `main` that reads Glue-style `--name value` arguments (with
  `awsglue.utils.getResolvedOptions` when it is importable).

Incremental: a bookmark beside the Silver data records each merged Bronze file
with its size and modification time, and a run reads only files it has not seen
in that form.  A new or rewritten full-load (`LOAD*`) file means the source was
reloaded (DMS rewrites the load files in place), so Silver is rebuilt from the
load files and the changes written after them.  Deleted keys are kept as
tombstones (key and change sequence) beside Silver, so a change delivered again
or out of order cannot bring back a row deleted since.  An update that moved a
row to a new key carries the old key as its before image (`BI_<key>`) and
deletes it.  Files of different schemas (a column added or widened mid-stream)
are read together with their columns merged.  Silver is replaced by writing a
new copy and swapping folders, and the bookmark is written last: re-running
after any crash merges the same changes again, which the merge absorbs (it is
idempotent), so no change is lost or applied twice.
"""

from __future__ import annotations

import json
import operator
import sys
import time
import uuid
from functools import reduce

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

DEFAULTS = {
    "op_column": "Op",
    "timestamp_column": "dms_timestamp",
    "seq_column": "dms_change_seq",
}
REQUIRED = ("JOB_NAME", "bronze_path", "silver_path", "schema", "table", "primary_key")
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


def deleted_keys(latest: DataFrame, primary_key: list[str], op_column: str = DEFAULTS["op_column"],
                 timestamp_column: str = DEFAULTS["timestamp_column"],
                 seq_column: str = DEFAULTS["seq_column"]) -> DataFrame:
    """The tombstones of a merge: keys whose latest change is a delete, with that change's order."""
    return latest.where(F.col(op_column) == "D").select(*primary_key, seq_column, timestamp_column)


# -- I/O -----------------------------------------------------------------------------------------
class BronzeToSilver:
    """Reads new Bronze files of one table, merges them and swaps in the new Silver copy."""

    def __init__(self, spark: SparkSession, options: dict[str, str]):
        self.spark = spark
        self.opts = {**DEFAULTS, **options}
        self.table = self.opts["table"]
        self.keys = [k.strip() for k in self.opts["primary_key"].split(",") if k.strip()]
        self.bronze_dir = f"{self.opts['bronze_path'].rstrip('/')}/{self.opts['schema']}/{self.table}"
        silver_root = self.opts["silver_path"].rstrip("/")
        self.silver_dir = f"{silver_root}/{self.table}"
        self.tombstone_dir = f"{silver_root}/_tombstones/{self.table}"
        # where a swap parks the copy it replaces until the new one is in place
        self.backups = {self.silver_dir: f"{silver_root}/_previous/{self.table}",
                        self.tombstone_dir: f"{silver_root}/_previous/_tombstones/{self.table}"}
        self.bookmark = f"{silver_root}/_bookmarks/{self.table}.json"
        self.staging_root = f"{silver_root}/_staging"
        jvm = spark.sparkContext._jvm
        self._Path = jvm.org.apache.hadoop.fs.Path
        self.fs = self._Path(silver_root).getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())

    def run(self) -> dict:
        started = time.monotonic()
        self._recover()
        seen = self._read_bookmark()
        files = self._list_bronze()
        new = sorted(n for n, identity in files.items() if seen.get(n) != identity)
        result = {"table": self.table, "new_files": len(new), "mode": "noop", "rows_in": 0}
        if new:
            rebuild = any(n.startswith("LOAD") for n in new) or not self._exists(self.silver_dir)
            changes = self._read(self._generation(files) if rebuild else new)
            current = None if rebuild else self.spark.read.parquet(self.silver_dir)
            tombstones = None if rebuild or not self._exists(self.tombstone_dir) else \
                self.spark.read.parquet(self.tombstone_dir)
            opts = {k: self.opts[k] for k in DEFAULTS}
            latest = latest_changes(changes, self.keys, current, tombstones, **opts).persist()
            try:
                self._swap_in(deleted_keys(latest, self.keys, **opts), self.tombstone_dir)
                self._swap_in(latest.where(F.col(opts["op_column"]) != "D").drop(opts["op_column"]), self.silver_dir)
            finally:
                latest.unpersist()
            self._write_bookmark({"files": files, "updated_at": time.time()})
            result.update(mode="rebuild" if rebuild else "merge", rows_in=changes.count())
        result["silver_rows"] = self.spark.read.parquet(self.silver_dir).count() if self._exists(self.silver_dir) else 0
        result["seconds"] = round(time.monotonic() - started, 3)
        return result

    def _generation(self, files: dict[str, list[int]]) -> list[str]:
        """The files of the current load generation: the load files, and the changes written after them
        (DMS rewrites the load files on a reload but leaves the older change files where they are)."""
        loads = [n for n in files if n.startswith("LOAD")]
        if not loads:
            return sorted(files)
        since = min(files[n][1] for n in loads)
        return sorted(n for n in files if n.startswith("LOAD") or files[n][1] >= since)

    def _read(self, names: list[str]) -> DataFrame:
        """Full-load and CDC files differ by the Op column, so each group is read on its own."""
        frames = []
        for group in ([n for n in names if n.startswith("LOAD")], [n for n in names if not n.startswith("LOAD")]):
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

    def _list_bronze(self) -> dict[str, list[int]]:
        """Bronze parquet files of the table: name -> [size, modification time in ms]."""
        path = self._Path(self.bronze_dir)
        if not self.fs.exists(path):
            raise FileNotFoundError(f"no Bronze folder for table {self.table!r} at {self.bronze_dir}")
        return {s.getPath().getName(): [s.getLen(), s.getModificationTime()] for s in self.fs.listStatus(path)
                if s.isFile() and s.getPath().getName().endswith(".parquet")}

    def _swap_in(self, df: DataFrame, target: str) -> None:
        staging = f"{self.staging_root}/{self.table}-{uuid.uuid4().hex[:12]}"
        backup = self.backups[target]
        df.write.mode("overwrite").parquet(staging)
        self._delete(backup)
        self.fs.mkdirs(self._Path(backup).getParent())
        if self._exists(target):
            self._rename(target, backup)
        self.fs.mkdirs(self._Path(target).getParent())
        self._rename(staging, target)
        self._delete(backup)

    def _recover(self) -> None:
        """A crash between the two renames of a swap leaves only the backup: put it back. A crash while a
        new copy was written leaves a staging folder nobody will swap in: remove it."""
        for target, backup in self.backups.items():
            if not self._exists(target) and self._exists(backup):
                self._rename(backup, target)
        staging = self._Path(self.staging_root)
        if self.fs.exists(staging):
            for status in self.fs.listStatus(staging):
                if status.getPath().getName().startswith(f"{self.table}-"):
                    self.fs.delete(status.getPath(), True)

    def _read_bookmark(self) -> dict[str, list[int]]:
        """The Bronze files merged so far, by name with [size, modification time]; an older bookmark that
        listed names only cannot tell a rewritten file from a seen one, so it counts as none."""
        if not self.fs.exists(self._Path(self.bookmark)):
            return {}
        # read through Spark rather than a JVM stream API, so Glue's Java 8 runtimes work too
        text = "".join(row.value for row in self.spark.read.text(self.bookmark, wholetext=True).collect())
        return {name: list(identity) for name, identity in json.loads(text).get("files", {}).items()}

    def _write_bookmark(self, data: dict) -> None:
        tmp = self.bookmark + ".tmp"
        out = self.fs.create(self._Path(tmp), True)
        try:
            out.write(bytearray(json.dumps(data).encode()))
        finally:
            out.close()
        self._delete(self.bookmark)
        self._rename(tmp, self.bookmark)

    def _exists(self, path: str) -> bool:
        return self.fs.exists(self._Path(path))

    def _delete(self, path: str) -> None:
        if self._exists(path):
            self.fs.delete(self._Path(path), True)

    def _rename(self, src: str, dst: str) -> None:
        if not self.fs.rename(self._Path(src), self._Path(dst)):
            raise OSError(f"could not rename {src} to {dst}")


# -- entry point ---------------------------------------------------------------------------------
def parse_args(argv: list[str]) -> dict[str, str]:
    """Glue passes `--name value` pairs; locally the same pairs are accepted without awsglue."""
    try:
        from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]

        optional = [name for name in DEFAULTS if f"--{name}" in argv]  # getResolvedOptions requires all it is given
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
