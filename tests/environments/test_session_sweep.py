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

    # the namespace (the data) is the foundation's: there before any session, a session adds only compute
    redshift = emulator.client("redshift-serverless")
    [namespace] = redshift.list_namespaces()["namespaces"]
    assert redshift.list_workgroups()["workgroups"] == []

    code, log = session_run(paths, {"action": "up", "modes": ["serving"], "ttl_hours": 0.002}, "up-short")
    assert code == 0, log[-6000:]
    serving = session.published("emulator")["serving"]
    workgroup = redshift.get_workgroup(workgroupName=serving["workgroup_name"])["workgroup"]
    assert workgroup["baseCapacity"] == 8 and workgroup["namespaceName"] == namespace["namespaceName"]
    assert (serving["database_name"], serving["admin_secret_arn"]) == (namespace["dbName"], namespace["adminPasswordSecretArn"])
    time.sleep(8)  # 0.002 h = 7.2 s
    code, log = session_run(paths, {}, "sweep", dag_id="edp_session_sweep")
    assert code == 0, log[-6000:]
    assert session.published("emulator") is None
    # only the workgroup went (through the data-loss guard, which would refuse the namespace)
    assert redshift.list_workgroups()["workgroups"] == []
    assert redshift.list_namespaces()["namespaces"] == [namespace]

    # the next serving session attaches a new workgroup to the same namespace, its data where it was
    code, log = session_run(paths, {"action": "up", "modes": ["serving"], "ttl_hours": 1}, "up-again")
    assert code == 0, log[-6000:]
    again = session.published("emulator")["serving"]
    assert redshift.get_workgroup(workgroupName=again["workgroup_name"])["workgroup"]["namespaceName"] == \
        namespace["namespaceName"]
    assert redshift.list_namespaces()["namespaces"] == [namespace]
    code, log = session_run(paths, {"action": "down", "modes": []}, "down")
    assert code == 0, log[-6000:]
    assert redshift.list_workgroups()["workgroups"] == [] and len(redshift.list_namespaces()["namespaces"]) == 1
