"""Secret hygiene on this machine: after a demo and with `edp airflow up` running, no secret's value is in any
file but its own secret file, those files are private, and every listening socket is on loopback.

The secrets are the ones the local target makes: the Airflow `admin` password, the embedded PostgreSQL's
password, Airflow's own keys in airflow.cfg (fernet key, JWT secret, api secret key) and the docker-compose
secrets (`edp airflow secrets`, written into the same state folder here).  The scan reads every file of the
state folder as bytes: logs, artifacts, the lake, Airflow's SQLite DB and PostgreSQL's data directory
(PostgreSQL keeps a SCRAM verifier, never the password, so nothing there needs skipping).

The system test is one demo (`edp demo`, two pipeline runs through `dag.test`), then the stack
(`edp_dev.airflow_stack`, as `edp airflow up` starts it) with one run triggered through the REST API.
The fast tests check the private-file helper, the admin password file and the settings the stack runs with.
"""

from __future__ import annotations

import configparser
import ipaddress
import json
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from edp_dev import airflow_stack, private_files
from tests.conftest import isolated_home

EDP = str(Path(sys.executable).parent / "edp")
DAG_ID = "edp_pipeline"
GROUP_OTHER = stat.S_IRWXG | stat.S_IRWXO
NOT_SECRET = {"aws_emulator_credentials"}  # the emulator's placeholder keys, the same on every machine


@dataclass(frozen=True)
class Listener:
    address: str
    port: int
    pid: int
    command: str


@dataclass
class Scene:
    root: Path
    info: airflow_stack.StackInfo
    secrets: dict[str, str]          # name -> value
    secret_files: dict[Path, int]    # path -> the mode it must have
    listeners: set[Listener]
    run: dict                        # the run triggered through the REST API, as it ended
    terminal: str                    # what `edp demo` printed


# -- the scene: a demo, then the stack with one run -------------------------------------------------------

@pytest.fixture(scope="module")
def scene():
    with isolated_home("secrets") as paths:
        terminal = run_demo(paths.root)
        compose_files = airflow_stack.write_compose_secrets(paths.root / "compose")
        info = airflow_stack.start_stack(seed_customers=0, timeout=600)  # 180 s is not enough beside the suite
        try:
            listeners = wait_for_listeners(info, paths.pg / "data")
            run = trigger_and_wait(info, listeners, paths.pg / "data")
        finally:
            airflow_stack.stop_stack()
        yield Scene(paths.root, info, *collect_secrets(paths, info, compose_files), listeners, run, terminal)


def run_demo(root: Path) -> str:
    env = {**os.environ, "EDP_HOME": str(root)}
    argv = [EDP, "demo", "--customers", "40", "--inserts", "10", "--updates", "6", "--deletes", "3", "--keep-running"]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=2400)  # minutes alone, far more beside the suite on 2 cores
    assert proc.returncode == 0, f"edp demo failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout + proc.stderr


def collect_secrets(paths, info, compose_files: list[Path]) -> tuple[dict[str, str], dict[Path, int]]:
    """Every secret value the state folder holds, and the file each lives in with the mode that file needs."""
    secrets = {"airflow admin password": info.password()}
    files = {info.password_file: 0o600}
    conn_file = paths.pg / "connection.json"
    secrets["postgres password"] = json.loads(conn_file.read_text())["password"]
    files[conn_file] = 0o600
    cfg = Path(info.home) / "airflow.cfg"
    parser = configparser.RawConfigParser(strict=False)
    parser.read(cfg)
    for section, option in (("core", "fernet_key"), ("api_auth", "jwt_secret"), ("api", "secret_key")):
        if value := parser.get(section, option, fallback=""):
            secrets[f"airflow.cfg {section}.{option}"] = value
    files[cfg] = 0o600
    for path in compose_files:
        if path.name not in NOT_SECRET:
            secrets[f"compose {path.name}"] = path.read_text()
            files[path] = airflow_stack.COMPOSE_SECRET_MODE
    assert all(len(v) >= 16 for v in secrets.values()), "a secret this short would match by chance"
    return secrets, files


