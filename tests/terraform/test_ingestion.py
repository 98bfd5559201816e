"""The ingestion module against the local AWS emulator: a private, encrypted PostgreSQL with logical
replication whose password only RDS knows, and a DMS full-load-and-CDC task that writes Bronze in the
layout `edp_dev.local.dms_format` reproduces locally. DMS reads a DMS-shaped copy of the master secret that the
module writes through an ephemeral read and a write-only argument, so the password never reaches
Terraform's state. Destroying the session leaves a final snapshot and nothing else."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from edp_dev.emulator.server import AwsEmulator
from edp_dev.local import dms_format
from tests.terraform.conftest import applied_example, example_dir, local_example, on_emulator, requires_terraform

pytestmark = [requires_terraform, pytest.mark.integration]

FINAL_SNAPSHOT = "edp-example-source-final-20261123090000"  # name_prefix, session_id of examples/complete
DMS_SECRET = "edp-example-dms-source-20261123090000"


def _nothing_left_but_the_snapshot(emulator: AwsEmulator) -> None:
    rds, dms = emulator.client("rds"), emulator.client("dms")
    assert rds.describe_db_instances()["DBInstances"] == []
    assert dms.describe_replication_tasks()["ReplicationTasks"] == []
    assert dms.describe_replication_instances()["ReplicationInstances"] == []
    assert dms.describe_endpoints()["Endpoints"] == []
    # moto takes RDS's final snapshot on delete, as the service does
    snapshot = rds.describe_db_snapshots(DBSnapshotIdentifier=FINAL_SNAPSHOT)["DBSnapshots"][0]
    assert snapshot["DBInstanceIdentifier"] == "edp-example-source" and snapshot["Encrypted"] is True
    # the managed master secret goes with its instance; the DMS copy waits out a recovery window (the
    # data-loss guard lets a secret go only so), restorable until then
    secrets = emulator.client("secretsmanager")
    assert secrets.list_secrets()["SecretList"] == []
    [scheduled] = secrets.list_secrets(IncludePlannedDeletion=True)["SecretList"]
    assert scheduled["Name"] == DMS_SECRET and "DeletedDate" in scheduled


@pytest.fixture(scope="module")
def tf_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tf")


@pytest.fixture(scope="module")
def applied(tf_dir):
    with applied_example(tf_dir, "ingestion", after_destroy=_nothing_left_but_the_snapshot) as applied:
        yield applied


@pytest.fixture(scope="module")
def key_arn(applied):
    emulator, _ = applied
    return emulator.client("kms").list_keys()["Keys"][0]["KeyArn"]


def _secret_value(emulator: AwsEmulator, arn: str) -> dict:
    return json.loads(emulator.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


def _endpoint(emulator: AwsEmulator, arn: str) -> dict:
    endpoints = emulator.client("dms").describe_endpoints(Filters=[{"Name": "endpoint-arn", "Values": [arn]}])
    return endpoints["Endpoints"][0]


def test_source_db_is_private_encrypted_and_replicates_logically(applied, key_arn):
    emulator, outputs = applied
    rds = emulator.client("rds")
    db = rds.describe_db_instances(DBInstanceIdentifier=outputs["db_instance_id"])["DBInstances"][0]
    assert db["Engine"] == "postgres" and db["EngineVersion"].split(".")[0] == "16"
    assert db["StorageEncrypted"] is True and db["KmsKeyId"] == key_arn
    assert db["PubliclyAccessible"] is False and db["IAMDatabaseAuthenticationEnabled"] is True
    assert db["BackupRetentionPeriod"] >= 1 and db["CopyTagsToSnapshot"] is True
    assert db["DeletionProtection"] is False  # sessions are torn down; the final snapshot keeps the data
    assert db["PerformanceInsightsEnabled"] is True and db["PerformanceInsightsKMSKeyId"] == key_arn
    assert db["Endpoint"]["Address"] == outputs["db_address"] and db["Endpoint"]["Port"] == outputs["db_port"] == 5432
    assert db["DBName"] == outputs["db_name"] == "source"

    group = db["DBParameterGroups"][0]["DBParameterGroupName"]
    parameters = {p["ParameterName"]: p["ParameterValue"]
                  for p in rds.describe_db_parameters(DBParameterGroupName=group)["Parameters"]}
    assert parameters["rds.logical_replication"] == "1"
    assert parameters["rds.force_ssl"] == "1"
    assert int(parameters["wal_sender_timeout"]) >= 10000  # DMS CDC fails below 10 s (0 disables)
    assert int(parameters["max_slot_wal_keep_size"]) == 20 * 1024 // 4


def test_master_password_is_generated_and_kept_by_rds(applied, key_arn):
    emulator, outputs = applied
    db = emulator.client("rds").describe_db_instances(DBInstanceIdentifier=outputs["db_instance_id"])["DBInstances"][0]
    assert db["MasterUserSecret"]["SecretArn"] == outputs["master_secret_arn"]
    secrets = emulator.client("secretsmanager")
    assert secrets.describe_secret(SecretId=outputs["master_secret_arn"])["KmsKeyId"] == key_arn
    password = json.loads(secrets.get_secret_value(SecretId=outputs["master_secret_arn"])["SecretString"])["password"]
    assert password not in json.dumps(outputs)


def test_secret_role_reads_that_one_secret_only(applied, key_arn):
    emulator, outputs = applied
    iam = emulator.client("iam")
    name = outputs["secrets_access_role_arn"].rsplit("/", 1)[1]
    trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert set(trust["Principal"]["Service"]) == {"dms.amazonaws.com", "dms.eu-central-1.amazonaws.com"}
    policy = iam.get_role_policy(RoleName=name, PolicyName="read-source-secret")["PolicyDocument"]
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["ReadSourceSecret"]["Action"] == "secretsmanager:GetSecretValue"
    assert statements["ReadSourceSecret"]["Resource"] == outputs["source_secret_arn"] != outputs["master_secret_arn"]
    assert statements["DecryptSourceSecret"]["Action"] == "kms:Decrypt"
    assert statements["DecryptSourceSecret"]["Resource"] == key_arn
    assert statements["DecryptSourceSecret"]["Condition"]["StringEquals"]["kms:ViaService"] == \
        "secretsmanager.eu-central-1.amazonaws.com"


def test_source_endpoint_reads_the_secret_over_tls(applied):
    emulator, outputs = applied
    source = _endpoint(emulator, outputs["source_endpoint_arn"])
    assert source["EndpointType"].lower() == "source" and source["EngineName"] == "postgres"
    assert source["SslMode"] == "require"
    settings = source["PostgreSQLSettings"]
    assert settings["SecretsManagerSecretId"] == outputs["source_secret_arn"] != outputs["master_secret_arn"]
    assert settings["SecretsManagerAccessRoleArn"] == outputs["secrets_access_role_arn"]
    assert settings["DatabaseName"] == "source"
    assert "Password" not in source and "Password" not in settings
    # unconstrained numeric as exact text, as the local stand-in writes it (docs/design.md, types in Bronze)
    assert "MapUnboundedNumericAsString=true" in source.get("ExtraConnectionAttributes", "")


def test_dms_reads_a_dms_shaped_copy_of_the_master_secret(applied, key_arn):
    """DMS takes host and port from the secret; RDS's managed one holds only username and password."""
    emulator, outputs = applied
    secrets = emulator.client("secretsmanager")
    described = secrets.describe_secret(SecretId=outputs["source_secret_arn"])
    assert described["Name"] == DMS_SECRET and described["KmsKeyId"] == key_arn
    db = emulator.client("rds").describe_db_instances(DBInstanceIdentifier=outputs["db_instance_id"])["DBInstances"][0]
    master = _secret_value(emulator, outputs["master_secret_arn"])
    assert set(master) == {"username", "password"}  # what RDS keeps: no host, no port
    copy = _secret_value(emulator, outputs["source_secret_arn"])
    assert copy == {"engine": "postgres", "host": db["Endpoint"]["Address"], "port": db["Endpoint"]["Port"],
                    "dbname": db["DBName"], "username": db["MasterUsername"], "password": master["password"]}
    assert master["username"] == db["MasterUsername"]


