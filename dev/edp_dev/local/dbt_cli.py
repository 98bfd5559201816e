"""dbt on the local target: real dbt against DuckDB, with every path set through the environment.

Each step runs in a child process (`python -m edp_dev.local.dbt_cli`), so dbt's global state and logging
never leak into the Airflow task process; the child invokes dbt in-process (dbtRunner) for the step and for
the docs after it, so a step pays for starting Python and importing dbt once, not twice (~5 s a step).
A pipeline may split dbt into steps (`seed`, `run`,
`test`, ...), each a task; every step's results are kept under its own name in
`steps/`, and the latest step's run results are copied to
`run_results.build.json`, the name publishing reads (`docs generate` overwrites
run_results.json).  Docs are regenerated after every step that builds models,
and after any step when there are none yet, so whichever step comes last the
publish step finds manifest.json, the run results, catalog.json and the static
docs page.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from edp.settings import PermanentError, dbt_project_dir, local_paths
from edp_dev.local.catalog import CATALOG_FILE

log = logging.getLogger(__name__)
COMMANDS = ("build", "run", "test", "seed", "snapshot", "source freshness", "compile")
BUILDS_MODELS = ("build", "run", "seed", "snapshot")  # steps that change relations: the docs' catalog follows
FULL_REFRESH = ("build", "run", "seed")  # the commands that accept --full-refresh
BUILD_RESULTS = "run_results.build.json"
DOCS_FILES = ("catalog.json", "static_index.html")
STEPS_DIR = "steps"


class DbtError(RuntimeError):
    """dbt exited non-zero; the message carries the failing nodes and the end of its output."""


class DbtTestsFailed(DbtError, PermanentError):
    """Data tests failed and nothing errored: the data is wrong, and running dbt again cannot change that, so
    the task fails at once instead of retrying."""


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


def dbt_args(*args: str, target: Path | None = None, logs: Path | None = None) -> list[str]:
    """A dbt command line over the project in dbt/, writing to `target` and `logs` (default: this state
    folder's dbt target and logs)."""
    target = target or local_paths().dbt_target
    logs = logs or target.parent / "logs"
    return [*args, "--project-dir", str(dbt_project_dir()), "--profiles-dir", str(dbt_project_dir()),
            "--target-path", str(target), "--log-path", str(logs)]


def _invoke(*args: str) -> None:
    """One dbt command in this process (the step's child); DbtTestsFailed when only data tests failed."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(dbt_args(*args))
    if result.success:
        return
    failed = _failed_nodes(local_paths().dbt_target / "run_results.json")
    if failed and all(status == "fail" for status in failed.values()):
        raise DbtTestsFailed(f"`dbt {' '.join(args)}`: data test(s) failed: {', '.join(sorted(failed))}")
    raise DbtError(f"`dbt {' '.join(args)}` failed" + (f": {result.exception}" if result.exception else ""))


def _failed_nodes(results_file: Path) -> dict[str, str]:
    """Nodes of the last dbt invocation that did not pass, with their status (fail: a data test; error: SQL)."""
    if not results_file.is_file():
        return {}
    results = json.loads(results_file.read_text()).get("results", [])
    return {r["unique_id"]: r["status"] for r in results if r.get("status") in ("fail", "error")}


def command_line(command: str = "build", select: str = "", full_refresh: bool = False) -> list[str]:
    """dbt's arguments for one step; --full-refresh only where dbt accepts it (a full-refresh run still tests)."""
    if command not in COMMANDS:
        raise DbtError(f"unknown dbt command {command!r}; use one of {', '.join(COMMANDS)}")
    args = command.split()
    if select.strip():
        args += ["--select", select.strip()]
    if full_refresh and command in FULL_REFRESH:
        args.append("--full-refresh")
    return args


def results_file(command: str) -> str:
    """The file a step writes its results to: `source freshness` writes sources.json, the rest run_results.json."""
    return "sources.json" if command == "source freshness" else "run_results.json"


def step_results_path(target: Path, name: str) -> Path:
    """Where one step's results are kept: named by the step (the task id), so two steps never share a file."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return target / STEPS_DIR / f"{safe}.json"


def _keep_results(target: Path, command: str, name: str) -> Path | None:
    """Copy the step's results (even a failed step's, for whoever debugs it) to its per-step file."""
    produced = target / results_file(command)
    if not produced.exists():
        return None
    kept = step_results_path(target, name)
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(produced, kept)
    return kept


def _needs_docs(target: Path, command: str) -> bool:
    return command in BUILDS_MODELS or not all((target / f).exists() for f in DOCS_FILES)


STEP_OUTCOME = "EDP_DBT_STEP="  # the child's last line: the kept results, or the error it stopped on


def build(command: str = "build", full_refresh: bool = False, select: str = "", name: str = "") -> dict:
    """Run one dbt step (any of COMMANDS, optionally narrowed by `select`), keep its results for publishing and
    refresh the docs when the step built something; the step's metrics. `name` (the task id) names its
    results file, defaulting to the command."""
    started = time.monotonic()
    argv = command_line(command, select, full_refresh)
    step = {"command": command, "argv": argv, "name": name or command}
    proc = subprocess.run([sys.executable, "-m", __name__, json.dumps(step)], env=dbt_env(),
                          capture_output=True, text=True)
    outcome: dict = {}
    for line in proc.stdout.splitlines():
        if line.startswith(STEP_OUTCOME):
            outcome = json.loads(line[len(STEP_OUTCOME):])
        else:
            log.info("dbt | %s", line)
    if proc.returncode != 0 or "kept" not in outcome:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        error = DbtTestsFailed if outcome.get("tests_failed") else DbtError
        raise error(f"{outcome.get('error') or f'`dbt {shlex.join(argv)}` exited {proc.returncode}'}\n{tail}")
    results = json.loads(Path(outcome["kept"]).read_text())["results"]
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return {"command": command, "select": select, "nodes": len(results), "statuses": statuses,
            "seconds": round(time.monotonic() - started, 3)}


def _step(command: str, argv: list[str], name: str) -> Path:
    """The step itself, in the child: dbt, its results kept (even a failed step's, for whoever debugs it), then
    the docs; the kept results file."""
    target = local_paths().dbt_target
    for stale in {results_file(command), "run_results.json"}:  # a step that writes none must not pass off
        (target / stale).unlink(missing_ok=True)                # an older step's results as its own
    try:
        _invoke(*argv)
    finally:
        kept = _keep_results(target, command, name)
    if kept is None:
        raise DbtError(f"`dbt {shlex.join(argv)}` left no {results_file(command)} in {target}")
    if command != "source freshness":  # sources.json is no run_results file: publishing keeps the last one
        shutil.copyfile(kept, target / BUILD_RESULTS)
    if _needs_docs(target, command):
        _invoke("docs", "generate", "--static")
    return kept


def _main(step_json: str) -> int:
    step = json.loads(step_json)
    try:
        kept = _step(step["command"], step["argv"], step["name"])
    except DbtError as exc:
        print(STEP_OUTCOME + json.dumps({"error": str(exc), "tests_failed": isinstance(exc, DbtTestsFailed)}))
        return 1
    print(STEP_OUTCOME + json.dumps({"kept": str(kept)}))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1]))
