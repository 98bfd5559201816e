"""The `edp` command: the local platform's front door.

    edp demo                 seed, run the pipeline, apply a change batch, run it again, print the report
    edp pg start|stop|status  the embedded source PostgreSQL
    edp seed / edp simulate   load the source / apply a batch of inserts, updates and deletes
    edp run                  one pipeline run through Airflow (dag.test) on the local target
    edp cdc reset            drop the replication slot (the next run takes a fresh full load)
    edp sfn render|check     write / verify the Step Functions definition rendered from the task list
    edp spec validate        load and validate a task list file
    edp emulator             serve the local AWS emulator (moto, with the calls it lacks supplied)
    edp infra plan|apply|destroy   an environment's foundation or session Terraform root
    edp airflow up|down|status     the Airflow UI without Docker (airflow standalone on the local target)
    edp airflow secrets            the password and key files docker-compose.yml reads (.edp/compose/)
    edp mwaa package|deploy  build plugins.zip, requirements.txt, startup.sh / sync them and dags/ to MWAA
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from edp.settings import REPO_ROOT, ConfigError, local_paths
from edp.spec import SpecError, load_spec
from edp.terraform import TerraformError

SFN_DIR = REPO_ROOT / "terraform" / "modules" / "step_functions"


def _say(message: str) -> None:
    print(f"[edp {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _source_connection():
    import psycopg2

    from edp.local.postgres import EmbeddedPostgres

    return psycopg2.connect(EmbeddedPostgres(local_paths().pg).start().dsn())


def cmd_pg(args) -> int:
    from edp.local.postgres import EmbeddedPostgres

    pg = EmbeddedPostgres(local_paths().pg)
    if args.action == "start":
        conn = pg.start()
        _say(f"PostgreSQL running on {conn.host}:{conn.port}, database {conn.dbname} (credentials in {pg.conn_file})")
    elif args.action == "stop":
        pg.stop()
        _say("PostgreSQL stopped")
    else:
        running = pg.is_initialised() and pg.is_running()
        _say(f"PostgreSQL {'running on port ' + str(pg.connection().port) if running else 'not running'}")
        return 0 if running else 3
    return 0


def cmd_seed(args) -> int:
    from edp.local import source_db

    conn = _source_connection()
    try:
        counts = source_db.seed(conn, source_db.SeedSize.scaled(args.customers), rng_seed=args.seed)
    finally:
        conn.close()
    _say("seeded source: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


def cmd_simulate(args) -> int:
    from edp.local import source_db

    conn = _source_connection()
    try:
        result = source_db.simulate(conn, args.inserts, args.updates, args.deletes, rng_seed=args.seed)
    finally:
        conn.close()
    _say(f"applied change batch: {result.inserts} rows inserted, {result.updates} updated, {result.deletes} deleted")
    return 0


def _run_pipeline(tables: list[str] | None, full_refresh: bool, label: str) -> int:
    from edp.local.airflow_run import run_dag

    spec = load_spec()
    conf = {"target": "local", "tables": tables or list(spec.table_names), "full_refresh": full_refresh}
    log_file = local_paths().root / "logs" / f"{label}-{time.strftime('%Y%m%dT%H%M%S')}.log"
    _say(f"running {spec.pipeline.id} through Airflow (dag.test) with {json.dumps(conf)}; log: {log_file}")
    started = time.monotonic()
    with _progress(log_file):
        code = run_dag(spec.pipeline.id, conf, log_file=log_file)
    _say(f"pipeline {'succeeded' if code == 0 else 'FAILED'} in {time.monotonic() - started:.1f}s")
    if code != 0:
        _say(f"see {log_file} for the failing task's log")
    return code


class _progress:
    """Echo each task's start and finish from the Airflow log while the run goes on."""

    def __init__(self, log_file: Path):
        self.log_file = log_file

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
                        if "edp: " in line and (" finished: " in line or " on target " in line):
                            _say("  " + line.split("edp: ", 1)[1].split(" [edp.runtime]")[0].strip())
                        elif "Task failed with exception" in line:
                            _say("  a task failed; Airflow retries it (details in the log)")
                    position = fh.tell()
            if stopping:
                return


def cmd_run(args) -> int:
    tables = [t for t in args.tables.split(",") if t] if args.tables else None
    return _run_pipeline(tables, args.full_refresh, "run")


def cmd_demo(args) -> int:
    from edp.local.postgres import EmbeddedPostgres

    started = time.monotonic()
    _say(f"state folder: {local_paths().root}")
    try:
        code = _demo_steps(args)
    finally:
        if not args.keep_running:
            EmbeddedPostgres(local_paths().pg).stop()
            _say("embedded PostgreSQL stopped (its data stays in .edp/pg; `edp pg start` resumes it)")
    if code == 0:
        latest = Path((local_paths().artifacts / "latest").read_text().strip())
        _say(f"done in {time.monotonic() - started:.0f}s")
        _say(f"run report: {latest / 'report.html'}")
        _say(f"dbt docs:   {latest / 'docs' / 'index.html'}")
    return code


