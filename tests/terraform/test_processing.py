"""The processing module against the local AWS emulator: the Glue job runs the repo's script with the
Bronze/Silver locations the local runner uses, crawlers skip the pipeline's bookkeeping folders, and
the Athena workgroup enforces its result location, encryption and bytes limit."""

from __future__ import annotations

import pytest

from edp.settings import glue_scripts_dir
from edp_dev.local import dms_format
from tests.terraform.conftest import applied_example, requires_terraform

pytestmark = [requires_terraform, pytest.mark.integration]


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    def nothing_left(emulator):
        assert emulator.client("glue").get_jobs()["Jobs"] == []

    variables = {"scripts_dir": str(glue_scripts_dir())}
    with applied_example(tmp_path_factory.mktemp("tf"), "processing", variables, after_destroy=nothing_left) as applied:
        yield applied


def test_glue_job_runs_the_repo_script_with_lake_locations(applied):
    emulator, outputs = applied
    job = emulator.client("glue").get_job(JobName=outputs["glue_job_name"])["Job"]
    assert job["Command"]["ScriptLocation"] == outputs["script_location"]
    assert job["DefaultArguments"]["--bronze_path"] == "s3://edp-example-bronze"
    assert job["DefaultArguments"]["--silver_path"] == "s3://edp-example-silver"
    assert job["DefaultArguments"]["--schema"] == "public"
    assert job["NumberOfWorkers"] == 4 and job["GlueVersion"] == "5.0"
    bucket, key = outputs["script_location"][5:].split("/", 1)
    body = emulator.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == (glue_scripts_dir() / "bronze_to_silver.py").read_bytes()


def test_crawlers_per_layer_skip_bookkeeping(applied):
    emulator, outputs = applied
    glue = emulator.client("glue")
    assert set(outputs["crawler_names"]) == {"bronze", "silver"}
    silver = glue.get_crawler(Name=outputs["crawler_names"]["silver"])["Crawler"]
    target = silver["Targets"]["S3Targets"][0]
    assert target["Path"] == "s3://edp-example-silver/" and silver["DatabaseName"] == "edp_example_silver"
    for folder in ("_bookmarks/**", "_staging/**", "_previous/**", "**" + dms_format.IN_PROGRESS):
        assert folder in target["Exclusions"]


def test_athena_workgroup_enforces_location_encryption_and_limit(applied):
    emulator, outputs = applied
    config = emulator.client("athena").get_work_group(WorkGroup=outputs["athena_workgroup"])["WorkGroup"]["Configuration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["BytesScannedCutoffPerQuery"] == 10737418240
    assert config["ResultConfiguration"]["OutputLocation"] == "s3://edp-example-athena-results/results/"
    assert config["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
