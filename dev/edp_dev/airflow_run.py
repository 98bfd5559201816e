"""Running the pipeline DAG through real Airflow on this machine (`dag.test()` on a SQLite metadata DB).

The Airflow process is a child with its own environment, so AIRFLOW_HOME and
friends never need to be set by hand and never leak into the caller.  Run as
`python -m edp_dev.airflow_run <dag_id> <conf json>`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from edp.settings import REPO_ROOT, dags_dir, local_paths


def airflow_env() -> dict[str, str]:
    paths = local_paths()
    home = paths.airflow_home
    home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir()),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "EDP_HOME": str(paths.root),
        "EDP_TARGET": "local",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def ensure_metadata_db() -> None:
    """`airflow db migrate` once per state folder (it is idempotent but takes seconds)."""
    marker = local_paths().airflow_home / ".migrated"
    if marker.exists():
        return
    airflow = str(Path(sys.executable).parent / "airflow")
    proc = subprocess.run([airflow, "db", "migrate"], env=airflow_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    marker.write_text("ok\n")


def run_dag(dag_id: str, conf: dict, log_file: Path | None = None) -> int:
    """Run one DagRun to completion in a child process; returns its exit code (0 = success)."""
    ensure_metadata_db()
    argv = [sys.executable, "-m", "edp_dev.airflow_run", dag_id, json.dumps(conf)]
    if log_file is None:
        return subprocess.run(argv, env=airflow_env()).returncode
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "w") as out:
        return subprocess.run(argv, env=airflow_env(), stdout=out, stderr=subprocess.STDOUT).returncode


def _main(dag_id: str, conf_json: str) -> int:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_dir()))
    if bag.import_errors:
        for path, err in bag.import_errors.items():
            print(f"DAG import error in {path}:\n{err}", file=sys.stderr)
        return 2
    dag = bag.get_dag(dag_id)
    if dag is None:
        print(f"no DAG {dag_id!r} in {dags_dir()}", file=sys.stderr)
        return 2
    # Airflow 3.3.1's dag.test() looks a DAG's deadline alerts up by the ids the DAG processor stores, which a
    # test run never stores, and fails once the run is over; the scheduler (standalone, MWAA) is unaffected,
    # and the UI test runs the pipeline there, deadline included
    dag.deadline = None
    run = dag.test(run_conf=json.loads(conf_json))
    state = str(getattr(run, "state", "unknown"))
    print(f"EDP_DAGRUN_STATE={state}")
    return 0 if state.endswith("success") else 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1], sys.argv[2]))