def test_no_password_in_state_plan_or_outputs(applied, tf_dir):
    """The password passes through an ephemeral read and a write-only argument, never through state."""
    emulator, outputs = applied
    password = _secret_value(emulator, outputs["master_secret_arn"])["password"]
    work = example_dir(tf_dir, "ingestion")
    state = (work / "terraform.tfstate").read_text()
    resources = {r["type"] for r in json.loads(state)["resources"]}
    assert {"aws_secretsmanager_secret", "aws_secretsmanager_secret_version", "aws_db_instance"} <= resources
    assert password not in state
    with zipfile.ZipFile(work / "tfplan") as plan:  # the saved plan the apply ran
        assert all(password.encode() not in plan.read(name) for name in plan.namelist())
    assert password not in json.dumps(outputs)


def test_bronze_target_writes_parquet_in_the_local_layout(applied, key_arn):
    emulator, outputs = applied
    target = _endpoint(emulator, outputs["target_endpoint_arn"])
    assert target["EndpointType"].lower() == "target" and target["EngineName"] == "s3"
    s3 = target["S3Settings"]
    assert s3["BucketName"] == "edp-example-bronze" and not s3.get("BucketFolder")  # <bucket>/<schema>/<table>/
    assert s3["DataFormat"] == "parquet" and s3["ParquetVersion"] == "parquet-2-0"
    assert s3["TimestampColumnName"] == dms_format.TIMESTAMP_COLUMN
    # full-load rows carry no Op, CDC rows carry Op first: as edp_dev.local.dms_format.bronze_schema writes them
    assert s3["IncludeOpForFullLoad"] is False and s3["CdcInsertsAndUpdates"] is False
    # change files in date folders, as edp_dev.local.dms_format.cdc_file_path writes them
    assert s3["DatePartitionEnabled"] is True and s3["DatePartitionSequence"] == "YYYYMMDD"
    assert s3["DatePartitionDelimiter"] == "SLASH"
    assert s3["EncryptionMode"] == "SSE_KMS" and s3["ServerSideEncryptionKmsKeyId"] == key_arn
    assert s3["ServiceAccessRoleArn"].endswith(":role/edp-example-dms")


