"""The `edp` command: the platform's front door.

    edp sfn render|check     write / verify the Step Functions definition rendered from the task list
    edp spec validate        load and validate a task list file
    edp infra plan|apply|destroy   an environment's foundation or session Terraform root
    edp mwaa package|deploy  build plugins.zip, requirements.txt, startup.sh / sync them and dags/ to MWAA
    edp artifacts publish    a run's report and metrics on S3 next to its dbt files (run in the dbt image)

A development install adds the local commands from `edp_dev.cli` (demo, pg, seed, simulate, run, cdc,
emulator, airflow).
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


def say(message: str) -> None:
    print(f"[edp {time.strftime('%H:%M:%S')}] {message}", flush=True)


def cmd_sfn(args) -> int:
    from edp import asl

    spec = load_spec(args.spec)
    folder = Path(args.out) if args.out else SFN_DIR
    if args.action == "render":
        for path in asl.write_asl(spec, folder):
            say(f"wrote {path}")
        return 0
    stale = asl.stale_files(spec, folder)
    if stale:
        say(f"out of date in {folder}: {', '.join(stale)}; run `edp sfn render`")
        return 1
    say(f"{folder} matches {spec.path}")
    return 0


def cmd_dag(args) -> int:
    """The DAG Airflow builds from a task list for the current target (EDP_TARGET), as JSON: every task with
    its upstream ids, whether it is mapped, its operator class and whether it defers."""
    from edp.dag_factory import build_dag, describe_dag

    dag = build_dag(load_spec(args.spec), target=args.target)
    described = describe_dag(dag)
    if args.json:
        print(json.dumps(described, indent=1))
    else:
        for task in described["tasks"]:
            flags = " ".join(f for f, on in (("mapped", task["mapped"]), ("deferrable", task["deferrable"])) if on)
            say(f"{task['task_id']:<24} {task['operator']:<28} <- {', '.join(task['upstream']) or '-'} {flags}")
    return 0


def cmd_spec(args) -> int:
    """Load and validate a task list: its structure, every task's kind and arguments, the files tasks need,
    and whether Step Functions can run its graph exactly (a warning names the orderings it would add)."""
    from edp import asl
    from edp.kinds import KINDS

    spec = load_spec(args.path)
    problems = [f"{spec.path}: task {t.id!r}: {p}" for t in spec.tasks if (p := KINDS[t.kind].check_files(t))]
    if problems:
        raise SpecError("\n".join(problems))
    added = asl.render(spec).added
    if added:
        say("warning: " + asl.added_message(spec, added))
    say(f"{spec.path}: {len(spec.tasks)} tasks, {len(spec.sources)} source tables, schedule {spec.pipeline.schedule}")
    return 0


def cmd_infra(args) -> int:
    """What CI or a person does to the foundation (and what the session DAG does to the session root)."""
    from edp.environments import resolve_environment, terraform_root

    environment = resolve_environment(args.environment)  # named in every message, not the flag's None
    root = terraform_root(environment, args.layer)
    runner = root.runner(echo=print)
    root.init(runner)
    changed = runner.plan(root.plan_file, root.variables, destroy=args.action == "destroy")
    if args.action != "plan" and changed:
        runner.apply(root.plan_file, protect_data=not args.allow_data_loss)
    say(f"{environment}/{args.layer}: {args.action} done" + ("" if changed else " (no changes)"))
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
    say(f"published {published['uri']} (report: {published['report']})")
    return 0


def cmd_mwaa(args) -> int:
    """Package the MWAA artifacts, or deploy them with dags/ to the environment's bucket."""
    from edp import mwaa
    from edp.environments import resolve_environment

    environment = resolve_environment(args.environment)
    if args.action == "package":
        out = Path(args.out) if args.out else local_paths().root / "mwaa" / environment
        for path in mwaa.package(out, environment).values():
            say(f"wrote {path}")
        return 0
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        mwaa.deploy(environment, bucket=args.bucket, name=args.name, echo=say)
    except (BotoCoreError, ClientError) as exc:  # no credentials or region, access denied, no such environment
        print(f"edp: error: deploying to MWAA ({environment}): {exc}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edp", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sfn", help="the Step Functions definition rendered from the task list")
    p.add_argument("action", choices=("render", "check"))
    p.add_argument("--spec", help="task list file (default dags/pipeline.yaml)")
    p.add_argument("--out", help=f"output folder (default {SFN_DIR.relative_to(REPO_ROOT)})")
    p.set_defaults(func=cmd_sfn)

    p = sub.add_parser("infra", help="plan, apply or destroy an environment's Terraform root")
    p.add_argument("action", choices=("plan", "apply", "destroy"))
    p.add_argument("--environment", default=None,
                   help="emulator (against EDP_AWS_ENDPOINT), dev, staging, prod (default: EDP_ENVIRONMENT, else emulator)")
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

    p = sub.add_parser("dag", help="the Airflow DAG a task list renders to, for the current target")
    p.add_argument("action", choices=("show",))
    p.add_argument("--spec", help="task list file (default dags/pipeline.yaml)")
    p.add_argument("--target", choices=("local", "aws"), help="default: EDP_TARGET, else local")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_dag)

    p = sub.add_parser("spec", help="the pipeline task list")
    p.add_argument("action", choices=("validate",))
    p.add_argument("path", nargs="?")
    p.set_defaults(func=cmd_spec)

    _add_dev_commands(sub)
    return parser


def _add_dev_commands(sub) -> None:
    """The development and demo commands (demo, pg, seed, simulate, run, cdc, emulator, airflow) come from
    the `edp_dev` package, which a development install has and MWAA or the dbt image do not."""
    try:
        from edp_dev import cli as dev_cli
    except ImportError:
        return
    dev_cli.register(sub)


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def non_negative_int(text: str) -> int:
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
