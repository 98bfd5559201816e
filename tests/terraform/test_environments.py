"""The environments: every root validates; `environments/local` is applied against the local AWS emulator
through the same code CI and the session DAG use, and the `edp_session` DAG turns modes on and off in it.

Order matters inside this module (one foundation apply serves every test; it is slow): the foundation is
applied once, the session DAG runs up -> scale -> down, then the TTL sweep, then the foundation is destroyed.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from edp import asl, session
from edp.cli import main as edp
from edp.environments import ENVIRONMENTS, LAYERS, terraform_dir, terraform_root
from edp.local.airflow_run import run_dag
from edp.local.emulator import AwsEmulator
from edp.terraform import TerraformRunner
from tests.conftest import isolated_home
from tests.terraform.conftest import requires_terraform

pytestmark = requires_terraform
LAKE = ("bronze", "silver", "gold", "artifacts", "athena-results")


def test_terraform_tree_is_formatted():
    proc = subprocess.run(["terraform", "fmt", "-recursive", "-check", "-diff", str(terraform_dir())],
                          capture_output=True, text=True)
    assert proc.returncode == 0, f"run `terraform fmt -recursive terraform/`:\n{proc.stdout}"


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_environment_validates(tmp_path, environment, layer):
    runner = TerraformRunner(terraform_dir() / "environments" / environment / layer,
                             env={"TF_DATA_DIR": str(tmp_path / ".terraform")}, echo=lambda line: None)
    runner.init(backend=False)
    runner.validate()


@pytest.fixture(scope="module")
def platform():
    """environments/local/foundation applied against a fresh emulator; destroyed (data included) after."""
    with isolated_home("environments") as paths, AwsEmulator(log_file=None) as emulator:
        saved = {k: os.environ.get(k) for k in ("EDP_AWS_ENDPOINT", "EDP_ENVIRONMENT")}
        os.environ.update(EDP_AWS_ENDPOINT=emulator.endpoint, EDP_ENVIRONMENT="local")
        try:
            assert edp(["infra", "apply", "--environment", "local"]) == 0
            outputs = terraform_root("local", "foundation").runner(echo=lambda line: None).output()
            yield paths, emulator, outputs
            assert edp(["infra", "destroy", "--environment", "local"]) == 2, "the guard must refuse to drop the lake"
            assert edp(["infra", "destroy", "--environment", "local", "--allow-data-loss"]) == 0
            assert emulator.client("s3").list_buckets()["Buckets"] == []
        finally:
            for key, value in saved.items():
                os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


def bucket_names(emulator) -> set[str]:
    return {b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"]}


def test_lake_buckets_are_encrypted_private_and_versioned(platform):
    _, emulator, outputs = platform
    s3 = emulator.client("s3")
    assert {f"edp-local-{b}" for b in LAKE} <= bucket_names(emulator)
    for name in outputs["bucket_names"].values():
        rule = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms", name
        block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        assert all(block.values()), name
        assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled", name


def test_glue_job_and_crawlers_exist(platform):
    _, emulator, outputs = platform
    glue = emulator.client("glue")
    job = glue.get_job(JobName=outputs["glue_job_name"])["Job"]
    assert job["DefaultArguments"]["--bronze_path"] == "s3://edp-local-bronze"
    assert job["Connections"]["Connections"], "the job runs inside the VPC"
    for layer, name in outputs["crawler_names"].items():
        assert glue.get_crawler(Name=name)["Crawler"]["DatabaseName"] == f"edp_local_{layer}"


def test_state_machine_is_the_generated_asl(platform, spec):
    _, emulator, outputs = platform
    described = emulator.client("stepfunctions").describe_state_machine(stateMachineArn=outputs["state_machine_arn"])
    ecs = outputs["ecs"]
    values = {
        "session_parameter": outputs["session_inputs"]["session_parameter"],
        "glue_job_bronze_to_silver": outputs["glue_job_name"],
        "glue_crawler_silver": outputs["crawler_names"]["silver"],
        "ecs_cluster_arn": ecs["cluster_arn"],
        "dbt_task_definition_arn": ecs["task_definition_arn"],
        "dbt_container_name": ecs["container_name"],
        "private_subnet_a": ecs["subnet_ids"][0],
        "private_subnet_b": ecs["subnet_ids"][1],
        "ecs_security_group_id": ecs["security_group_id"],
    }
    assert set(values) == set(asl.PLACEHOLDERS)
    expected = asl.dumps(asl.render_asl(spec))
    for name, value in values.items():
        expected = expected.replace("${" + name + "}", value)
    assert json.loads(described["definition"]) == json.loads(expected)


def session_run(paths, conf: dict, name: str, dag_id: str = "edp_session") -> tuple[int, str]:
    log = paths.root / "logs" / f"{name}.log"
    code = run_dag(dag_id, conf, log_file=log)
    return code, log.read_text()


def test_session_dag_up_scale_down(platform):
    paths, emulator, outputs = platform
    lake_before = bucket_names(emulator)
    code, log = session_run(paths, {"action": "up", "modes": ["ingestion"], "ttl_hours": 4}, "up")
    assert code == 0, log[-6000:]

    seen = session.published("local")
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
    assert s3["BucketName"] == "edp-local-bronze"
    assert emulator.client("rds").describe_db_instances()["DBInstances"][0]["StorageEncrypted"] is True

    code, log = session_run(paths, {"action": "scale", "modes": [], "glue_workers": 6}, "scale")
    assert code == 0, log[-6000:]
    assert session.published("local")["scale"]["glue_workers"] == 6

    code, log = session_run(paths, {"action": "down", "modes": []}, "down")
    assert code == 0, log[-6000:]
    assert session.published("local") is None
    assert dms.describe_replication_tasks()["ReplicationTasks"] == []
    assert emulator.client("rds").describe_db_instances()["DBInstances"] == []
    snapshots = emulator.client("rds").describe_db_snapshots()["DBSnapshots"]
    assert snapshots, "the source database leaves a final snapshot"
    assert bucket_names(emulator) == lake_before, "a session must never touch a data bucket"


def test_sweep_tears_down_an_expired_session_only(platform):
    paths, emulator, _ = platform
    code, log = session_run(paths, {}, "sweep-idle", dag_id="edp_session_sweep")
    assert code == 0 and "terraform apply" not in log  # nothing on: short-circuited

    code, log = session_run(paths, {"action": "up", "modes": ["serving"], "ttl_hours": 0.002}, "up-short")
    assert code == 0, log[-6000:]
    serving = session.published("local")["serving"]
    redshift = emulator.client("redshift-serverless")
    assert redshift.get_workgroup(workgroupName=serving["workgroup_name"])["workgroup"]["baseCapacity"] == 8
    time.sleep(8)  # 0.002 h = 7.2 s
    code, log = session_run(paths, {}, "sweep", dag_id="edp_session_sweep")
    assert code == 0, log[-6000:]
    assert session.published("local") is None
    assert redshift.list_workgroups()["workgroups"] == [] and redshift.list_namespaces()["namespaces"] == []