def test_task_replicates_the_tables_with_a_change_sequence(applied, key_arn):
    emulator, outputs = applied
    dms = emulator.client("dms")
    task = dms.describe_replication_tasks(
        Filters=[{"Name": "replication-task-id", "Values": [outputs["replication_task_id"]]}])["ReplicationTasks"][0]
    assert task["ReplicationTaskArn"] == outputs["replication_task_arn"]
    assert task["MigrationType"] == "full-load-and-cdc"
    assert task["Status"] == "ready"  # created, not started: the pipeline starts it
    assert task["SourceEndpointArn"] == outputs["source_endpoint_arn"]
    assert task["TargetEndpointArn"] == outputs["target_endpoint_arn"]
    assert task["ReplicationInstanceArn"] == outputs["replication_instance_arn"]

    rules = json.loads(task["TableMappings"])["rules"]
    selected = {(r["object-locator"]["schema-name"], r["object-locator"]["table-name"])
                for r in rules if r["rule-type"] == "selection" and r["rule-action"] == "include"}
    assert selected == {("public", "customers"), ("public", "orders")}
    [seq, before] = [r for r in rules if r["rule-type"] == "transformation"]
    # a primary-key update carries the old key (BI_<key>), which the merge deletes, as the local DMS writes it
    assert before["rule-action"] == "add-before-image-columns"
    assert before["before-image-def"] == {"column-prefix": dms_format.BEFORE_IMAGE_PREFIX, "column-suffix": "",
                                          "column-filter": "pk-only"}
    assert seq["rule-action"] == "add-column" and seq["rule-target"] == "column"
    assert seq["value"] == dms_format.SEQ_COLUMN and seq["expression"] == "$AR_H_CHANGE_SEQ"
    assert seq["data-type"] == {"type": "string", "length": 50}
    assert len({r["rule-id"] for r in rules}) == len(rules)

    settings = json.loads(task["ReplicationTaskSettings"])
    assert settings["Logging"]["EnableLogging"] is True
    assert settings["FullLoadSettings"]["TargetTablePrepMode"] == "DO_NOTHING"  # a reload never deletes Bronze

    instance = dms.describe_replication_instances(
        Filters=[{"Name": "replication-instance-arn", "Values": [outputs["replication_instance_arn"]]}]
    )["ReplicationInstances"][0]
    assert instance["ReplicationInstanceClass"] == "dms.t3.micro"
    assert instance["PubliclyAccessible"] is False and instance["KmsKeyId"] == key_arn
    assert instance["ReplicationSubnetGroup"]["ReplicationSubnetGroupIdentifier"] == "edp-example-dms"


# -- planned, not applied ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def planner(tmp_path_factory):
    tf = local_example(tmp_path_factory.mktemp("plan"), "ingestion")
    with AwsEmulator() as emulator:
        yield tf, emulator.endpoint


def test_no_tables_replicates_the_whole_schema_but_dms_artifacts(planner):
    tf, endpoint = planner
    on_emulator(tf, endpoint).plan("tfplan", {"tables": []})
    [task] = [c for c in tf.show_plan("tfplan")["resource_changes"] if c["type"] == "aws_dms_replication_task"]
    rules = json.loads(task["change"]["after"]["table_mappings"])["rules"]
    selections = {(r["rule-action"], r["object-locator"]["table-name"]) for r in rules if r["rule-type"] == "selection"}
    assert selections == {("include", "%"), ("exclude", "awsdms%")}
    assert [r.get("expression") for r in rules if r["rule-type"] == "transformation"] == ["$AR_H_CHANGE_SEQ", None]


def test_validation_rejects_an_unknown_dms_instance_class(planner):
    from edp.terraform import TerraformError

    tf, endpoint = planner
    with pytest.raises(TerraformError, match="dms_instance_class must be a DMS replication instance class"):
        on_emulator(tf, endpoint).plan("tfplan", {"dms_instance_class": "dms.t3.huge"})
