"""The data_lake module: formatted, valid, and applied for real against the local AWS emulator.

Providers come through Terraform's own configuration or EDP_TF_PLUGIN_DIR (`make test` finds a local
mirror with scripts/find-tf-mirror.sh); a machine with registry access needs neither.
"""

from __future__ import annotations

import pytest

from edp_dev.emulator.server import AwsEmulator
from tests.terraform.conftest import applied_example, local_example, on_emulator, requires_terraform

pytestmark = [requires_terraform, pytest.mark.integration]


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    def nothing_left(emulator):
        assert emulator.client("s3").list_buckets()["Buckets"] == [], "destroy of the unprotected example leaves nothing"

    with applied_example(tmp_path_factory.mktemp("tf"), "data_lake", {"name_prefix": "edp-test"}, after_destroy=nothing_left) as applied:
        yield applied


def test_every_bucket_is_encrypted_private_versioned_and_tls_only(applied):
    emulator, outputs = applied
    names = outputs["bucket_names"]
    assert set(names) == {"bronze", "silver", "gold", "artifacts", "athena_results"}
    s3 = emulator.client("s3")
    for role, bucket in names.items():
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms", role
        assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == outputs["kms_key_arn"], role
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(block.values()) and len(block) == 4, role
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled", role
        policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
        assert '"aws:SecureTransport"' in policy and '"Deny"' in policy, role
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        assert rules[0]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7, role
    bronze_rules = s3.get_bucket_lifecycle_configuration(Bucket=names["bronze"])["Rules"]
    assert bronze_rules[0]["Transitions"][0]["StorageClass"] == "STANDARD_IA"


def test_every_bucket_logs_access_into_the_private_log_bucket(applied):
    emulator, outputs = applied
    s3 = emulator.client("s3")
    logs = outputs["access_log_bucket_name"]
    for role, bucket in outputs["bucket_names"].items():
        assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"] == {"TargetBucket": logs, "TargetPrefix": f"{bucket}/"}, role
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=logs), "the log bucket does not log into itself"
    rule = s3.get_bucket_encryption(Bucket=logs)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(s3.get_public_access_block(Bucket=logs)["PublicAccessBlockConfiguration"].values())
    assert s3.get_bucket_versioning(Bucket=logs)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=logs)["Rules"]
    assert rule["Expiration"]["Days"] == 365
    policy = s3.get_bucket_policy(Bucket=logs)["Policy"]
    assert '"logging.s3.amazonaws.com"' in policy and '"aws:SourceAccount"' in policy and '"aws:SecureTransport"' in policy


def test_an_unprotected_lake_is_destroyed_with_every_object_version(tmp_path):
    """protect_data = false (the emulator's values): a destroy empties the versioned buckets, old versions and
    delete markers included, instead of stopping at the first non-empty one with versioning left Suspended."""
    def nothing_left(emulator):
        assert emulator.client("s3").list_buckets()["Buckets"] == []

    with applied_example(tmp_path, "data_lake", {"name_prefix": "edp-purge"}, after_destroy=nothing_left) as applied:
        emulator, outputs = applied
        s3 = emulator.client("s3")
        for role in ("silver", "gold", "athena_results"):
            bucket = outputs["bucket_names"][role]
            for version in range(3):
                s3.put_object(Bucket=bucket, Key="orders/part-0.parquet", Body=f"version {version}".encode())
            s3.delete_object(Bucket=bucket, Key="orders/part-0.parquet")  # a delete marker over three versions
            s3.put_object(Bucket=bucket, Key="customers/part-0.parquet", Body=b"current")
        silver = s3.list_object_versions(Bucket=outputs["bucket_names"]["silver"])
        assert len(silver["Versions"]) == 4 and len(silver["DeleteMarkers"]) == 1


def test_data_buckets_are_protected_unless_told_otherwise(tmp_path):
    """Planned, not applied: with protect_data (the module default) the data buckets carry prevent_destroy."""
    tf = local_example(tmp_path, "data_lake")
    with AwsEmulator() as emulator:
        on_emulator(tf, emulator.endpoint).plan("tfplan", {"protect_data": True})
    buckets = {c.get("index", c["name"]): c["name"] for c in tf.show_plan("tfplan")["resource_changes"]
               if c["type"] == "aws_s3_bucket"}
    assert buckets == {"bronze": "protected", "silver": "protected", "gold": "protected",
                       "artifacts": "unprotected", "athena_results": "unprotected", "access_logs": "access_logs"}


def test_validation_rejects_a_bad_prefix(tmp_path):
    tf = local_example(tmp_path, "data_lake")
    from edp.terraform import TerraformError

    with pytest.raises(TerraformError, match="name_prefix must be 3-42 characters"):
        on_emulator(tf, "http://127.0.0.1:1").plan("tfplan", {"name_prefix": "Bad_Prefix"})
