"""The development and demo commands of `edp`: the local target's engines, the shop simulator, the AWS
emulator and the Airflow stack on this machine. `edp.cli` adds them when this package is installed (a
development checkout); MWAA and the dbt image have only the shipped commands.

    edp demo                 seed, run the pipeline, apply a change batch, run it again, print the report
    edp pg start|stop|status  the embedded source PostgreSQL
    edp seed / edp simulate   load the source / apply a batch of inserts, updates and deletes
    edp run                  one pipeline run through Airflow (dag.test) on the local target
    edp cdc reset            drop the replication slot (the next run takes a fresh full load)
    edp emulator             serve the local AWS emulator (moto, with the calls it lacks supplied)
    edp airflow up|down|status     the Airflow UI without Docker (airflow standalone on the local target)
    edp airflow secrets            the password and key files docker-compose.yml reads (.edp/compose/)
    edp assets render|check  dags/assets.json (the Gold marts, for the DAG's Assets) from dbt's manifest
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from edp.cli import non_negative_int, positive_int, say
from edp.settings import local_paths
from edp.spec import load_spec
from edp_dev.shop import MAX_BATCH_ROWS, MAX_SEED_CUSTOMERS


def _source_connection():
    import psycopg2

    from edp_dev.local.postgres import EmbeddedPostgres

    return psycopg2.connect(EmbeddedPostgres(local_paths().pg).start().dsn())


def cmd_pg(args) -> int:
    from edp_dev.local.postgres import EmbeddedPostgres

    pg = EmbeddedPostgres(local_paths().pg)
    if args.action == "start":
        conn = pg.start()
        say(f"PostgreSQL running on {conn.host}:{conn.port}, database {conn.dbname} (credentials in {pg.conn_file})")
    elif args.action == "stop":
        pg.stop()
        say("PostgreSQL stopped")
    else:
        running = pg.is_initialised() and pg.is_running()
        say(f"PostgreSQL {'running on port ' + str(pg.connection().port) if running else 'not running'}")
        return 0 if running else 3
    return 0


def cmd_seed(args) -> int:
    from edp_dev import shop as source_db

    conn = _source_connection()
    try:
        counts = source_db.seed(conn, source_db.SeedSize.scaled(args.customers), rng_seed=args.seed)
    finally:
        conn.close()
    say("seeded source: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


def cmd_simulate(args) -> int:
    from edp_dev import shop as source_db

    conn = _source_connection()
    try:
        result = source_db.simulate(conn, args.inserts, args.updates, args.deletes, rng_seed=args.seed)
    finally:
        conn.close()
    say(f"applied change batch: {result.inserts} rows inserted, {result.updates} updated, {result.deletes} deleted")
    return 0


def _run_pipeline(tables: list[str] | None, full_refresh: bool, label: str) -> int:
    from edp.runtime import run_context
    from edp_dev.airflow_run import run_dag

    spec = load_spec()
    conf = {"tables": tables or list(spec.table_names), "full_refresh": full_refresh}
    run_context(spec, "cli", conf)  # bad params are named here, before Airflow starts (exit 2)
    log_file = local_paths().root / "logs" / f"{label}-{time.strftime('%Y%m%dT%H%M%S')}.log"
    say(f"running {spec.pipeline.id} through Airflow (dag.test) with {json.dumps(conf)}; log: {log_file}")
    started = time.monotonic()
    progress = _progress(log_file)
    with progress:
        code = run_dag(spec.pipeline.id, conf, log_file=log_file)
    say(f"pipeline {'succeeded' if code == 0 else 'FAILED'} in {time.monotonic() - started:.1f}s")
    if code != 0:
        for failure in progress.failures or ["no task reported why; the run itself failed"]:
            say(f"  failed: {failure}")
        say(f"the whole log: {log_file}")
    return code


class _progress:
    """Echo each task's start and finish from the Airflow log while the run goes on."""

    def __init__(self, log_file: Path):
        self.log_file = log_file
        self.failures: list[str] = []  # "<task>: <error>", one per failed attempt, as the runtime logs them

    def __enter__(self):
        import threading

        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._follow, daemon=True)
        self.thread.start()

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=2)

    def _follow(self) -> None:
        position = 0
        while True:
            stopping = self.stop.wait(0.5)
            if self.log_file.exists():
                with open(self.log_file, errors="replace") as fh:
                    fh.seek(position)
                    for line in fh:
                        self._echo(line)
                    position = fh.tell()
            if stopping:
                return


    def _echo(self, line: str) -> None:
        if "edp: " not in line:
            return
        message = line.split("edp: ", 1)[1].split(" [edp.runtime]")[0].strip()
        if " failed: " in message:
            self.failures.append(message.replace(" failed: ", ": ", 1))
            say(f"  {message}")
        elif " finished: " in message or " on target " in message:
            say(f"  {message}")


