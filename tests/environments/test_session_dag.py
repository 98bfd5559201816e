"""The `edp_session` DAG turns the ingestion mode on, rescales it and turns it off in the emulator environment;
then the TTL sweep (`edp_session_sweep`) leaves the idle environment alone and tears down an expired session.
Both on one foundation (applying and destroying it is the slow part), the sweep after the session DAG's down."""

from __future__ import annotations

import json
import time

import pytest

from edp import session
from tests.environments.conftest import bucket_names, session_run

pytestmark = pytest.mark.system  # Terraform's AWS provider, Airflow and the emulator together


def test_session_dag_up_scale_down(platform):
    paths, emulator, outputs = platform
    lake_before = bucket_names(emulator)
    code, log = session_run(paths, {"action": "up", "modes": ["ingestion"], "ttl_hours": 4}, "up")
    assert code == 0, log[-6000:]

    seen = session.published("emulator")
    assert seen["modes"] == ["ingestion"] and seen["ttl_hours"] == 4
    dms = emulator.client("dms")
    (task,) = dms.describe_replication_tasks()["ReplicationTasks"]
    assert seen["dms_replication_task_arn"] == task["ReplicationTaskArn"], "the pipeline reads the live task"
    assert task["MigrationType"] == "full-load-and-cdc"
    rules = json.loads(task["TableMappings"])["rules"]
    assert any(r["rule-type"] == "transformation" and r.get("expression") == "$AR_H_CHANGE_SEQ" for r in rules)
    target = dms.describe_endpoints(Filters=[{"Name": "endpoint-type", "Values": ["target"]}])["Endpoints"][0]
    s3 = target["S3Settings"]
    assert s3["DataFormat"] == "parquet" and s3["TimestampColumnName"] == "dms_timestamp"
    # Op (I/U/D) on every CDC row and none on full-load rows: the layout the local DMS writes
    assert s3.get("IncludeOpForFullLoad") is False
    assert not s3.get("CdcInsertsOnly") and not s3.get("CdcInsertsAndUpdates")
    assert s3["BucketName"] == "edp-emulator-bronze"
    assert emulator.client("rds").describe_db_instances()["DBInstances"][0]["StorageEncrypted"] is True

    code, log = session_run(paths, {"action": "scale", "modes": [], "glue_workers": 6}, "scale")
    assert code == 0, log[-6000:]
    assert session.published("emulator")["scale"]["glue_workers"] == 6

    code, log = session_run(paths, {"action": "down", "modes": []}, "down")
    assert code == 0, log[-6000:]
    assert session.published("emulator") is None
    assert dms.describe_replication_tasks()["ReplicationTasks"] == []
    assert emulator.client("rds").describe_db_instances()["DBInstances"] == []
    snapshots = emulator.client("rds").describe_db_snapshots()["DBSnapshots"]
    assert snapshots, "the source database leaves a final snapshot"
    assert bucket_names(emulator) == lake_before, "a session must never touch a data bucket"


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
    code, log = session_run(paths, {"action": "down", "modes": []}, "down-serving")
    assert code == 0, log[-6000:]
    assert redshift.list_workgroups()["workgroups"] == [] and len(redshift.list_namespaces()["namespaces"]) == 1
