"""A crash at every write boundary of the merge: kill -9 of the merge's process (its Python and its Spark JVM) the
moment it writes at each boundary; readers see the previous commit or the new one whole, and the next run
finishes the job exactly: Silver equals PostgreSQL row for row.

A file of its own (its own PostgreSQL and state folder, see conftest.py), so it runs beside the other fault
files on another worker; its lake holds the one table the merge is killed on."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

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
MERGE_CHILD = """
import json, sys
from edp_dev.local.glue import run_script
run_script("bronze_to_silver.py", json.loads(sys.argv[1]))
"""


@pytest.fixture(scope="module")
def pairs(lake):
    lake.keys = {}  # this file's lake is the table below only
    lake.add_table("CREATE TABLE pairs (a int, b int, v text, PRIMARY KEY (a, b))", "pairs", ["a", "b"])
    lake.sql("INSERT INTO pairs SELECT g, g % 3, 'v' || g FROM generate_series(1, 20) g")
    assert lake.run()["pairs"]["mode"] == "rebuild"  # Silver and its tombstones table: each kill meets a merge
    lake.assert_silver_matches()
    return lake


def _kill_at(silver, boundary: str, arguments: dict) -> bool:
    """Run the merge in a process of its own (Python and its Spark JVM, one process group) and kill -9 the group
    the moment a file of the boundary appears; False when the merge ended before that (nothing to kill at)."""
    folder, pattern = BOUNDARIES[boundary]
    watched = silver / folder
    before = set(os.listdir(watched)) if watched.exists() else set()
    child = subprocess.Popen([sys.executable, "-c", MERGE_CHILD, json.dumps(arguments)], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while child.poll() is None and time.monotonic() < deadline:
            if watched.exists() and any(re.fullmatch(pattern, n) for n in set(os.listdir(watched)) - before):
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                return True
            time.sleep(0.001)
        return False
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def _committed(silver, table):
    data = iceberg.read(silver / table)
    return sorted(tuple(r.values()) for r in data.select(["a", "b", "v"]).to_pylist())


@pytest.mark.parametrize("boundary", list(BOUNDARIES))
def test_a_kill_at_every_write_boundary_of_the_merge(pairs, boundary):
    """kill -9 of the merge (its Python and its Spark JVM) the moment it writes at each boundary: readers see
    the previous commit or the new one whole, never a mix, and the next run finishes the job exactly."""
    pairs.sql("UPDATE pairs SET v = v || '+'", "DELETE FROM pairs WHERE a = (SELECT min(a) FROM pairs)",
              "INSERT INTO pairs SELECT max(a) + 1, 0, 'new' FROM pairs")
    pairs.capture()
    silver = pairs.paths.silver
    previous = _committed(silver, "pairs")
    arguments = {"JOB_NAME": "faults", "bronze_path": pairs.paths.bronze.as_uri(), "silver_path": silver.as_uri(),
                 "schema": "public", "table": "pairs", "primary_key": "a,b"}
    versions = iceberg.metadata_file(silver / "pairs")
    assert _kill_at(silver, boundary, arguments), f"the merge finished before {boundary!r}"
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
