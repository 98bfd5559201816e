"""Shared fixtures: isolated state folders, a real embedded PostgreSQL, one local Spark session."""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from edp.settings import REPO_ROOT, LocalPaths, local_paths
from edp.spec import load_spec

# Airflow reads its configuration at import: point it at a private home before any test imports it.
os.environ.setdefault("AIRFLOW_HOME", str(Path(__file__).resolve().parents[1] / ".edp" / "airflow-tests"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
# Terraform and its AWS provider (Go) spend about a sixth of their CPU collecting garbage at Go's default GOGC=100;
# the suite runs ~250 of them and they are its largest CPU consumer, so its own children collect less often
# (two Terraform module test files: 94 CPU-s at 100, 80 at 400; the foundation's plan 10.2 -> 7.9 CPU-s with its
# peak RSS 587 -> 608 MB). Test-only: an MWAA worker's memory is small and shared, so production keeps Go's default.
os.environ.setdefault("GOGC", "400")
# py4j logs from a finaliser at interpreter exit, after pytest has closed the captured streams
logging.getLogger("py4j").setLevel(logging.ERROR)


TIERS = ("unit", "integration", "system")


def pytest_collection_modifyitems(config, items):
    """Every test is in one tier: `integration` and `system` are marked where they are written (a module's
    `pytestmark` or the test itself); everything else is `unit` (no server, no JVM, no cloud provider).

    Files run longest first: those measured longest (SLOWEST, whatever their tier), then the system tier, then
    integration, then unit. With one file per xdist worker, the longest files start at once and the short ones
    fill the gaps, which is what keeps the full suite short (a long file started late is the suite's tail)."""
    for item in items:
        marks = {m.name for m in item.iter_markers()} & set(TIERS)
        if len(marks) > 1:
            raise pytest.UsageError(f"{item.nodeid} is marked {sorted(marks)}: one tier per test")
        if not marks:
            item.add_marker(pytest.mark.unit)
    rank: dict[str, int] = {}
    for item in items:
        tiers = {m.name for m in item.iter_markers()} & set(TIERS)
        rank[item.fspath.strpath] = min(rank.get(item.fspath.strpath, 9), -TIERS.index(tiers.pop()) + 2)
    items.sort(key=lambda item: (_slow_first(item.fspath.strpath), rank[item.fspath.strpath]))  # stable per file


def pytest_xdist_make_scheduler(config, log):
    """One file per worker at a time: xdist's file scheduler hands a worker its next file while it still has
    two tests to run, so a second long file waits behind the first one's last long test while other workers
    sit idle. Here a worker gets its next file only when its last test is the one left (a worker needs the
    next test in hand to finish the one it has).

    And in collection order: xdist otherwise sorts the files by how many tests each holds (`loadscopereorder`,
    on by default), which put the longest files (a few long tests each) last and undid the order above."""
    from xdist.scheduler import LoadFileScheduling

    config.option.loadscopereorder = False

    class OneFileAhead(LoadFileScheduling):
        def _reschedule(self, node) -> None:
            if node.shutting_down:
                return
            if not self.workqueue:
                node.shutdown()
                return
            if self._pending_of(self.assigned_work[node]) <= 1:
                self._assign_work_unit(node)

    return OneFileAhead(config, log)


# the files that take longest, longest first (measured: `make test` prints the slowest tests; a file's time is the
# sum of its tests' setup, call and teardown), started before every other file whatever their tier
SLOWEST = ("e2e/test_local_pipeline.py", "environments/test_pipeline_aws.py", "environments/test_session_dag.py",
           "faults/test_keys_and_delivery.py", "glue/test_bronze_to_silver.py", "terraform/test_data_lake.py",
           "terraform/test_ingestion.py", "faults/test_kill_at_write_boundaries.py", "faults/test_types.py",
           "e2e/test_fan_out_locally.py", "terraform/test_orchestration.py", "faults/test_schema_drift.py")


def _slow_first(path: str) -> int:
    return next((i for i, name in enumerate(SLOWEST) if path.endswith(name)), len(SLOWEST))


@contextmanager
def isolated_home(name: str):
    """A state folder of its own under .edp/tests (PostgreSQL, when root runs it as `postgres`,
    must be able to reach it, which rules out pytest's private tmp dirs)."""
    root = REPO_ROOT / ".edp" / "tests" / f"{name}-{uuid.uuid4().hex[:8]}"
    root.mkdir(parents=True)
    previous = os.environ.get("EDP_HOME")
    os.environ["EDP_HOME"] = str(root)
    try:
        yield local_paths()
    finally:
        from edp_dev.local.postgres import EmbeddedPostgres

        pg = EmbeddedPostgres(root / "pg")
        if pg.is_initialised():
            pg.stop()
        if previous is None:
            os.environ.pop("EDP_HOME", None)
        else:
            os.environ["EDP_HOME"] = previous
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def spec():
    return load_spec()


@pytest.fixture(scope="module")
def pg_home():
    """A started, empty embedded PostgreSQL in its own state folder (one per test module)."""
    from edp_dev.local.postgres import EmbeddedPostgres

    with isolated_home("pg") as paths:
        conn = EmbeddedPostgres(paths.pg).start()
        yield paths, conn


@pytest.fixture(scope="session")
def spark():
    from edp_dev.local.glue import spark_session

    session = spark_session()
    yield session
    session.stop()
    spark_session.cache_clear()


def source_connection(conn):
    import psycopg2

    return psycopg2.connect(conn.dsn())


__all__ = ["isolated_home", "source_connection", "LocalPaths", "Path"]