def cmd_run(args) -> int:
    tables = [t for t in args.tables.split(",") if t] if args.tables else None
    return _run_pipeline(tables, args.full_refresh, "run")


def cmd_demo(args) -> int:
    from edp_dev.local.postgres import EmbeddedPostgres

    started = time.monotonic()
    say(f"state folder: {local_paths().root}")
    try:
        code = _demo_steps(args)
    finally:
        if not args.keep_running:
            EmbeddedPostgres(local_paths().pg).stop()
            say("embedded PostgreSQL stopped (its data stays in .edp/pg; `edp pg start` resumes it)")
    if code == 0:
        latest = Path((local_paths().artifacts / "latest").read_text().strip())
        say(f"done in {time.monotonic() - started:.0f}s")
        say(f"run report: {latest / 'report.html'}")
        say(f"dbt docs:   {latest / 'docs' / 'index.html'}")
        say(f"history:    {local_paths().artifacts / 'index.html'} (every run: status, tests, freshness, cost)")
        say(f"lineage:    {local_paths().root / 'lineage'} (OpenLineage events, one JSON file each)")
    return code


def _demo_steps(args) -> int:
    from edp_dev import shop as source_db

    conn = _source_connection()
    try:
        if source_db.is_seeded(conn):
            say("source database already seeded; continuing from its current state")
        else:
            counts = source_db.seed(conn, source_db.SeedSize.scaled(args.customers), rng_seed=args.seed)
            say("seeded source: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    finally:
        conn.close()
    say("run 1 of 2: full load (or catch-up) through the whole pipeline")
    if _run_pipeline(None, False, "demo-run1") != 0:
        return 1
    conn = _source_connection()
    try:
        batch = source_db.simulate(conn, args.inserts, args.updates, args.deletes, rng_seed=args.seed + 1)
    finally:
        conn.close()
    say(f"simulator batch: {batch.inserts} inserted, {batch.updates} updated, {batch.deletes} deleted rows")
    say("run 2 of 2: incremental CDC through the whole pipeline")
    return 0 if _run_pipeline(None, False, "demo-run2") == 0 else 1


def cmd_cdc(args) -> int:
    from edp_dev.local.cdc import LocalDms

    dms = LocalDms.for_spec(load_spec())
    dropped = dms.drop_slot()
    say("replication slot dropped; the next run takes a fresh full load" if dropped else "no replication slot to drop")
    return 0


def cmd_emulator(args) -> int:
    """Serve until Ctrl-C or SIGTERM; either way the server process goes too, freeing the port."""
    import signal

    from edp_dev.emulator.server import AwsEmulator

    emulator = AwsEmulator(port=args.port)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # Python's default would exit and orphan the server
    try:
        emulator.start()
        say(f"AWS emulator on {emulator.endpoint}; in another shell: export EDP_AWS_ENDPOINT={emulator.endpoint}")
        assert emulator.proc is not None  # started
        code = emulator.proc.wait()
        say(f"the AWS emulator exited by itself with code {code}")
        return 1
    except KeyboardInterrupt:
        say("AWS emulator stopped")
        return 0
    finally:
        emulator.stop()
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame) -> None:
    """SIGTERM handled as Ctrl-C: unwinds through `finally`, which stops what was started."""
    raise KeyboardInterrupt


def cmd_assets(args) -> int:
    from edp_dev import dbt_assets

    if args.action == "render":
        say(f"wrote {dbt_assets.render()}")
        return 0
    if dbt_assets.is_fresh():
        say("dags/assets.json matches dbt's manifest")
        return 0
    say("dags/assets.json is stale: run `edp assets render`")
    return 1


