"""Command-line edges: the environment `edp infra` names, the simulator's bounds, `edp emulator` under SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from edp.cli import main as edp


class FakeRunner:
    """Stands in for Terraform: a plan that changes something, an apply that records its guard."""

    def __init__(self):
        self.applied: list[bool] = []

    def plan(self, plan_file, variables, destroy=False) -> bool:
        return True

    def apply(self, plan_file, protect_data=False) -> None:
        self.applied.append(protect_data)


class FakeRoot:
    plan_file, variables = "tfplan", {}

    def __init__(self, runner: FakeRunner):
        self._runner = runner

    def runner(self, echo=None) -> FakeRunner:
        return self._runner

    def init(self, runner) -> None:
        pass


@pytest.mark.parametrize(("configured", "expected"), [(None, "emulator"), ("dev", "dev")])
def test_edp_infra_names_the_environment_it_resolved(monkeypatch, capsys, configured, expected):
    """Without --environment the command works on EDP_ENVIRONMENT (default emulator) and says so."""
    from edp import environments

    if configured:
        monkeypatch.setenv("EDP_ENVIRONMENT", configured)
    else:
        monkeypatch.delenv("EDP_ENVIRONMENT", raising=False)
    roots, runner = [], FakeRunner()
    monkeypatch.setattr(environments, "terraform_root", lambda env, layer: roots.append((env, layer)) or FakeRoot(runner))
    assert edp(["infra", "apply"]) == 0
    assert roots == [(expected, "foundation")] and runner.applied == [True]
    out = capsys.readouterr().out
    assert f"{expected}/foundation: apply done" in out and "None" not in out


@pytest.mark.parametrize(("argv", "limit"), [
    (["simulate", "--inserts", "100000000"], "1,000,000 per kind and batch"),
    (["simulate", "--deletes", "1000001"], "1,000,000 per kind and batch"),
    (["seed", "--customers", "100000001"], "1,000,000 customers per seed"),
])
def test_oversized_source_requests_stop_before_postgresql(monkeypatch, capsys, argv, limit):
    import edp_dev.cli

    monkeypatch.setattr(edp_dev.cli, "_source_connection", lambda: pytest.fail("connected to PostgreSQL"))
    with pytest.raises(SystemExit) as exit_:
        edp(argv)
    assert exit_.value.code == 2
    assert f"is more than the limit of {limit}" in capsys.readouterr().err


def test_the_simulator_itself_refuses_an_oversized_batch():
    """Callers other than the command (the demo, tests) meet the same bounds, before any SQL."""
    from edp_dev import shop

    with pytest.raises(ValueError, match="at most 1,000,000 updates"):
        shop.simulate(None, updates=shop.MAX_BATCH_ROWS + 1)
    with pytest.raises(ValueError, match="at most 1,000,000 customers"):
        shop.SeedSize.scaled(shop.MAX_SEED_CUSTOMERS + 1)
    assert shop.SeedSize.scaled(shop.MAX_SEED_CUSTOMERS).orders == 3 * shop.MAX_SEED_CUSTOMERS


def _answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).close()
        return True
    except OSError:
        return False


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.integration  # the emulator's moto server
def test_edp_emulator_stopped_by_sigterm_frees_its_port():
    """`kill <pid>` of `edp emulator` used to leave its moto server behind, holding the port."""
    from edp_dev.ports import free_port

    port = free_port()
    # a group of its own, so the clean-up below reaches a server left behind; the SIGTERM goes to the command only
    command = subprocess.Popen([str(Path(sys.executable).with_name("edp")), "emulator", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _answers(port):
            assert command.poll() is None, command.stdout.read() if command.stdout else ""
            assert time.monotonic() < deadline, "the emulator did not answer within 60 s"
            time.sleep(0.2)
        command.send_signal(signal.SIGTERM)
        assert command.wait(timeout=15) == 0
        deadline = time.monotonic() + 5
        while _listening(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _listening(port), f"port {port} still answers after `edp emulator` exited"
        assert "AWS emulator stopped" in (command.stdout.read() if command.stdout else "")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(command.pid, signal.SIGKILL)


def test_a_missing_or_damaged_connection_file_is_named(tmp_path, monkeypatch, capsys):
    """The embedded PostgreSQL's connection file lost or garbled: the command says which file and what to do,
    instead of a traceback or an initdb error about a non-empty folder."""
    from edp.cli import main

    monkeypatch.setenv("EDP_HOME", str(tmp_path))
    pg = tmp_path / "pg"
    (pg / "data").mkdir(parents=True)
    (pg / "data" / "PG_VERSION").write_text("15\n")
    assert main(["pg", "status"]) in (2, 3)
    assert main(["seed"]) == 2
    assert "connection.json is missing, but the cluster" in capsys.readouterr().err
    (pg / "connection.json").write_text("{not json")
    assert main(["seed"]) == 2
    assert "connection.json is damaged" in capsys.readouterr().err
