"""Running the pipeline DAG through real Airflow on this machine (`dag.test()` on a SQLite metadata DB).

The Airflow process is a child with its own environment, so AIRFLOW_HOME and
friends never need to be set by hand and never leak into the caller.  Run as
`python -m edp_dev.airflow_run <dag_id> <conf json>`.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from edp.settings import REPO_ROOT, dags_dir, local_paths
from edp_dev.private_files import open_private_append, private_dir, write_private

LOOPBACK = "127.0.0.1"
LOG_SERVER_MODULE = "airflow.utils.serve_logs.core"
LOCAL_SETTINGS = '''"""Written by edp_dev.airflow_run for this Airflow: see bind_log_servers_to_loopback there
and edp_dev.dag_policy."""
from edp_dev.airflow_run import bind_log_servers_to_loopback
from edp_dev.dag_policy import dag_policy

# Airflow registers the policies named here and copies any other exported name into airflow.settings
__all__: list[str] = ["dag_policy"]
bind_log_servers_to_loopback()
'''


def airflow_env() -> dict[str, str]:
    """The environment of every Airflow process on the state folder (`edp run`, `edp airflow up`): its private
    AIRFLOW_HOME (it holds airflow.cfg's keys and the admin password), the repo's DAGs and plugins, loopback,
    OpenLineage events into `<state>/lineage/`."""
    from edp_dev.local.lineage import lineage_config

    paths = local_paths()
    home = private_dir(paths.airflow_home)
    _write_local_settings(home)
    return {
        **lineage_config(),
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir()),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        # `dag.test` stores the DAG too: stored paused, a later `edp airflow up` would leave its runs queued
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        # the log servers listen on loopback only (airflow_local_settings), so a task's log is fetched there
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "edp_dev.airflow_run.loopback_hostname",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": LOOPBACK,
        "AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FOLDER_PERMISSIONS": "0o700",
        "AIRFLOW__LOGGING__FILE_TASK_HANDLER_NEW_FILE_PERMISSIONS": "0o600",
        "EDP_HOME": str(paths.root),
        "EDP_TARGET": "local",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def loopback_hostname() -> str:
    """`[core] hostname_callable`: the host the api-server fetches a running task's log from.  The log servers
    listen on loopback only, and the machine's own name may resolve to a LAN address (or Debian's 127.0.1.1)."""
    return LOOPBACK


def _write_local_settings(home: Path) -> None:
    """`<AIRFLOW_HOME>/config/airflow_local_settings.py`, which every Airflow process imports at start."""
    path = home / "config" / "airflow_local_settings.py"
    if not path.exists() or path.read_text() != LOCAL_SETTINGS:
        write_private(path, LOCAL_SETTINGS)


def bind_log_servers_to_loopback() -> None:
    """Airflow 3.3's log servers (the scheduler's serve-logs on `[logging] worker_log_server_port`, the
    triggerer's on `trigger_log_server_port`) listen on every interface: `serve_logs` calls
    `uvicorn.run(host="")` and no setting names the host.  Have that module's uvicorn listen on loopback,
    patched as the module is imported (importing it here would cost every task process 0.4 s)."""
    if not any(isinstance(finder, _PatchOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport(LOG_SERVER_MODULE, _serve_on_loopback))


def _serve_on_loopback(module) -> None:
    real = module.uvicorn
    module.uvicorn = SimpleNamespace(run=lambda app, **kwargs: real.run(app, **{**kwargs, "host": LOOPBACK}))


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Run `patch(module)` right after the module `name` executes, in whichever process imports it."""

    def __init__(self, name: str, patch) -> None:
        self.name, self.patch = name, patch

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # let the ordinary finders find it
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        exec_module = spec.loader.exec_module

        def exec_and_patch(module) -> None:
            exec_module(module)
            self.patch(module)

        spec.loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


AIRFLOW = str(Path(sys.executable).parent / "airflow")  # the virtualenv's CLI


def airflow_cli(args: list[str], env: dict[str, str]) -> None:
    """Run one `airflow` command to its end; a failure raises with the end of what it printed."""
    proc = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"`airflow {' '.join(args)}` failed with exit code {proc.returncode}:\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def ensure_metadata_db() -> None:
    """`airflow db migrate` once per state folder (it is idempotent but takes seconds)."""
    marker = local_paths().airflow_home / ".migrated"
    if marker.exists():
        return
    airflow_cli(["db", "migrate"], airflow_env())
    marker.write_text("ok\n")


def run_dag(dag_id: str, conf: dict, log_file: Path | None = None, target: str = "local",
            task_list: Path | None = None) -> int:
    """Run one DagRun to completion in a child process, the DAG rendered for `target` (the deployment's
    setting, as EDP_TARGET is on MWAA) from `task_list` (default dags/pipeline.yaml); returns its exit code
    (0 = success)."""
    ensure_metadata_db()
    argv = [sys.executable, "-m", "edp_dev.airflow_run", dag_id, json.dumps(conf)]
    env = {**airflow_env(), "EDP_TARGET": target, **({"EDP_TASK_LIST": str(task_list)} if task_list else {})}
    if log_file is None:
        return subprocess.run(argv, env=env).returncode
    out = open_private_append(log_file)  # 0600 in a 0700 folder, like every log of the state folder
    try:
        os.ftruncate(out, 0)
        return subprocess.run(argv, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    finally:
        os.close(out)


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
