"""The emulator environment applied through the same code CI and the session DAG use: each test file here
gets a foundation of its own on a fresh emulator (a module-scoped fixture), so the files run in parallel.
Every test here is `system`: Terraform's AWS provider, Airflow and the emulator together.

At the end of each file the foundation is destroyed: first without --allow-data-loss (the guard must refuse
to drop the lake), then with it, leaving the emulator empty.
"""

from __future__ import annotations

import contextlib
import json
import threading

import pytest

from edp.cli import main as edp
from edp.environments import EMULATOR_REGION, published_outputs, terraform_root
from edp_dev.airflow_run import run_dag
from edp_dev.emulator.server import AwsEmulator
from tests.conftest import isolated_home

LAKE = ("bronze", "silver", "gold", "artifacts", "athena-results")


@pytest.fixture(scope="module")
def platform():
    """The foundation applied to the emulator environment against a fresh emulator; destroyed (data included) after."""
    with isolated_home("environments") as paths, \
            AwsEmulator(log_file=None, container_outputs=dbt_container_outputs(paths.root)) as emulator, \
            pytest.MonkeyPatch.context() as env:
        env.setenv("EDP_AWS_ENDPOINT", emulator.endpoint)
        env.setenv("EDP_ENVIRONMENT", "emulator")
        assert edp(["infra", "apply", "--environment", "emulator"]) == 0
        outputs = terraform_root("emulator", "foundation").runner(echo=lambda line: None).output()
        yield paths, emulator, outputs
        assert edp(["infra", "destroy", "--environment", "emulator"]) == 2, "the guard must refuse to drop the lake"
        empty_buckets(emulator, outputs["bucket_names"].values())  # the runs wrote artifacts; S3 keeps versions
        assert edp(["infra", "destroy", "--environment", "emulator", "--allow-data-loss"]) == 0
        assert emulator.client("s3").list_buckets()["Buckets"] == []


def dbt_container_outputs(root) -> object:
    """What the dbt image's entrypoint uploads when dbt exits; the emulator stands in for the container
    (no Docker engine here) with these files, in the shape dbt writes them."""
    folder = root / "dbt-container-outputs"
    folder.mkdir(parents=True, exist_ok=True)
    results = [{"unique_id": f"model.edp.{m}", "status": "success", "execution_time": 1.5,
                "adapter_response": {"_message": "OK", "rows_affected": n}}
               for m, n in (("fct_orders", 120), ("dim_customers", 40))]
    (folder / "run_results.json").write_text(json.dumps({"metadata": {"dbt_version": "1.11"}, "results": results}))
    (folder / "manifest.json").write_text(json.dumps({"metadata": {"dbt_version": "1.11"}, "nodes": {}}))
    return folder


def empty_buckets(emulator, names) -> None:
    s3 = emulator.client("s3")
    for name in names:
        listed = s3.list_object_versions(Bucket=name)
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                  for v in listed.get("Versions", []) + listed.get("DeleteMarkers", [])]
        if doomed:
            s3.delete_objects(Bucket=name, Delete={"Objects": doomed})


def bucket_names(emulator) -> set[str]:
    return {b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"]}


def session_run(paths, conf: dict, name: str, dag_id: str = "edp_session", target: str = "local") -> tuple[int, str]:
    log = paths.root / "logs" / f"{name}.log"
    code = run_dag(dag_id, conf, log_file=log, target=target)
    return code, log.read_text()



def athena_answers(emulator, *values: str) -> None:
    """What the emulator's Athena returns to the next queries, one single-value result each (moto's API)."""
    import urllib.request

    results = [{"rows": [{"Data": [{"VarCharValue": "broken"}]}, {"Data": [{"VarCharValue": v}]}],
                "column_info": [{"Name": "broken", "Type": "varchar"}]} for v in values]
    body = json.dumps({"account_id": "123456789012", "region": EMULATOR_REGION, "results": results}).encode()
    request = urllib.request.Request(f"{emulator.endpoint}/moto-api/static/athena/query-results", data=body,
                                     headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request, timeout=10).read()


@contextlib.contextmanager
def aws_target(emulator):
    """Airflow's aws connection on the emulator, quick polls, and DMS reporting a low CDC latency every
    second (the emulator has no DMS data plane to emit it)."""
    conn = {"conn_type": "aws", "login": "emulator", "password": "emulator",
            "extra": {"endpoint_url": emulator.endpoint, "region_name": EMULATOR_REGION}}
    stop = threading.Event()
    foundation = published_outputs("emulator", "foundation")

    def report_latency():
        cloudwatch = emulator.client("cloudwatch")
        dims = [{"Name": "ReplicationInstanceIdentifier", "Value": foundation["dms"]["replication_instance_id"]},
                {"Name": "ReplicationTaskIdentifier", "Value": foundation["dms"]["replication_task_id"]}]
        while not stop.wait(1):
            cloudwatch.put_metric_data(Namespace="AWS/DMS", MetricData=[
                {"MetricName": "CDCLatencyTarget", "Dimensions": dims, "Value": 3.0, "Unit": "Seconds"}])

    thread = threading.Thread(target=report_latency, daemon=True)
    thread.start()
    athena_answers(emulator, "0")  # the quality gate's count (the emulator has no Athena engine to run it)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(conn))
        env.setenv("EDP_AWS_POLL_SECONDS", "1")
        try:
            yield foundation
        finally:
            stop.set()
            thread.join()


