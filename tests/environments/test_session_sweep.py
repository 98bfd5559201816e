"""The TTL sweep (`edp_session_sweep`) leaves an idle environment alone and tears down an expired session."""

from __future__ import annotations

import time

import pytest

from edp import session
from tests.environments.conftest import session_run

pytestmark = pytest.mark.system  # Terraform's AWS provider, Airflow and the emulator together


def test_sweep_tears_down_an_expired_session_only(platform):
    paths, emulator, _ = platform
    code, log = session_run(paths, {}, "sweep-idle", dag_id="edp_session_sweep")
    assert code == 0 and "terraform apply" not in log  # nothing on: short-circuited

    code, log = session_run(paths, {"action": "up", "modes": ["serving"], "ttl_hours": 0.002}, "up-short")
    assert code == 0, log[-6000:]
    serving = session.published("emulator")["serving"]
    redshift = emulator.client("redshift-serverless")
    assert redshift.get_workgroup(workgroupName=serving["workgroup_name"])["workgroup"]["baseCapacity"] == 8
    time.sleep(8)  # 0.002 h = 7.2 s
    code, log = session_run(paths, {}, "sweep", dag_id="edp_session_sweep")
    assert code == 0, log[-6000:]
    assert session.published("emulator") is None
    assert redshift.list_workgroups()["workgroups"] == [] and redshift.list_namespaces()["namespaces"] == []


