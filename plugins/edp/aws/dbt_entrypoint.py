"""Entrypoint of the dbt image (dbt/Dockerfile): run the task's command, then upload what dbt wrote.

ECS gives the command as an override (`dbt build --target athena` from Airflow and Step Functions alike,
or `edp artifacts publish --run-id ...` for Step Functions' publishing state).  The container's disk
dies with it, so dbt's target/ goes to `s3://$EDP_ARTIFACTS_BUCKET/runs/<run>/dbt/` as soon as the
command exits, failed or not (a failed build's run results say what failed); the exit code is the
command's, so ECS and the operators see dbt's verdict.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from edp.aws.calls import RUN_ID_ENV
from edp.aws.publish import bucket_from_env, upload_dbt_target


def main(argv: list[str]) -> int:
    if not argv:
        print("dbt image: give the command to run, e.g. dbt build --target athena", file=sys.stderr)
        return 2
    code = subprocess.run(argv).returncode
    run_id = os.environ.get(RUN_ID_ENV)
    if argv[0] == "dbt" and run_id:
        import boto3

        target = Path(os.environ.get("DBT_TARGET_PATH", "target"))
        keys = upload_dbt_target(boto3.client("s3"), bucket_from_env(), run_id, target)
        print(f"uploaded {len(keys)} dbt artifact(s) for run {run_id}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
