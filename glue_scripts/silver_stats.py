"""Silver statistics: the row count and the newest change of every Silver table, as one small JSON file.

One script for AWS Glue and for local PySpark, unchanged: a pure DataFrame function (`table_stats`) that the
tests call, and a thin `main` that reads Glue-style `--name value` arguments (with
`awsglue.utils.getResolvedOptions` when it is importable) and writes `<silver_path>/_stats/latest.json` for
every Silver Iceberg table (`--catalog`/`--namespace` on Glue, the path tables under Silver elsewhere).
"""

from __future__ import annotations

import json
import sys
import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

REQUIRED = ("JOB_NAME", "silver_path")
OPTIONAL = ("catalog", "namespace")  # Silver's Iceberg catalog and database on Glue


def table_stats(df: DataFrame, timestamp_column: str = "dms_timestamp") -> dict:
    """Rows, and the newest DMS timestamp (the freshness of the table's last merged change)."""
    row = df.agg(F.count(F.lit(1)).alias("rows"), F.max(F.col(timestamp_column)).alias("newest")).first()
    return {"rows": int(row["rows"]), "newest_change": row["newest"]}


def silver_tables(spark: SparkSession, fs, root: str, opts: dict[str, str]) -> dict[str, DataFrame]:
    """Silver's Iceberg tables, tombstones aside: the catalog's on Glue, else the path tables under Silver."""
    if opts.get("catalog"):
        database = f"{opts['catalog']}.{opts.get('namespace') or root.rsplit('/', 1)[-1]}"
        names = [t.name for t in spark.catalog.listTables(database)]
        return {n: spark.table(f"{database}.{n}") for n in names if not n.startswith("_")}
    path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path
    names = [s.getPath().getName() for s in fs.listStatus(path(root))
             if s.isDirectory() and not s.getPath().getName().startswith("_")]  # _bookmarks, _tombstones_*...
    return {n: spark.read.format("iceberg").load(f"{root}/{n}") for n in names}


def parse_args(argv: list[str]) -> dict[str, str]:
    try:
        from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]

        return getResolvedOptions(argv, list(REQUIRED) + [n for n in OPTIONAL if f"--{n}" in argv])
    except ImportError:
        pass
    pairs = dict(zip(argv[1::2], argv[2::2], strict=False))
    opts = {name[2:]: value for name, value in pairs.items() if name.startswith("--")}
    missing = [r for r in REQUIRED if not opts.get(r)]
    if missing:
        raise SystemExit(f"silver_stats: missing argument(s): {', '.join('--' + m for m in missing)}")
    return opts


def main(argv: list[str] | None = None, spark: SparkSession | None = None) -> dict:
    opts = parse_args(sys.argv if argv is None else argv)
    spark = spark or SparkSession.builder.getOrCreate()
    root = opts["silver_path"].rstrip("/")
    jvm = spark.sparkContext._jvm
    fs = jvm.org.apache.hadoop.fs.Path(root).getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    stats = {name: table_stats(df) for name, df in sorted(silver_tables(spark, fs, root, opts).items())}
    result = {"tables": stats, "written_at": time.time()}
    out = fs.create(jvm.org.apache.hadoop.fs.Path(f"{root}/_stats/latest.json"), True)
    try:
        out.write(bytearray(json.dumps(result).encode()))
    finally:
        out.close()
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
