"""Secret hygiene on this machine, the parts that need no pipeline run: the private-file helper, the admin
password file, the settings the stack runs with and the embedded PostgreSQL's files. The scan of a whole state
folder after a demo and a run on the stack (no secret in any file but its own, every listener on loopback) is
in tests/e2e/test_local_pipeline.py, over the scene that file builds.

"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from edp_dev import airflow_stack, private_files

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
