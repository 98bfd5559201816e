"""The processing module against the local AWS emulator: one Glue job per glue_jobs entry, named as the task
list derives it and running the repo's script with the Bronze/Silver locations the local runner uses; one
crawler per crawlers entry over its layer, skipping the pipeline's bookkeeping folders; and the Athena
workgroup enforcing its result location, encryption and bytes limit."""

from __future__ import annotations

import pytest

from edp.kinds.base import resource_name
from edp.settings import glue_scripts_dir
from edp_dev.local import dms_format
from edp_dev.local.glue import glue_runtime
from tests.terraform.conftest import applied_example, requires_terraform

pytestmark = [requires_terraform, pytest.mark.integration]


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    def nothing_left(emulator):
        assert emulator.client("glue").get_jobs()["Jobs"] == []

    variables = {"scripts_dir": str(glue_scripts_dir())}
    with applied_example(tmp_path_factory.mktemp("tf"), "processing", variables, after_destroy=nothing_left) as applied:
        yield applied


def test_glue_jobs_per_task_run_the_repo_script_with_lake_locations(applied):
    emulator, outputs = applied
    glue = emulator.client("glue")
    assert outputs["glue_jobs"] == {t: resource_name("edp-example", t) for t in ("bronze_to_silver", "rebuild_silver")}
    location = outputs["script_locations"]["bronze_to_silver.py"]
    assert set(outputs["script_locations"]) == {"bronze_to_silver.py"}, "a script two jobs run is uploaded once"
    mapped = glue.get_job(JobName=outputs["glue_jobs"]["bronze_to_silver"])["Job"]
    single = glue.get_job(JobName=outputs["glue_jobs"]["rebuild_silver"])["Job"]
    for job in (mapped, single):
        assert job["Command"]["ScriptLocation"] == location
        assert job["DefaultArguments"]["--bronze_path"] == "s3://edp-example-bronze"
        assert job["DefaultArguments"]["--silver_path"] == "s3://edp-example-silver"
        assert job["DefaultArguments"]["--schema"] == "public"
        assert job["GlueVersion"] == glue_runtime()["glue_version"]
        # Silver is Iceberg in the Glue Data Catalog: Glue's own Iceberg, its catalog named to the script
        arguments = job["DefaultArguments"]
        assert arguments["--datalake-formats"] == "iceberg"
        assert (arguments["--catalog"], arguments["--namespace"]) == ("glue_catalog", "edp_example_silver")
        conf = dict(item.split("=", 1) for item in arguments["--conf"].split(" --conf "))
        assert conf["spark.sql.catalog.glue_catalog.catalog-impl"] == "org.apache.iceberg.aws.glue.GlueCatalog"
        assert conf["spark.sql.catalog.glue_catalog.warehouse"] == "s3://edp-example-silver/"
        assert conf["spark.sql.extensions"] == "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
    # workers per run: the task's own (4), else the kind's default (2); only a mapped job runs per table at once
    assert (mapped["NumberOfWorkers"], single["NumberOfWorkers"]) == (4, 2)
    assert (mapped["ExecutionProperty"]["MaxConcurrentRuns"], single["ExecutionProperty"]["MaxConcurrentRuns"]) == (8, 1)
    bucket, key = location[5:].split("/", 1)
    body = emulator.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == (glue_scripts_dir() / "bronze_to_silver.py").read_bytes()


def test_crawlers_per_task_over_their_layer_skip_bookkeeping(applied):
    emulator, outputs = applied
    glue = emulator.client("glue")
    assert outputs["crawlers"] == {t: resource_name("edp-example", t) for t in ("crawl_silver", "crawl_gold")}
    gold = glue.get_crawler(Name=outputs["crawlers"]["crawl_gold"])["Crawler"]
    target = gold["Targets"]["S3Targets"][0]
    assert target["Path"] == "s3://edp-example-gold/" and gold["DatabaseName"] == "edp_example_gold"
    for folder in ("_bookmarks/**", "_staging/**", "_previous/**", "**" + dms_format.IN_PROGRESS):
        assert folder in target["Exclusions"]
    # Silver is Iceberg: its crawler reads table metadata, not the data files of every snapshot as parquet
    silver = glue.get_crawler(Name=outputs["crawlers"]["crawl_silver"])["Crawler"]
    assert not silver["Targets"].get("S3Targets") and silver["DatabaseName"] == "edp_example_silver"
    assert silver["Targets"]["IcebergTargets"][0]["Paths"] == ["s3://edp-example-silver/"]


def test_athena_workgroup_enforces_location_encryption_and_limit(applied):
    emulator, outputs = applied
    config = emulator.client("athena").get_work_group(WorkGroup=outputs["athena_workgroup"])["WorkGroup"]["Configuration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["BytesScannedCutoffPerQuery"] == 10737418240
    assert config["ResultConfiguration"]["OutputLocation"] == "s3://edp-example-athena-results/results/"
    assert config["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
