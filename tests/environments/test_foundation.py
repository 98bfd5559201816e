"""The emulator environment's foundation as applied: the lake, the Glue job and crawlers, the state machine."""

from __future__ import annotations

import json

import pytest

from edp import asl
from edp.environments import published_outputs
from tests.environments.conftest import LAKE, bucket_names

pytestmark = pytest.mark.system  # Terraform's AWS provider, Airflow and the emulator together


def test_lake_buckets_are_encrypted_private_and_versioned(platform):
    _, emulator, outputs = platform
    s3 = emulator.client("s3")
    assert {f"edp-emulator-{b}" for b in LAKE} <= bucket_names(emulator)
    for name in outputs["bucket_names"].values():
        rule = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms", name
        block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        assert all(block.values()), name
        assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled", name


def test_glue_job_and_crawlers_exist(platform):
    _, emulator, outputs = platform
    glue = emulator.client("glue")
    # one job and one crawler per task of the shipped list, named <prefix>-<task id>
    assert outputs["glue_jobs"] == {"bronze_to_silver": "edp-emulator-bronze-to-silver"}
    job = glue.get_job(JobName=outputs["glue_jobs"]["bronze_to_silver"])["Job"]
    assert job["DefaultArguments"]["--bronze_path"] == "s3://edp-emulator-bronze"
    assert job["Connections"]["Connections"], "the job runs inside the VPC"
    assert outputs["crawlers"] == {"crawl_silver": "edp-emulator-crawl-silver"}
    assert glue.get_crawler(Name="edp-emulator-crawl-silver")["Crawler"]["DatabaseName"] == "edp_emulator_silver"


def test_state_machine_is_the_generated_asl(platform, spec):
    _, emulator, outputs = platform
    described = emulator.client("stepfunctions").describe_state_machine(stateMachineArn=outputs["state_machine_arn"])
    assert outputs["foundation_parameter"] == "/edp-emulator/foundation"
    published = published_outputs("emulator", "foundation")  # what the workers read: the same names
    assert published["glue_jobs"] == outputs["glue_jobs"] and published["ecs"] == outputs["ecs"]
    values = asl.placeholder_values(published)
    assert set(values) == set(asl.PLACEHOLDERS)
    assert json.loads(described["definition"]) == asl.filled(asl.render_asl(spec), values)


