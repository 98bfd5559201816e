"""A crash at every write boundary of the merge: kill -9 of the merge's process (its Python and its Spark JVM) the
moment it writes at each boundary; readers see the previous commit or the new one whole, and the next run
finishes the job exactly: Silver equals PostgreSQL row for row.

A file of its own (its own PostgreSQL and state folder, see conftest.py), so it runs beside the other fault
files; its lake holds the one table the merge is killed on. Each case's merge process is started, and its JVM
warmed up, while the case before it checks its recovery: one JVM start per kill, none waited for."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edp_dev.local import iceberg

pytestmark = pytest.mark.integration  # PostgreSQL and Spark, without Airflow

# Where the merge writes, in order: the tombstones table's data files and commit, Silver's data files, manifest
# list and commit (the path catalog's commit is the next vN.metadata.json), then the bookmark
BOUNDARIES = {
    "tombstone data written": ("_tombstones_pairs/data", r"[^.].*\.parquet"),
    "tombstones committed": ("_tombstones_pairs/metadata", r"v\d+\.metadata\.json"),
    "silver data written": ("pairs/data", r"[^.].*\.parquet"),
    "silver manifest list written": ("pairs/metadata", r"snap-.*\.avro"),
    "silver committed": ("pairs/metadata", r"v\d+\.metadata\.json"),
}
# The merge's process: Python and its Spark JVM, warmed up (the session made, one query run, the script loaded)
# before it reads its arguments from stdin; the merge itself starts only then, from the beginning
MERGE_CHILD = """
import json, sys
from edp_dev.local.glue import load_script, run_script, spark_session
spark_session().range(1).count()
load_script("bronze_to_silver.py")
run_script("bronze_to_silver.py", json.loads(sys.stdin.readline()))
"""
KILL_TEST = "test_a_kill_at_every_write_boundary_of_the_merge"


@pytest.fixture(scope="module")
def pairs(lake):
    lake.keys = {}  # this file's lake is the table below only
    lake.add_table("CREATE TABLE pairs (a int, b int, v text, PRIMARY KEY (a, b))", "pairs", ["a", "b"])
    lake.sql("INSERT INTO pairs SELECT g, g % 3, 'v' || g FROM generate_series(1, 20) g")
    assert lake.run()["pairs"]["mode"] == "rebuild"  # Silver and its tombstones table: each kill meets a merge
    lake.assert_silver_matches()
    return lake


class MergeProcesses:
    """A warm merge process for each kill case selected in the module; the next one starts when one is killed."""

    def __init__(self, wanted: int, logs: Path):
        self.wanted = wanted  # processes still to start: none is started that no case takes
        self.logs = logs      # each process's stderr, read when one ends before it is killed
        self.ready: tuple[subprocess.Popen, Path] | None = None

    def take(self) -> tuple[subprocess.Popen, Path]:
        self.start_next()
        taken, self.ready = self.ready, None
        assert taken is not None, "more kill cases than were selected"
        return taken

    def start_next(self) -> None:
        if self.ready is None and self.wanted > 0:
            self.wanted -= 1
            log = self.logs / f"merge-{self.wanted}.log"
            with open(log, "w") as out:
                child = subprocess.Popen([sys.executable, "-c", MERGE_CHILD], start_new_session=True, text=True,
                                         stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)
            self.ready = child, log


@pytest.fixture(scope="module")
def merge_processes(pairs, request):
    selected = sum(1 for item in request.session.items
                   if item.module is request.module and getattr(item, "originalname", "") == KILL_TEST)
    processes = MergeProcesses(selected, pairs.paths.root)
    yield processes
    if processes.ready is not None:
        _kill(processes.ready[0])


def _kill(child: subprocess.Popen) -> None:
    """kill -9 of the child's process group: its Python and its Spark JVM at once."""
    if child.poll() is None:
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def _kill_at(silver, boundary: str, arguments: dict, child: subprocess.Popen, log: Path) -> bool:
    """Hand the warm merge process its arguments and kill -9 its group the moment a file of the boundary
    appears; False when the merge ended before that (nothing to kill at)."""
    folder, pattern = BOUNDARIES[boundary]
    watched = silver / folder
    before = set(os.listdir(watched)) if watched.exists() else set()
    try:
        assert child.stdin is not None and child.poll() is None, \
            f"the merge process ended while warming up:\n{log.read_text()[-3000:]}"
        child.stdin.write(json.dumps(arguments) + "\n")
        child.stdin.close()
        deadline = time.monotonic() + 300
        while child.poll() is None and time.monotonic() < deadline:
            if watched.exists() and any(re.fullmatch(pattern, n) for n in set(os.listdir(watched)) - before):
                _kill(child)
                return True
            time.sleep(0.001)
        return False
    finally:
        _kill(child)


def _committed(silver, table):
    data = iceberg.read(silver / table)
    return sorted(tuple(r.values()) for r in data.select(["a", "b", "v"]).to_pylist())


@pytest.mark.parametrize("boundary", list(BOUNDARIES))
def test_a_kill_at_every_write_boundary_of_the_merge(pairs, merge_processes, boundary):
    """kill -9 of the merge (its Python and its Spark JVM) the moment it writes at each boundary: readers see
    the previous commit or the new one whole, never a mix, and the next run finishes the job exactly."""
    child, log = merge_processes.take()  # started by the case before (or now, for the first): warm or warming up
    pairs.sql("UPDATE pairs SET v = v || '+'", "DELETE FROM pairs WHERE a = (SELECT min(a) FROM pairs)",
              "INSERT INTO pairs SELECT max(a) + 1, 0, 'new' FROM pairs")
    pairs.capture()
    silver = pairs.paths.silver
    previous = _committed(silver, "pairs")
    arguments = {"JOB_NAME": "faults", "bronze_path": pairs.paths.bronze.as_uri(), "silver_path": silver.as_uri(),
                 "schema": "public", "table": "pairs", "primary_key": "a,b"}
    versions = iceberg.metadata_file(silver / "pairs")
    assert _kill_at(silver, boundary, arguments, child, log), \
        f"the merge finished before {boundary!r}:\n{log.read_text()[-3000:]}"
    merge_processes.start_next()  # the next case's process warms up while this one's recovery runs
    after_kill = _committed(silver, "pairs")
    if iceberg.metadata_file(silver / "pairs") == versions:  # killed before Silver's commit: the previous one
        assert after_kill == previous
    else:  # killed after it: the whole new one
        assert after_kill == sorted(source_rows(pairs))
    pairs.merge()
    pairs.assert_silver_matches()


def source_rows(lake):
    with lake.conn.cursor() as cur:
        cur.execute("SELECT a, b, v FROM pairs")
        return cur.fetchall()
