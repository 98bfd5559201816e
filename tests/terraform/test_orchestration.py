"""The orchestration module: the MWAA source bucket (KMS, private, versioned, TLS-only, owner-enforced),
the packaged requirements/startup script/plugins uploaded into it with the versions the environment pins,
and the execution role holding only what MWAA itself needs.

moto has no MWAA, so the example is applied with create_environment = false and the environment is checked
in a plan (what Terraform would send AWS); a plan needs no MWAA call.
"""

from __future__ import annotations

import zipfile

import pytest

from edp.settings import REPO_ROOT
from edp.terraform import TerraformError
from edp_dev.emulator.server import AwsEmulator
from tests.terraform.conftest import MODULES, applied_example, local_example, on_emulator, requires_terraform

pytestmark = [requires_terraform, pytest.mark.integration]
FILES = MODULES / "orchestration" / "examples" / "complete" / "files"


def _plugins_zip(folder) -> str:
    """plugins.zip the way MWAA wants it: the package at the archive's root."""
    path = folder / "plugins.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for source in sorted((REPO_ROOT / "plugins" / "edp").rglob("*.py")):
            archive.write(source, source.relative_to(REPO_ROOT / "plugins"))
    return str(path)


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tf")
    plugins = _plugins_zip(tmp)

    def nothing_left(emulator):
        assert emulator.client("s3").list_buckets()["Buckets"] == []  # versions too: force_destroy in the example
        assert emulator.client("iam").list_roles()["Roles"] == []

    with applied_example(tmp, "orchestration", {"plugins_zip_path": plugins}, after_destroy=nothing_left) as applied:
        yield (*applied, plugins)


def test_source_bucket_is_encrypted_private_versioned_tls_only(applied):
    emulator, outputs, _ = applied
    s3, bucket = emulator.client("s3"), outputs["bucket_name"]
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": outputs["kms_key_arn"]}
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}]
    policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    assert '"aws:SecureTransport"' in policy and '"Deny"' in policy
    logging = s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]
    assert (logging["TargetBucket"], logging["TargetPrefix"]) == ("edp-example-access-logs", f"{bucket}/")
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
    assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7


def test_packaged_files_are_uploaded_with_their_versions(applied):
    emulator, outputs, plugins = applied
    s3, bucket = emulator.client("s3"), outputs["bucket_name"]
    expected = {"requirements": ("requirements.txt", (FILES / "requirements.txt").read_bytes()),
                "startup": ("startup.sh", (FILES / "startup.sh").read_bytes()),
                "plugins": ("plugins.zip", open(plugins, "rb").read())}
    assert set(outputs["object_versions"]) == set(expected)
    for name, (key, body) in expected.items():
        obj = s3.get_object(Bucket=bucket, Key=key)
        assert obj["Body"].read() == body, key
        assert obj["VersionId"] == outputs["object_versions"][name], key
        assert obj["ServerSideEncryption"] == "aws:kms", key
    requirements = s3.get_object(Bucket=bucket, Key="requirements.txt")["Body"].read().decode()
    assert any(line.startswith("--constraint ") for line in requirements.splitlines())
    assert s3.head_object(Bucket=bucket, Key=outputs["dag_s3_path"])["ContentLength"] == 0
    assert outputs["dag_s3_path"] == "dags/"


def test_execution_role_is_mwaa_only_and_names_every_action(applied):
    emulator, outputs, _ = applied
    iam, role = emulator.client("iam"), outputs["execution_role_name"]
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert set(trust["Principal"]["Service"]) == {"airflow.amazonaws.com", "airflow-env.amazonaws.com"}
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"].endswith(":environment/edp-example-airflow")
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert sorted(names) == ["mwaa-execution", "pipeline"]
    statements = [s for n in names for s in iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"]["Statement"]]
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any("*" in action for action in actions), statement
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["PublishEnvironmentMetrics"]["Resource"] == (
        "arn:aws:airflow:eu-central-1:123456789012:environment/edp-example-airflow")
    assert by_sid["ReadSourceObjects"]["Resource"] == f"{outputs['bucket_arn']}/*"
    assert by_sid["WriteEnvironmentLogs"]["Resource"].endswith(":log-group:airflow-edp-example-airflow-*")
    assert by_sid["KeyThroughS3AndSqs"]["Resource"] == outputs["kms_key_arn"]
    assert set(by_sid["KeyThroughS3AndSqs"]["Condition"]["StringLike"]["kms:ViaService"]) == {
        "sqs.eu-central-1.amazonaws.com", "s3.eu-central-1.amazonaws.com"}
    for sid in ("ReadSourceBucket", "ReadSourceObjects"):
        assert not any(verb in a for a in by_sid[sid]["Action"] for verb in (":Put", ":Delete")), sid


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The example initialised once, with an emulator to plan against (nothing is applied)."""
    tf = local_example(tmp_path_factory.mktemp("tf"), "orchestration")
    with AwsEmulator() as emulator:
        yield tf, emulator.endpoint


def test_planned_environment_is_private_airflow_3_pinned_to_object_versions(example, tmp_path):
    tf, endpoint = example
    plugins = _plugins_zip(tmp_path)
    assert on_emulator(tf, endpoint).plan("tfplan", {"create_environment": True, "plugins_zip_path": plugins})
    plan = tf.show_plan("tfplan")
    [change] = [c["change"] for c in plan["resource_changes"] if c["type"] == "aws_mwaa_environment"]
    after, unknown = change["after"], change["after_unknown"]
    assert (after["airflow_version"], after["webserver_access_mode"]) == ("3.3.1", "PRIVATE_ONLY")
    assert (after["environment_class"], after["min_workers"], after["max_workers"]) == ("mw1.small", 1, 3)
    assert after["dag_s3_path"] == "dags/"
    assert (after["requirements_s3_path"], after["startup_script_s3_path"], after["plugins_s3_path"]) == (
        "requirements.txt", "startup.sh", "plugins.zip")
    logs = after["logging_configuration"][0]
    assert all(logs[kind][0] == {"enabled": True, "log_level": "INFO"} for kind in logs), logs

    resources = plan["configuration"]["root_module"]["module_calls"]["orchestration"]["module"]["resources"]
    [environment] = [r for r in resources if r["type"] == "aws_mwaa_environment"]
    for attribute, artifact in (("requirements_s3_object_version", "requirements"),
                                ("plugins_s3_object_version", "plugins"),
                                ("startup_script_s3_object_version", "startup")):
        assert unknown[attribute], attribute  # the version S3 gives the upload, known after apply
        assert f'aws_s3_object.artifact["{artifact}"].version_id' in environment["expressions"][attribute]["references"]
    assert "var.kms_key_arn" in environment["expressions"]["kms_key"]["references"]


def test_requirements_without_a_constraint_line_are_rejected(example, tmp_path):
    tf, endpoint = example
    unpinned = tmp_path / "requirements.txt"
    unpinned.write_text("# --constraint mentioned only in a comment\napache-airflow-providers-amazon\n")
    with pytest.raises(TerraformError, match="requirements_path has no `--constraint <url-or-file>` line"):
        on_emulator(tf, endpoint).plan("rejected", {"requirements_path": str(unpinned)})