def trigger_and_wait(info, listeners: set[Listener], pg_data: Path, timeout: float = 1200) -> dict:
    """One run of the pipeline through the REST API, as a person would trigger it, as it ends; meanwhile
    `listeners` gathers what the task processes open too (Spark, the local DMS)."""
    token = api(info, "/auth/token", {"username": airflow_stack.ADMIN, "password": info.password()})["access_token"]
    deadline = time.monotonic() + timeout
    while True:  # the dag-processor may not have stored the DAG yet
        try:
            run = api(info, f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None}, token)
            break
        except urllib.error.HTTPError as exc:
            if exc.code != 404 or time.monotonic() > deadline:
                raise
            time.sleep(2)
    while run["state"] not in ("success", "failed") and time.monotonic() < deadline:
        time.sleep(3)
        listeners |= current_listeners(info, pg_data)
        run = api(info, f"/api/v2/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}", None, token)
    run["dag_is_paused"] = api(info, f"/api/v2/dags/{DAG_ID}", None, token)["is_paused"]
    return run


def api(info, path: str, body: dict | None, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{info.url}{path}", data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=120) as resp:
        return json.load(resp)


# -- listening sockets, from /proc ----------------------------------------------------------------------

def wait_for_listeners(info, pg_data: Path, timeout: float = 60) -> set[Listener]:
    """The stack's and PostgreSQL's listeners once the api-server and both log servers listen (the log servers
    start alongside the scheduler and the triggerer, so they may come up after the health check passes)."""
    deadline = time.monotonic() + timeout
    while True:
        found = current_listeners(info, pg_data)
        log_servers = [item for item in found if "serve-logs" in item.command]
        if (any(item.port == info.port for item in found) and len(log_servers) >= 2) or time.monotonic() > deadline:
            return found
        time.sleep(1)


def current_listeners(info, pg_data: Path) -> set[Listener]:
    """TCP sockets in LISTEN state held by the stack's processes or the embedded PostgreSQL."""
    pids = stack_pids(info.pid) | postgres_pids(pg_data)
    by_inode = listening_inodes()
    found = set()
    for pid in pids:
        for inode in socket_inodes(pid):
            if inode in by_inode:
                address, port = by_inode[inode]
                found.add(Listener(address, port, pid, command_of(pid)))
    return found


def is_loopback(address: str) -> bool:
    """127.0.0.0/8 and ::1, and IPv4 loopback written as IPv6 (Java's ::ffff:127.0.0.1)."""
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def listening_inodes() -> dict[int, tuple[str, int]]:
    """inode -> (address, port) of every listening TCP socket in this network namespace."""
    found = {}
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # TCP_LISTEN
                continue
            hex_address, hex_port = fields[1].split(":")
            found[int(fields[9])] = (proc_address(hex_address, family), int(hex_port, 16))
    return found


def proc_address(hex_address: str, family: int) -> str:
    """/proc/net/tcp* print an address as 32-bit words in host (little-endian) order."""
    raw = bytes.fromhex(hex_address)
    host_order = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(family, host_order)


def stack_pids(leader: int) -> set[int]:
    """The stack's process group and every descendant of its leader: Airflow puts each task process in a
    group of its own (`setpgid` in the task supervisor), and with it whatever the task starts (Spark's JVM)."""
    parents: dict[int, int] = {}
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()  # after "pid (comm)"
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        parents[int(entry.name)] = int(fields[1])
        if int(fields[2]) == leader:  # the process group
            pids.add(int(entry.name))
    seen, frontier = {leader}, {leader}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - seen
        seen |= frontier
    return pids | seen


def postgres_pids(pg_data: Path) -> set[int]:
    """The postmaster (the only PostgreSQL process that listens)."""
    pid_file = pg_data / "postmaster.pid"
    return {int(pid_file.read_text().split()[0])} if pid_file.exists() else set()


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    except (FileNotFoundError, ProcessLookupError):
        pass  # the process ended meanwhile
    return inodes


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except FileNotFoundError:
        return "?"


# -- the system test ------------------------------------------------------------------------------------

@pytest.mark.system
def test_the_demo_and_the_stack_ran(scene):
    """The scan below means something only if the pipeline ran both ways; a DAG stored paused by `dag.test`
    (the demo) would leave the stack's run queued."""
    assert scene.run["state"] == "success", f"the run triggered through the REST API ended {scene.run}"


@pytest.mark.system
def test_no_file_but_its_own_holds_a_secret(scene):
    leaks = []
    for path in sorted(scene.root.rglob("*")):
        if path.is_symlink() or not path.is_file() or path in scene.secret_files:
            continue
        content = path.read_bytes()
        leaks += [f"{path.relative_to(scene.root)}: {name}" for name, value in scene.secrets.items()
                  if value.encode() in content]
    assert not leaks, "secret values found in files:\n" + "\n".join(leaks)
    assert (scene.root / "logs" / "airflow-standalone.log").stat().st_size > 0, "the stack's log was scanned"
    assert list((Path(scene.info.home) / "logs").rglob("*.log")), "the stack's task logs were scanned"
    printed = [name for name, value in scene.secrets.items() if value in scene.terminal]
    assert not printed, f"`edp demo` printed {printed}"


@pytest.mark.system
def test_secret_files_are_private_and_so_are_their_folders(scene):
    for path, mode in scene.secret_files.items():
        assert stat.S_IMODE(path.stat().st_mode) == mode, f"{path}: {oct(path.stat().st_mode)}, want {oct(mode)}"
        for folder in folders_between(scene.root, path):
            folder_mode = stat.S_IMODE(folder.stat().st_mode)
            assert not folder_mode & (stat.S_IRGRP | stat.S_IWGRP | stat.S_IROTH | stat.S_IWOTH), \
                f"{folder} ({oct(folder_mode)}) on the way to {path.name} lets others list or write it"
        if mode & GROUP_OTHER:  # readable by others (the compose files): the folder must keep everyone else out
            assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent


@pytest.mark.system
def test_logs_are_private(scene):
    logs = scene.root / "logs"
    assert stat.S_IMODE(logs.stat().st_mode) == 0o700
    wide = [p.name for p in logs.iterdir() if stat.S_IMODE(p.stat().st_mode) != 0o600]
    assert not wide, f"log files not 0600: {wide}"


@pytest.mark.system
def test_every_listener_is_on_loopback(scene):
    ports = {item.port for item in scene.listeners}
    assert scene.info.port in ports, f"the api-server's port {scene.info.port} not among {scene.listeners}"
    assert len({item.pid for item in scene.listeners if "serve-logs" in item.command}) >= 2, \
        f"both log servers (scheduler's, triggerer's) should listen: {scene.listeners}"
    for item in sorted(scene.listeners, key=lambda item: (item.command, item.port)):
        print(f"{item.address}:{item.port}  pid {item.pid}  {item.command[:100]}")
    wide = [item for item in scene.listeners if not is_loopback(item.address)]
    assert not wide, "listening beyond loopback:\n" + "\n".join(map(str, wide))


def folders_between(root: Path, path: Path) -> list[Path]:
    """The folders below the state root down to `path`'s own (the root itself is the caller's choice)."""
    return [folder for folder in path.parents if folder != root and folder.is_relative_to(root)]


# -- the private-file helper (fast) ---------------------------------------------------------------------

def test_a_private_file_is_never_visible_wider_than_0600(tmp_path, monkeypatch):
    """Even with an umask that lets everyone read, every file in the folder is 0600 while the bytes are
    written, and the final name appears only complete."""
    folder = tmp_path / "secrets"
    seen = []
    real_fsync = os.fsync

    def spy(fd):
        seen.extend((p.name, stat.S_IMODE(p.stat().st_mode)) for p in folder.iterdir())
        seen.append(("final exists", (folder / "token").exists()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    old_umask = os.umask(0)
    try:
        path = private_files.write_private(folder / "token", "s3cr3t")
    finally:
        os.umask(old_umask)
    assert path.read_text() == "s3cr3t"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    temp_modes = [mode for name, mode in seen if name not in ("final exists",)]
    assert temp_modes and all(mode == 0o600 for mode in temp_modes), seen
    assert ("final exists", False) in seen, "the final name must appear only once the file is complete"
    assert [p.name for p in folder.iterdir()] == ["token"], "no temporary file is left behind"


def test_a_private_file_replaces_a_wider_one_and_tightens_its_folder(tmp_path):
    folder = tmp_path / "wide"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    old = folder / "token"
    old.write_text("old")
    os.chmod(old, 0o644)
    private_files.write_private(old, b"new")
    assert old.read_bytes() == b"new"
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_failed_write_leaves_neither_a_temporary_file_nor_a_half_secret(tmp_path, monkeypatch):
    target = tmp_path / "f" / "token"
    private_files.write_private(target, "old")

    def broken(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError, match="disk full"):
        private_files.write_private(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in target.parent.iterdir()] == ["token"]


def test_a_private_folder_is_made_or_tightened_never_widened(tmp_path):
    made = private_files.private_dir(tmp_path / "a" / "b")
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    wide = tmp_path / "wide"
    wide.mkdir()
    os.chmod(wide, 0o777)
    private_files.private_dir(wide)
    assert stat.S_IMODE(wide.stat().st_mode) == 0o700
    narrow = tmp_path / "narrow"
    narrow.mkdir()
    os.chmod(narrow, 0o500)
    private_files.private_dir(narrow)
    assert stat.S_IMODE(narrow.stat().st_mode) == 0o500
    os.chmod(narrow, 0o700)


def test_a_private_log_is_0600_in_a_0700_folder_and_appended_to(tmp_path):
    log = tmp_path / "logs" / "x.log"
    log.parent.mkdir()
    os.chmod(log.parent, 0o755)
    log.write_text("before\n")
    os.chmod(log, 0o644)
    fd = private_files.open_private_append(log)
    with os.fdopen(fd, "w") as out:
        out.write("after\n")
    assert log.read_text() == "before\nafter\n"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700


# -- the admin password and the stack's settings (fast) ------------------------------------------------

def test_the_admin_password_file_is_ours_0600_in_a_0700_home_and_kept(tmp_path):
    home = tmp_path / "airflow"
    first = airflow_stack.ensure_admin_password(home)
    path = home / airflow_stack.PASSWORDS_FILE
    assert json.loads(path.read_text()) == {airflow_stack.ADMIN: first}
    assert len(first) >= 20
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(home.stat().st_mode) == 0o700
    assert airflow_stack.ensure_admin_password(home) == first, "a restart keeps the password"


def test_an_admin_password_that_others_could_read_is_replaced(tmp_path):
    """Airflow wrote its generated file 0644 (and printed the password into the log): that one is spent."""
    home = tmp_path / "airflow"
    home.mkdir()
    path = home / airflow_stack.PASSWORDS_FILE
    path.write_text(json.dumps({airflow_stack.ADMIN: "printed-into-a-0644-log"}))
    os.chmod(path, 0o644)
    fresh = airflow_stack.ensure_admin_password(home)
    assert fresh != "printed-into-a-0644-log"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_stack_reads_our_password_file_and_serves_logs_on_loopback_ports_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("EDP_HOME", str(tmp_path / "state"))
    env = airflow_stack.stack_env(8080)
    home = Path(env["AIRFLOW_HOME"])
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] == str(home / airflow_stack.PASSWORDS_FILE)
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST"] == "127.0.0.1"
    ports = {env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"], env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"]}
    assert len(ports) == 2 and not ports & {"8793", "8794"}, "fixed ports collide between two stacks"
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert (home / "config" / "airflow_local_settings.py").is_file(), "the log servers' loopback binding"


# -- the embedded PostgreSQL's files (integration) ------------------------------------------------------

@pytest.mark.integration
def test_the_postgres_password_file_and_log_are_private(pg_home):
    paths, conn = pg_home
    pg = paths.pg
    assert json.loads((pg / "connection.json").read_text())["password"] == conn.password
    assert stat.S_IMODE((pg / "connection.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((pg / "server.log").stat().st_mode) == 0o600
    folder_mode = stat.S_IMODE(pg.stat().st_mode)
    assert folder_mode in (0o700, 0o711), f"{pg}: {oct(folder_mode)} (0711 only when the server runs as postgres)"
    assert not (pg / ".pwfile").exists() and not list(pg.glob(".*.tmp")), "initdb's password file is removed"
    assert conn.password.encode() not in (pg / "server.log").read_bytes()
