"""Benchmarks, reported as figures and ratios measured in one run on this machine (not timed tests).

* DAG parse time per file, against MWAA's 30 s import time-out;
* the local end-to-end pipeline (through Airflow) for a configurable source size:
  the full-load run, then an incremental run after a change batch;
* the CDC merge itself: the Glue script's Spark `apply_cdc` against the same merge
  in DuckDB (the one-machine reference), on the same synthetic Bronze file;
* scale (`--scale 100000,1000000,5000000`): per source size, the full-load run, a run
  after a change batch of `--change-fraction` of the source rows, and a run with no
  change (the fixed floor), each timed per task; results in the `scale` list.

    .venv/bin/python benchmarks/bench_local.py --customers 1000 --repeat 20
    .venv/bin/python benchmarks/bench_local.py --skip-e2e --scale 100000,1000000 --merge-rows 10000000
Results go to benchmarks/results/<host>.json (and are printed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MWAA_IMPORT_TIMEOUT_S = 30.0
# Spark's driver here keeps the JVM's full JIT: the local default (C1 only, edp_dev.local.glue.LOCAL_JVM_OPTIONS)
# saves CPU on a test's small batches, but C2 merges millions of rows a third faster (3M CDC rows: 6.9 s against
# 12.1 s warm). The serial collector stays: on 2 cores it beat G1 there too (8.0 s).
SPARK_JAVA_OPTIONS = "-XX:+UseSerialGC"


def dag_parse_times(repeat: int) -> dict[str, dict]:
    out = {}
    for path in sorted((ROOT / "dags").glob("*.py")):
        code = (
            "import time, runpy, json, airflow.sdk, edp.dag_factory\n"
            f"ts = []\nfor _ in range({repeat}):\n"
            f"    t = time.perf_counter(); runpy.run_path({str(path)!r}); ts.append(time.perf_counter() - t)\n"
            "print(json.dumps(ts))"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        times = json.loads(proc.stdout.strip().splitlines()[-1])
        median = statistics.median(times)
        out[path.name] = {"median_ms": round(median * 1000, 2), "max_ms": round(max(times) * 1000, 2),
                          "share_of_mwaa_timeout": round(median / MWAA_IMPORT_TIMEOUT_S, 6)}
    return out


def end_to_end(customers: int, changes: int) -> dict:
    from edp_dev import shop as source_db
    from edp_dev.airflow_run import run_dag
    from edp_dev.local.postgres import EmbeddedPostgres
    from tests.conftest import isolated_home

    with isolated_home("bench") as paths:
        import psycopg2

        conn = psycopg2.connect(EmbeddedPostgres(paths.pg).start().dsn())
        size = source_db.SeedSize.scaled(customers)
        rows = source_db.seed(conn, size)
        runs = {}
        for label in ("full_load_run", "incremental_run"):
            if label == "incremental_run":
                source_db.simulate(conn, inserts=changes // 2, updates=changes * 35 // 100, deletes=changes * 15 // 100,
                                   rng_seed=1)
            started = time.monotonic()
            code = run_dag("edp_pipeline", {}, log_file=paths.root / "logs" / f"{label}.log")
            if code != 0:
                raise SystemExit(f"{label} failed; see {paths.root / 'logs' / (label + '.log')}")
            runs[label] = round(time.monotonic() - started, 2)
        conn.close()
    total = sum(rows.values())
    return {"source_rows": rows, "change_batch": changes, **{f"{k}_s": v for k, v in runs.items()},
            "full_load_rows_per_s": round(total / runs["full_load_run"], 1),
            "incremental_to_full_ratio": round(runs["incremental_run"] / runs["full_load_run"], 3)}


ROWS_PER_CUSTOMER = 10.25  # a seed's rows per customer: 1 customer, 1/4 product, 3 orders, ~6 order items


def scale_point(source_rows: int, change_fraction: float) -> dict:
    """One source size through the local pipeline (Airflow, the local DMS, the Glue script on Spark, dbt on
    DuckDB): a full load, a run after changing `change_fraction` of the rows, then a run with nothing new.
    Per-task seconds come from each run's metrics (what the run report shows)."""
    from edp_dev import shop as source_db
    from edp_dev.airflow_run import run_dag
    from edp_dev.local.postgres import EmbeddedPostgres
    from tests.conftest import isolated_home

    customers = max(10, round(source_rows / ROWS_PER_CUSTOMER))
    with isolated_home(f"scale-{source_rows}") as paths:
        import psycopg2

        conn = psycopg2.connect(EmbeddedPostgres(paths.pg).start().dsn())
        started = time.monotonic()
        rows = source_db.seed(conn, source_db.SeedSize.scaled(customers))
        seed_s = time.monotonic() - started
        total = sum(rows.values())
        changes = max(1, round(total * change_fraction))
        runs: dict[str, dict] = {}
        for label in ("full", "incremental", "noop"):
            if label == "incremental":  # one change touches ~1.5 rows on average (an order and its items)
                wanted = max(1, round(changes / 1.5))
                batch = source_db.simulate(conn, inserts=wanted // 2, updates=wanted * 35 // 100,
                                           deletes=wanted * 15 // 100, rng_seed=1)
                changed = batch.inserts + batch.updates + batch.deletes
            started = time.monotonic()
            code = run_dag("edp_pipeline", {}, log_file=paths.root / "logs" / f"{label}.log")
            seconds = time.monotonic() - started
            if code != 0:  # the state folder goes with the with-block: show the log's end here
                lines = (paths.root / "logs" / f"{label}.log").read_text(errors="replace").splitlines()
                errors = [ln for ln in lines if "[error" in ln or "Error" in ln][-30:]
                server = paths.pg / "server.log"
                errors += server.read_text(errors="replace").splitlines()[-20:] if server.is_file() else []
                raise SystemExit(f"{label} run at {source_rows:,} rows failed:\n" + "\n".join(errors or lines[-40:]))
            metrics = max((paths.artifacts / "runs").glob("*/metrics.json"), key=lambda p: p.stat().st_mtime)
            runs[label] = {"seconds": round(seconds, 2),
                           "per_task": {k: round(v, 2) for k, v in json.loads(metrics.read_text())["durations"].items()}}
        conn.close()
    return {"source_rows": total, "source_tables": rows, "change_fraction": change_fraction, "changed_rows": changed,
            "seed_s": round(seed_s, 1), "full_s": runs["full"]["seconds"],
            "incremental_s": runs["incremental"]["seconds"], "noop_s": runs["noop"]["seconds"],
            "incremental_to_full_ratio": round(runs["incremental"]["seconds"] / runs["full"]["seconds"], 3),
            "per_task": {label: run["per_task"] for label, run in runs.items()}}


def merge_engines(rows: int) -> dict:
    """Spark (warm, as the second of two runs) and DuckDB merging one synthetic CDC file; same result asserted."""
    import random
    import tempfile

    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from edp_dev.local.glue import load_script, spark_session

    rng = random.Random(5)
    keys = max(1, rows // 4)
    table = pa.table({
        "Op": [rng.choice("IIUUD") for _ in range(rows)],
        "dms_timestamp": ["2026-11-23 02:00:00.000000"] * rows,
        "dms_change_seq": [f"{i:020d}" for i in range(rows)],
        "id": [rng.randrange(keys) for _ in range(rows)],
        "amount": [rng.random() for _ in range(rows)],
    })
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/cdc.parquet"
        pq.write_table(table, path)
        spark = spark_session()
        b2s = load_script("bronze_to_silver.py")
        spark_s = []
        for _ in range(2):
            started = time.perf_counter()
            spark_rows = b2s.apply_cdc(spark.read.parquet(path), ["id"]).count()
            spark_s.append(time.perf_counter() - started)
        con = duckdb.connect()
        started = time.perf_counter()
        duck_rows = con.execute(
            f"SELECT count(*) FROM (SELECT *, row_number() OVER (PARTITION BY id ORDER BY dms_change_seq DESC, "
            f"dms_timestamp DESC) AS rn FROM read_parquet('{path}')) WHERE rn = 1 AND Op <> 'D'"
        ).fetchone()[0]
        duck_s = time.perf_counter() - started
    if spark_rows != duck_rows:
        raise SystemExit(f"engines disagree: spark {spark_rows} rows, duckdb {duck_rows}")
    return {"cdc_rows": rows, "current_rows": spark_rows, "spark_warm_s": round(spark_s[1], 3),
            "duckdb_s": round(duck_s, 3), "spark_to_duckdb_ratio": round(spark_s[1] / duck_s, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1000, help="source size (products and orders scale with it)")
    parser.add_argument("--changes", type=int, default=200, help="rows changed between the two runs")
    parser.add_argument("--repeat", type=int, default=20, help="parses per DAG file")
    parser.add_argument("--merge-rows", type=int, default=1_000_000, help="CDC rows in the merge benchmark")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--scale", default="", help="comma-separated source sizes in rows, e.g. 100000,1000000")
    parser.add_argument("--change-fraction", type=float, default=0.01, help="share of the source rows changed")
    parser.add_argument("--skip-merge", action="store_true")
    args = parser.parse_args()
    sizes = [int(x) for x in args.scale.split(",") if x.strip()]
    if any(n < 1000 or n > 10_500_000 for n in sizes) or not 0 < args.change_fraction <= 1:
        parser.error("--scale sizes must be between 1,000 and 10,500,000 rows and --change-fraction in (0, 1]")
    os.environ.setdefault("EDP_SPARK_JAVA_OPTIONS", SPARK_JAVA_OPTIONS)  # before the first Spark session
    result = {
        "spark_java_options": os.environ["EDP_SPARK_JAVA_OPTIONS"],
        "machine": {"host": socket.gethostname(), "python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "dag_parse": dag_parse_times(args.repeat),
    }
    out = ROOT / "benchmarks" / "results" / f"{socket.gethostname()}.json"
    previous = json.loads(out.read_text()) if out.is_file() else {}
    # a partial run (--skip-*) keeps the figures it did not measure, each with its own measured_at
    for key in ("cdc_merge", "end_to_end_local", "scale"):
        if key in previous:
            result[key] = previous[key]
    if not args.skip_merge:
        result["cdc_merge"] = {**merge_engines(args.merge_rows), "measured_at": result["measured_at"]}
    if not args.skip_e2e:
        result["end_to_end_local"] = end_to_end(args.customers, args.changes)
    out.parent.mkdir(parents=True, exist_ok=True)
    if sizes:  # written after each size: a long run that stops keeps the sizes it finished
        kept = [p for p in result.get("scale", []) if p.get("requested_rows") not in sizes]
        result["scale"] = kept
        for n in sizes:
            result["scale"].append({"requested_rows": n, **scale_point(n, args.change_fraction),
                                    "measured_at": result["measured_at"]})
            out.write_text(json.dumps(result, indent=2) + "\n")
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
