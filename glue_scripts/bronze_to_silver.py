"""Bronze -> Silver: merge DMS full-load and CDC parquet into the current state of one source table.

One script for AWS Glue and for local PySpark, unchanged.  Three layers:

* pure DataFrame functions (`with_op`, `apply_cdc`) that the unit tests call;
* one I/O layer (`BronzeToSilver`) that lists, reads and writes through Hadoop's
  FileSystem API, so the same code serves `s3://` on Glue and `file://` here;
* a thin `main` that reads Glue-style `--name value` arguments (with
  `awsglue.utils.getResolvedOptions` when it is importable).

Incremental: a bookmark beside the Silver data lists the Bronze files already
merged, and a run reads only the others.  A new full-load (`LOAD*`) file means
the source was reloaded, so Silver is rebuilt from the folder instead.  Silver
is replaced by writing a new copy and swapping folders, and the bookmark is
written last: re-running after any crash merges the same changes again, which
the merge absorbs (it is idempotent), so no change is lost or applied twice.
"""

from __future__ import annotations

import json
import sys
import time
import uuid

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

DEFAULTS = {
    "op_column": "Op",
    "timestamp_column": "dms_timestamp",
    "seq_column": "dms_change_seq",
}
REQUIRED = ("JOB_NAME", "bronze_path", "silver_path", "schema", "table", "primary_key")
_ROW_NUMBER = "__edp_rank"


# -- pure transformations ---------------------------------------------------------------------
def with_op(df: DataFrame, op_column: str = DEFAULTS["op_column"]) -> DataFrame:
    """Full-load rows carry no Op column; they are inserts."""
    if op_column in df.columns:
        return df.withColumn(op_column, F.coalesce(F.col(op_column), F.lit("I")))
    return df.withColumn(op_column, F.lit("I"))


def apply_cdc(
    changes: DataFrame,
    primary_key: list[str],
    current: DataFrame | None = None,
    op_column: str = DEFAULTS["op_column"],
    timestamp_column: str = DEFAULTS["timestamp_column"],
    seq_column: str = DEFAULTS["seq_column"],
) -> DataFrame:
    """Current state per key: the latest change wins, and a key whose latest change is a delete is gone.

    Changes are ordered by the change sequence (commit order; a full load has
    none and sorts first), then by the DMS timestamp.  `current` is an earlier
    Silver state, which carries the sequence and timestamp of its rows, so
    merging a batch twice gives the same result as merging it once.
    """
    missing = [k for k in primary_key if k not in changes.columns]
    if missing:
        raise ValueError(f"primary key column(s) {', '.join(missing)} not in Bronze columns {changes.columns}")
    rows = with_op(changes, op_column)
    if current is not None:
        rows = rows.unionByName(with_op(current, op_column), allowMissingColumns=True)
    order = [F.col(seq_column).desc_nulls_last(), F.col(timestamp_column).desc_nulls_last()]
    latest = (
        rows.withColumn(_ROW_NUMBER, F.row_number().over(Window.partitionBy(*primary_key).orderBy(*order)))
        .where(F.col(_ROW_NUMBER) == 1)
        .where(F.col(op_column) != "D")
    )
    return latest.drop(_ROW_NUMBER, op_column)


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
        self.backup_dir = f"{silver_root}/_previous/{self.table}"
        self.bookmark = f"{silver_root}/_bookmarks/{self.table}.json"
        self.staging_root = f"{silver_root}/_staging"
        jvm = spark.sparkContext._jvm
        self._Path = jvm.org.apache.hadoop.fs.Path
        self.fs = self._Path(silver_root).getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())

    def run(self) -> dict:
        started = time.monotonic()
        self._recover()
        bookmark = self._read_bookmark()
        files = self._list_bronze()
        done = set(bookmark["processed"])
        new = [f for f in files if f not in done]
        result = {"table": self.table, "new_files": len(new), "mode": "noop", "rows_in": 0}
        if new:
            rebuild = any(name.startswith("LOAD") for name in new) or not self._exists(self.silver_dir)
            to_read = files if rebuild else new
            changes = self._read(to_read)
            current = None if rebuild else self.spark.read.parquet(self.silver_dir)
            merged = apply_cdc(changes, self.keys, current, self.opts["op_column"],
                               self.opts["timestamp_column"], self.opts["seq_column"])
            self._swap_in(merged)
            self._write_bookmark({"processed": files, "updated_at": time.time()})
            result.update(mode="rebuild" if rebuild else "merge", rows_in=changes.count())
        result["silver_rows"] = self.spark.read.parquet(self.silver_dir).count() if self._exists(self.silver_dir) else 0
        result["seconds"] = round(time.monotonic() - started, 3)
        return result

    def _read(self, names: list[str]) -> DataFrame:
        """Full-load and CDC files differ by the Op column, so each group is read on its own."""
        frames = []
        for group in ([n for n in names if n.startswith("LOAD")], [n for n in names if not n.startswith("LOAD")]):
            if group:
                frames.append(self.spark.read.parquet(*[f"{self.bronze_dir}/{n}" for n in group]))
        df = frames[0]
        for other in frames[1:]:
            df = df.unionByName(other, allowMissingColumns=True)
        return df

    def _list_bronze(self) -> list[str]:
        path = self._Path(self.bronze_dir)
        if not self.fs.exists(path):
            raise FileNotFoundError(f"no Bronze folder for table {self.table!r} at {self.bronze_dir}")
        names = [s.getPath().getName() for s in self.fs.listStatus(path) if s.isFile()]
        return sorted(n for n in names if n.endswith(".parquet"))

    def _swap_in(self, df: DataFrame) -> None:
        staging = f"{self.staging_root}/{self.table}-{uuid.uuid4().hex[:12]}"
        df.write.mode("overwrite").parquet(staging)
        self._delete(self.backup_dir)
        self.fs.mkdirs(self._Path(self.backup_dir).getParent())
        if self._exists(self.silver_dir):
            self._rename(self.silver_dir, self.backup_dir)
        self._rename(staging, self.silver_dir)
        self._delete(self.backup_dir)

    def _recover(self) -> None:
        """A crash between the two renames of a swap leaves only the backup: put it back."""
        if not self._exists(self.silver_dir) and self._exists(self.backup_dir):
            self._rename(self.backup_dir, self.silver_dir)

    def _read_bookmark(self) -> dict:
        if not self.fs.exists(self._Path(self.bookmark)):
            return {"processed": []}
        # read through Spark rather than a JVM stream API, so Glue's Java 8 runtimes work too
        text = "".join(row.value for row in self.spark.read.text(self.bookmark, wholetext=True).collect())
        return json.loads(text)

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
    result = BronzeToSilver(spark, opts).run()
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
