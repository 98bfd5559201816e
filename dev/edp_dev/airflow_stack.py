"""The Airflow UI on this machine without Docker: `airflow standalone` from the virtualenv.

`docker-compose.yml` runs the MWAA-like stack in containers; this is the same
stack for a machine without a Docker engine.  One process group runs the
api-server, scheduler, dag-processor and triggerer (LocalExecutor) against the
state folder's metadata DB (`airflow_env()`, the one `edp run` uses too), with
the repo's `dags/` and `plugins/`, the `local` target and the embedded source
PostgreSQL started (and seeded when empty) first.

Only what is triggered runs, by a person or by data: clock schedules are off
(`edp_dev.dag_policy`, so opening the UI does not start last night's run; the
DAGs a demo or `edp run` stored with their clocks are re-stored without them
before the scheduler starts, `forget_clock_schedules`) while Asset schedules
stay on, so a pipeline run that updates the Gold Assets starts
`edp_pipeline_on_gold`; DAGs are unpaused, so a run triggered from the UI starts
at once.

Secrets stay private: the `admin` password is generated here, not by Airflow
(which would print it into the log and leave its file 0644), and written 0600
into the 0700 AIRFLOW_HOME before Airflow starts; Airflow then neither prints
nor rewrites it.  The log is 0600 in a 0700 folder.  Everything listens on
127.0.0.1 only: the api-server by its setting, the scheduler's and the
triggerer's log servers (on free ports, so two stacks can run side by side)
through `airflow_run.bind_log_servers_to_loopback`.

    stack = start_stack()        # returns once /api/v2/monitor/health says every component is healthy
    stack.url, stack.password()
    stop_stack()                 # the whole process group, and the embedded PostgreSQL
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import stat
import subprocess
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from edp.settings import REPO_ROOT, local_paths
from edp_dev.airflow_run import AIRFLOW, airflow_cli, airflow_env
from edp_dev.dag_policy import CLOCKS_ENV, OFF
from edp_dev.ports import free_port, port_is_free
from edp_dev.private_files import PRIVATE_FILE, open_private_append, private_dir, write_private

HEALTH_PATH = "/api/v2/monitor/health"
COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
ADMIN = "admin"
PASSWORDS_FILE = "simple_auth_manager_passwords.json"  # in AIRFLOW_HOME; `[core] simple_auth_manager_passwords_file`
COMPOSE_SECRETS = REPO_ROOT / ".edp" / "compose"  # docker-compose.yml names these paths, whatever EDP_HOME says
COMPOSE_SECRET_MODE = 0o600  # see write_compose_secrets


@dataclass(frozen=True)
class StackInfo:
    """What the pid file records about a running stack."""

    pid: int
    port: int
    home: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def password_file(self) -> Path:
        return Path(self.home) / PASSWORDS_FILE

    def password(self) -> str:
        """The generated password of the `admin` user."""
        return json.loads(self.password_file.read_text())[ADMIN]


def pid_file() -> Path:
    return local_paths().airflow_home / "standalone.pid.json"


def log_file() -> Path:
    return local_paths().root / "logs" / "airflow-standalone.log"


def stack_env(port: int) -> dict[str, str]:
    """`airflow_env()` plus what a long-running local stack needs: a loopback port, one api-server worker, our
    passwords file, log servers on ports of their own (Airflow's fixed 8793/8794 would collide between stacks)."""
    url = f"http://127.0.0.1:{port}"
    env = airflow_env()
    worker_logs, trigger_logs = _free_ports(2, taken={port})
    return {
        **env,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        # not `[scheduler] use_job_schedule = False`: that stops asset-triggered runs too (see edp_dev.dag_policy)
        CLOCKS_ENV: OFF,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(Path(env["AIRFLOW_HOME"]) / PASSWORDS_FILE),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(worker_logs),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(trigger_logs),
        # one api-server worker on a SQLite metadata DB: on a loaded laptop a task's first call can wait past
        # the 5 s default, and five such waits fail the task before it starts
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
        # the scheduler queues tasks before the api-server listens (standalone starts both at once; the
        # api-server took 30 s beside the suite): 5 retries give up after ~15 s and the task then sits out its
        # retry delay (5 min); 9 wait up to ~4 min (1, 2, 4... s, the wait capped at 90 s)
        "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": "9",
    }


def _free_ports(count: int, taken: set[int]) -> list[int]:
    """`count` distinct free loopback ports, none of them in `taken`."""
    ports: list[int] = []
    while len(ports) < count:
        if (candidate := free_port()) not in taken and candidate not in ports:
            ports.append(candidate)
    return ports


def ensure_admin_password(home: Path) -> str:
    """The `admin` password, kept across restarts in `<home>/PASSWORDS_FILE` (0600, home 0700), written before
    Airflow starts so Airflow neither generates nor prints one.  A file others could read (as Airflow wrote its
    own) is replaced with a new password: the old one may have been read, or printed into the log."""
    path = private_dir(home) / PASSWORDS_FILE
    if path.exists() and stat.S_IMODE(path.stat().st_mode) == PRIVATE_FILE:
        try:
            return str(json.loads(path.read_text())[ADMIN])
        except (ValueError, KeyError, TypeError):
            pass  # unreadable: write a fresh one
    password = secrets.token_urlsafe(24)
    write_private(path, json.dumps({ADMIN: password}) + "\n")
    return password


def running() -> StackInfo | None:
    """The stack recorded in the pid file, if its process is still alive."""
    path = pid_file()
    if not path.exists():
        return None
    info = StackInfo(**json.loads(path.read_text()))
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        path.unlink(missing_ok=True)
        return None
    return info


def health(port: int) -> dict[str, str]:
    """Each component's status from the api-server; empty while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{HEALTH_PATH}", timeout=10) as resp:  # a loaded machine answers slowly
            body = json.load(resp)
    except (OSError, ValueError):
        return {}
    return {name: str((body.get(name) or {}).get("status")) for name in COMPONENTS}


def is_healthy(port: int) -> bool:
    status = health(port)
    return bool(status) and all(value == "healthy" for value in status.values())


def start_source(seed_customers: int | None = 200) -> None:
    """The embedded source PostgreSQL, seeded (as `edp demo` does) when it holds no data yet."""
    import psycopg2

    from edp_dev import shop as source_db
    from edp_dev.local.postgres import EmbeddedPostgres

    conn = psycopg2.connect(EmbeddedPostgres(local_paths().pg).start().dsn())
    try:
        if seed_customers and not source_db.is_seeded(conn):
            source_db.seed(conn, source_db.SeedSize.scaled(seed_customers))
    finally:
        conn.close()


def start_stack(port: int | None = None, seed_customers: int | None = 200, timeout: float = 180) -> StackInfo:
    """Start `airflow standalone` in a process group of its own; return once every component is healthy."""
    if (info := running()) is not None:
        raise RuntimeError(f"Airflow already runs at {info.url} (pid {info.pid}); `edp airflow down` stops it")
    if port is not None and not port_is_free(port):
        raise RuntimeError(f"port {port} on 127.0.0.1 is taken")
    port = port or free_port()
    start_source(seed_customers)
    env = stack_env(port)
    ensure_admin_password(Path(env["AIRFLOW_HOME"]))
    forget_clock_schedules(env)
    out = open_private_append(log_file())
    try:
        proc = subprocess.Popen([AIRFLOW, "standalone"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=env["AIRFLOW_HOME"])
    finally:
        os.close(out)
    info = StackInfo(pid=proc.pid, port=port, home=env["AIRFLOW_HOME"])
    pid_file().write_text(json.dumps(asdict(info)))
    try:
        _wait_healthy(proc, info, timeout)
    except BaseException:
        stop_stack(stop_source=False)
        raise
    return info


def forget_clock_schedules(env: dict[str, str]) -> None:
    """Store the DAGs as this stack loads them (clock schedules off) before its scheduler starts.

    `edp demo` and `edp run` store each DAG with its clock schedule and its next due run (`dag.test` parses
    with clocks on). A scheduler started on that database creates the due runs (last night's `edp_pipeline`,
    the session sweep) in its first loop, before its dag-processor has re-parsed the files with the policy.
    Those runs are what the policy exists to prevent, and their Gold Asset events interleave with the ones
    a person's run makes. `airflow dags reserialize` under the stack's environment clears them first."""
    if not (Path(env["AIRFLOW_HOME"]) / "airflow.db").exists():
        return  # nothing stored yet: the stack's own dag-processor is the first to store the DAGs
    airflow_cli(["dags", "reserialize"], env)


def _wait_healthy(proc: subprocess.Popen, info: StackInfo, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not (is_healthy(info.port) and info.password_file.exists()):
        if proc.poll() is not None:
            raise RuntimeError(f"airflow standalone exited with code {proc.returncode}:\n{_tail(log_file())}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Airflow not healthy after {timeout:.0f}s ({health(info.port) or 'no answer'}); "
                               f"see {log_file()}")
        time.sleep(0.5)


def stop_stack(stop_source: bool = True, timeout: float = 30) -> bool:
    """Stop the recorded stack's whole process group (SIGTERM, then SIGKILL); True if one was running."""
    info = running()
    if info is not None:
        _stop_group(info.pid, timeout)
    pid_file().unlink(missing_ok=True)
    if stop_source:
        from edp_dev.local.postgres import EmbeddedPostgres

        pg = EmbeddedPostgres(local_paths().pg)
        if pg.is_initialised():
            pg.stop()
    return info is not None


def _stop_group(pgid: int, timeout: float) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _group_alive(pgid):
                return
            time.sleep(0.2)


def _group_alive(pgid: int) -> bool:
    try:
        os.waitpid(pgid, os.WNOHANG)  # reap our own child so it does not linger as a zombie
    except ChildProcessError:
        pass
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def wait(info: StackInfo) -> None:
    """Block while the stack runs (the foreground `edp airflow up`); SIGTERM ends the wait like Ctrl-C."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        os.waitpid(info.pid, 0)
    except ChildProcessError:  # started by another process: watch the pid file's process instead
        while running() is not None:
            time.sleep(1)


def write_compose_secrets(folder: Path = COMPOSE_SECRETS) -> list[Path]:
    """The files docker-compose.yml reads its passwords and keys from; existing ones are kept.

    The folder is 0700 and the files 0600 (COMPOSE_SECRET_MODE), readable by you alone: Docker Compose
    bind-mounts each one as it is, so the containers must run as you (`AIRFLOW_UID=$(id -u) docker compose up`,
    as the README says; the postgres image reads its `_FILE` secrets as root before dropping privileges).  Each is written atomically with that mode from its
    creation on, so none is ever seen half-written."""
    import base64

    private_dir(folder)
    (folder / "auth").mkdir(exist_ok=True)  # the api-server writes the generated admin password here
    values = {
        "source_db_password": secrets.token_urlsafe(24),
        "airflow_db_password": secrets.token_urlsafe(24),
        "airflow_jwt_secret": secrets.token_urlsafe(32),
        "airflow_api_secret_key": secrets.token_urlsafe(32),
        "airflow_fernet_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        # moto accepts any key; boto3 only needs one to sign with
        "aws_emulator_credentials": "[default]\naws_access_key_id = emulator\naws_secret_access_key = emulator\n",
    }
    written = []
    for name, value in values.items():
        path = folder / name
        if not path.exists():  # no newline: Airflow's `_CMD` options take `cat`'s output as it is
            written.append(write_private(path, value, mode=COMPOSE_SECRET_MODE))
    return written


def _tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"
