"""dbt on the local target: the real dbt CLI against DuckDB, with every path set through the environment.

dbt runs as a subprocess so its global state and logging never leak into the
Airflow task process.  `docs generate` overwrites run_results.json, so the
build's results are kept as `run_results.build.json` for publishing.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from edp.settings import dbt_project_dir, local_paths
from edp_dev.local.catalog import CATALOG_FILE

log = logging.getLogger(__name__)
COMMANDS = ("build", "run", "test")
BUILD_RESULTS = "run_results.build.json"


class DbtError(RuntimeError):
    """dbt exited non-zero; the message carries the failing nodes and the end of its output."""


def dbt_executable() -> str:
    beside = Path(sys.executable).parent / "dbt"
    found = str(beside) if beside.exists() else shutil.which("dbt")
    if not found:
        raise DbtError("the dbt command is not installed in this environment (pip install dbt-core dbt-duckdb)")
    return found


def dbt_env() -> dict[str, str]:
    paths = local_paths()
    paths.warehouse.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "EDP_DBT_TARGET": "duckdb",
        "EDP_WAREHOUSE_PATH": str(paths.warehouse / "warehouse.duckdb"),
        "EDP_CATALOG_PATH": str(paths.catalog / CATALOG_FILE),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def run_dbt(*args: str) -> str:
    paths = local_paths()
    argv = [dbt_executable(), *args, "--project-dir", str(dbt_project_dir()), "--profiles-dir", str(dbt_project_dir()),
            "--target-path", str(paths.dbt_target), "--log-path", str(paths.dbt_target.parent / "logs")]
    proc = subprocess.run(argv, env=dbt_env(), capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        log.info("dbt | %s", line)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise DbtError(f"`dbt {' '.join(args)}` failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def build(command: str = "build", full_refresh: bool = False) -> dict:
    if command not in COMMANDS:
        raise DbtError(f"unknown dbt command {command!r}; use one of {', '.join(COMMANDS)}")
    started = time.monotonic()
    target = local_paths().dbt_target
    args = [command] + (["--full-refresh"] if full_refresh and command != "test" else [])
    run_dbt(*args)
    shutil.copyfile(target / "run_results.json", target / BUILD_RESULTS)
    run_dbt("docs", "generate", "--static")
    results = json.loads((target / BUILD_RESULTS).read_text())["results"]
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return {"command": command, "nodes": len(results), "statuses": statuses,
            "seconds": round(time.monotonic() - started, 3)}