def cmd_airflow(args) -> int:
    """The Airflow UI from the virtualenv (`airflow standalone`, local target), the way docker-compose.yml runs it."""
    from edp_dev import airflow_stack

    if args.action == "down":
        stopped = airflow_stack.stop_stack()
        say("Airflow stopped" if stopped else "Airflow was not running")
        say("embedded PostgreSQL stopped (its data stays in .edp/pg)")
        return 0
    if args.action == "secrets":
        written = airflow_stack.write_compose_secrets()
        say(f"docker-compose.yml secrets in {airflow_stack.COMPOSE_SECRETS}: "
             + (", ".join(p.name for p in written) + " written" if written else "all present, none changed"))
        return 0
    if args.action == "status":
        info = airflow_stack.running()
        health = airflow_stack.health(info.port) if info else {}
        say(f"Airflow at {info.url} (pid {info.pid}): {health or 'not answering'}" if info else "Airflow not running")
        return 0 if info and airflow_stack.is_healthy(info.port) else 3
    say(f"starting Airflow (state {local_paths().airflow_home}, log {airflow_stack.log_file()}) ...")
    try:
        info = airflow_stack.start_stack(port=args.port, seed_customers=args.customers)
    except RuntimeError as exc:  # already running, port taken, not healthy in time
        print(f"edp: error: {exc}", file=sys.stderr)
        return 2
    say(f"Airflow UI: {info.url}  user: admin  password: {info.password()}  (in {info.password_file})")
    if args.detach:
        say(f"running in the background (pid {info.pid}, {airflow_stack.pid_file()}); `edp airflow down` stops it")
        return 0
    say("Ctrl-C stops it")
    try:
        airflow_stack.wait(info)
    except KeyboardInterrupt:
        pass
    finally:
        airflow_stack.stop_stack()
        say("Airflow and the embedded PostgreSQL stopped")
    return 0


def register(sub) -> None:
    """Add the development commands to the `edp` parser's subcommands."""
    p = sub.add_parser("demo", help="the local end-to-end pipeline: seed, run, change, run again")
    p.add_argument("--customers", type=positive_int, default=200, help="source size in customers (default 200)")
    p.add_argument("--keep-running", action="store_true", help="leave the embedded PostgreSQL running afterwards")
    _batch_args(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("pg", help="the embedded source PostgreSQL")
    p.add_argument("action", choices=("start", "stop", "status"))
    p.set_defaults(func=cmd_pg)

    p = sub.add_parser("seed", help="create the shop schema and load starting data")
    p.add_argument("--customers", type=_at_most(MAX_SEED_CUSTOMERS, "customers per seed", positive_int), default=200,
                   help=f"source size in customers (default 200, at most {MAX_SEED_CUSTOMERS:,})")
    p.add_argument("--seed", type=int, default=7, help="random seed")
    p.set_defaults(func=cmd_seed)

    p = sub.add_parser("simulate", help="apply one batch of inserts, updates and deletes to the source")
    _batch_args(p)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("run", help="one pipeline run through Airflow on the local target")
    p.add_argument("--tables", help="comma-separated source tables (default: all)")
    p.add_argument("--full-refresh", action="store_true")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("cdc", help="the local CDC replication slot")
    p.add_argument("action", choices=("reset",))
    p.set_defaults(func=cmd_cdc)

    p = sub.add_parser("emulator", help="serve the local AWS emulator on a loopback port until interrupted")
    p.add_argument("--port", type=positive_int, default=4566)
    p.set_defaults(func=cmd_emulator)

    p = sub.add_parser("airflow", help="the Airflow UI on this machine without Docker (airflow standalone)")
    p.add_argument("action", choices=("up", "down", "status", "secrets"),
                   help="secrets: write the password and key files docker-compose.yml reads")
    p.add_argument("--port", type=positive_int, help="up: the loopback port of the UI (default: a free one)")
    p.add_argument("--customers", type=non_negative_int, default=200, help="up: seed an empty source (0: do not seed)")
    p.add_argument("--detach", action="store_true", help="up: return once healthy and leave it running")
    p.set_defaults(func=cmd_airflow)

    p = sub.add_parser("assets", help="dags/assets.json (the Gold marts for the DAG's Assets) from dbt's manifest")
    p.add_argument("action", choices=("render", "check"))
    p.set_defaults(func=cmd_assets)


def _batch_args(p) -> None:
    count = _at_most(MAX_BATCH_ROWS, "per kind and batch", non_negative_int)
    p.add_argument("--inserts", type=count, default=60, help=f"default 60; each count at most {MAX_BATCH_ROWS:,}")
    p.add_argument("--updates", type=count, default=40, help="default 40")
    p.add_argument("--deletes", type=count, default=15, help="default 15")
    p.add_argument("--seed", type=int, default=7, help="random seed")


def _at_most(limit: int, unit: str, parse):
    """An argparse type: `parse`, then the simulator's bound (edp_dev.shop), so a too-large request stops at
    the command line (exit 2, the limit named) before PostgreSQL is even started."""

    def parse_bounded(text: str) -> int:
        value = parse(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"{value:,} is more than the limit of {limit:,} {unit}")
        return value

    return parse_bounded