def _demo_steps(args) -> int:
    from edp.local import source_db

    conn = _source_connection()
    try:
        if source_db.is_seeded(conn):
            _say("source database already seeded; continuing from its current state")
        else:
            counts = source_db.seed(conn, source_db.SeedSize.scaled(args.customers), rng_seed=args.seed)
            _say("seeded source: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    finally:
        conn.close()
    _say("run 1 of 2: full load (or catch-up) through the whole pipeline")
    if _run_pipeline(None, False, "demo-run1") != 0:
        return 1
    conn = _source_connection()
    try:
        batch = source_db.simulate(conn, args.inserts, args.updates, args.deletes, rng_seed=args.seed + 1)
    finally:
        conn.close()
    _say(f"simulator batch: {batch.inserts} inserted, {batch.updates} updated, {batch.deletes} deleted rows")
    _say("run 2 of 2: incremental CDC through the whole pipeline")
    return 0 if _run_pipeline(None, False, "demo-run2") == 0 else 1


def cmd_cdc(args) -> int:
    from edp.local.cdc import LocalDms

    dms = LocalDms.for_spec(load_spec())
    dropped = dms.drop_slot()
    _say("replication slot dropped; the next run takes a fresh full load" if dropped else "no replication slot to drop")
    return 0


def cmd_sfn(args) -> int:
    from edp import asl

    spec = load_spec(args.spec)
    folder = Path(args.out) if args.out else SFN_DIR
    if args.action == "render":
        for path in asl.write_asl(spec, folder):
            _say(f"wrote {path}")
        return 0
    stale = asl.stale_files(spec, folder)
    if stale:
        _say(f"out of date in {folder}: {', '.join(stale)}; run `edp sfn render`")
        return 1
    _say(f"{folder} matches {spec.path}")
    return 0


def cmd_spec(args) -> int:
    spec = load_spec(args.path)
    _say(f"{spec.path}: {len(spec.tasks)} tasks, {len(spec.sources)} source tables, schedule {spec.pipeline.schedule}")
    return 0


def cmd_emulator(args) -> int:
    from edp.local.emulator import AwsEmulator

    emulator = AwsEmulator(port=args.port)
    emulator.start()
    _say(f"AWS emulator on {emulator.endpoint}; in another shell: export EDP_AWS_ENDPOINT={emulator.endpoint}")
    try:
        emulator.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


def cmd_infra(args) -> int:
    """What CI or a person does to the foundation (and what the session DAG does to the session root)."""
    from edp.environments import terraform_root

    root = terraform_root(args.environment, args.layer)
    runner = root.runner(echo=print)
    runner.init(backend_config=root.backend_config)
    changed = runner.plan(root.plan_file, root.variables, destroy=args.action == "destroy")
    if args.action != "plan" and changed:
        runner.apply(root.plan_file, protect_data=not args.allow_data_loss)
    _say(f"{args.environment}/{args.layer}: {args.action} done" + ("" if changed else " (no changes)"))
    return 0


def cmd_artifacts(args) -> int:
    """Publish a run's metrics and report next to the dbt files its container uploaded (Step Functions'
    publishing state runs this in the dbt image; Airflow's aws target calls the same function)."""
    import os

    from edp.aws.publish import BUCKET_ENV, publish_run
    from edp.environments import aws_client

    if os.environ.get(BUCKET_ENV):  # inside the dbt image: the task definition names the bucket
        import boto3

        s3, bucket = boto3.client("s3"), os.environ[BUCKET_ENV]
    else:
        from edp.aws.names import Platform

        platform = Platform.load(args.environment)
        s3, bucket = aws_client("s3", platform.environment), platform.bucket("artifacts")
    published = publish_run(s3, bucket, args.run_id, {})
    _say(f"published {published['uri']} (report: {published['report']})")
    return 0


def cmd_mwaa(args) -> int:
    """Package the MWAA artifacts, or deploy them with dags/ to the environment's bucket."""
    from edp import mwaa
    from edp.environments import resolve_environment

    environment = resolve_environment(args.environment)
    if args.action == "package":
        out = Path(args.out) if args.out else local_paths().root / "mwaa" / environment
        for path in mwaa.package(out, environment).values():
            _say(f"wrote {path}")
        return 0
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        mwaa.deploy(environment, bucket=args.bucket, name=args.name, echo=_say)
    except (BotoCoreError, ClientError) as exc:  # no credentials or region, access denied, no such environment
        print(f"edp: error: deploying to MWAA ({environment}): {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_airflow(args) -> int:
    """The Airflow UI from the virtualenv (`airflow standalone`, local target), the way docker-compose.yml runs it."""
    from edp.local import airflow_stack

    if args.action == "down":
        stopped = airflow_stack.stop_stack()
        _say("Airflow stopped" if stopped else "Airflow was not running")
        _say("embedded PostgreSQL stopped (its data stays in .edp/pg)")
        return 0
    if args.action == "secrets":
        written = airflow_stack.write_compose_secrets()
        _say(f"docker-compose.yml secrets in {airflow_stack.COMPOSE_SECRETS}: "
             + (", ".join(p.name for p in written) + " written" if written else "all present, none changed"))
        return 0
    if args.action == "status":
        info = airflow_stack.running()
        health = airflow_stack.health(info.port) if info else {}
        _say(f"Airflow at {info.url} (pid {info.pid}): {health or 'not answering'}" if info else "Airflow not running")
        return 0 if info and airflow_stack.is_healthy(info.port) else 3
    _say(f"starting Airflow (state {local_paths().airflow_home}, log {airflow_stack.log_file()}) ...")
    try:
        info = airflow_stack.start_stack(port=args.port, seed_customers=args.customers)
    except RuntimeError as exc:  # already running, port taken, not healthy in time
        print(f"edp: error: {exc}", file=sys.stderr)
        return 2
    _say(f"Airflow UI: {info.url}  user: admin  password: {info.password()}  (in {info.password_file})")
    if args.detach:
        _say(f"running in the background (pid {info.pid}, {airflow_stack.pid_file()}); `edp airflow down` stops it")
        return 0
    _say("Ctrl-C stops it")
    try:
        airflow_stack.wait(info)
    except KeyboardInterrupt:
        pass
    finally:
        airflow_stack.stop_stack()
        _say("Airflow and the embedded PostgreSQL stopped")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edp", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="the local end-to-end pipeline: seed, run, change, run again")
    p.add_argument("--customers", type=_positive, default=200, help="source size in customers (default 200)")
    p.add_argument("--keep-running", action="store_true", help="leave the embedded PostgreSQL running afterwards")
    _batch_args(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("pg", help="the embedded source PostgreSQL")
    p.add_argument("action", choices=("start", "stop", "status"))
    p.set_defaults(func=cmd_pg)

    p = sub.add_parser("seed", help="create the shop schema and load starting data")
    p.add_argument("--customers", type=_positive, default=200)
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

    p = sub.add_parser("sfn", help="the Step Functions definition rendered from the task list")
    p.add_argument("action", choices=("render", "check"))
    p.add_argument("--spec", help="task list file (default dags/pipeline.yaml)")
    p.add_argument("--out", help=f"output folder (default {SFN_DIR.relative_to(REPO_ROOT)})")
    p.set_defaults(func=cmd_sfn)

    p = sub.add_parser("emulator", help="serve the local AWS emulator on a loopback port until interrupted")
    p.add_argument("--port", type=_positive, default=4566)
    p.set_defaults(func=cmd_emulator)

    p = sub.add_parser("infra", help="plan, apply or destroy an environment's Terraform root")
    p.add_argument("action", choices=("plan", "apply", "destroy"))
    p.add_argument("--environment", default=None, help="local (default, against EDP_AWS_ENDPOINT), dev, staging, prod")
    p.add_argument("--layer", choices=("foundation", "session"), default="foundation")
    p.add_argument("--allow-data-loss", action="store_true",
                   help="let the plan delete buckets, catalogs or keys (a person retiring an environment)")
    p.set_defaults(func=cmd_infra)

    p = sub.add_parser("artifacts", help="publish a run's report and metrics on AWS next to its dbt artifacts")
    p.add_argument("action", choices=["publish"])
    p.add_argument("--run-id", required=True, help="the Airflow run id or Step Functions execution name")
    p.add_argument("--environment", default=None, help="read the artifacts bucket from this environment's outputs")
    p.set_defaults(func=cmd_artifacts)

    p = sub.add_parser("mwaa", help="package the MWAA plugins, requirements and startup script; deploy to MWAA")
    p.add_argument("action", choices=("package", "deploy"))
    p.add_argument("--environment", default=None, help="local (default, against EDP_AWS_ENDPOINT), dev, staging, prod")
    p.add_argument("--out", help="package: output folder (default .edp/mwaa/<environment>)")
    p.add_argument("--bucket", help="deploy: the MWAA bucket (default: the foundation's published mwaa output)")
    p.add_argument("--name", help="deploy: the MWAA environment (default: the foundation's published mwaa output)")
    p.set_defaults(func=cmd_mwaa)

    p = sub.add_parser("airflow", help="the Airflow UI on this machine without Docker (airflow standalone)")
    p.add_argument("action", choices=("up", "down", "status", "secrets"),
                   help="secrets: write the password and key files docker-compose.yml reads")
    p.add_argument("--port", type=_positive, help="up: the loopback port of the UI (default: a free one)")
    p.add_argument("--customers", type=_non_negative, default=200, help="up: seed an empty source (0: do not seed)")
    p.add_argument("--detach", action="store_true", help="up: return once healthy and leave it running")
    p.set_defaults(func=cmd_airflow)

    p = sub.add_parser("spec", help="the pipeline task list")
    p.add_argument("action", choices=("validate",))
    p.add_argument("path", nargs="?")
    p.set_defaults(func=cmd_spec)
    return parser


def _batch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--inserts", type=_non_negative, default=60)
    p.add_argument("--updates", type=_non_negative, default=40)
    p.add_argument("--deletes", type=_non_negative, default=15)
    p.add_argument("--seed", type=int, default=7, help="random seed")


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (SpecError, ConfigError, ValueError, FileNotFoundError, TerraformError) as exc:
        print(f"edp: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
