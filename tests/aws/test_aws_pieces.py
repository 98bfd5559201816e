"""The aws target's pieces that need no Airflow run: names from the published outputs, the dbt image's
entrypoint and the publishing step against the local emulator, and the alert callbacks reaching SNS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from edp import alerts
from edp.aws import calls, glue_usage, publish
from edp.aws.names import Platform
from edp.environments import parameter_name
from edp.settings import PermanentError
from edp_dev.emulator.server import AwsEmulator

pytestmark = pytest.mark.integration  # the AWS emulator and the amazon provider

ARTIFACTS = "edp-emulator-artifacts"
FOUNDATION = {"name_prefix": "edp-emulator", "bucket_names": {"artifacts": ARTIFACTS},
              "dms": {"replication_instance_id": "i", "replication_task_id": "t"}}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    outputs = tmp_path_factory.mktemp("dbt-container")
    (outputs / "run_results.json").write_text('{"results": []}')
    (outputs / "manifest.json").write_text("{}")
    with AwsEmulator(container_outputs=outputs) as emu, pytest.MonkeyPatch.context() as env:
        env.setenv("EDP_AWS_ENDPOINT", emu.endpoint)
        yield emu


@pytest.fixture(scope="module")
def foundation(emulator):
    ssm = emulator.client("ssm")
    topic = emulator.client("sns").create_topic(Name="edp-emulator-alarms")["TopicArn"]
    emulator.client("s3").create_bucket(Bucket="edp-emulator-artifacts",
                                        CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    values = {**FOUNDATION, "alarm_topic_arn": topic}
    ssm.put_parameter(Name=parameter_name("emulator", "foundation"), Value=json.dumps(values), Type="String",
                      Overwrite=True)
    yield values
    ssm.delete_parameter(Name=parameter_name("emulator", "foundation"))


def test_names_come_from_the_published_outputs(foundation):
    platform = Platform.load("emulator")
    # a task's own resource: <prefix>-<task id>, as Terraform names it from the task list
    assert platform.task_resource("bronze_to_silver") == "edp-emulator-bronze-to-silver"
    assert platform.task_resource("crawl_silver") == "edp-emulator-crawl-silver"
    with pytest.raises(PermanentError, match="no ingestion session is on in emulator"):
        platform.dms_task_arn  # noqa: B018 - the property is the check
    with pytest.raises(PermanentError, match="publishes no ecs"):
        platform.ecs  # noqa: B018


def test_a_permanent_error_fails_the_task_at_once(foundation, monkeypatch):
    """No ingestion session on: the aws target's cdc_ingest fails at once (AirflowFailException), as a
    PermanentError does on the local target, instead of being retried after `retry_delay` and again."""
    from airflow.sdk.exceptions import AirflowFailException

    from edp.aws.operators import CdcIngestOperator

    monkeypatch.setenv("EDP_ENVIRONMENT", "emulator")
    with pytest.raises(AirflowFailException, match="no ingestion session is on in emulator") as failed:
        CdcIngestOperator(task_id="cdc_ingest").execute({"params": {}})
    assert isinstance(failed.value.__cause__, PermanentError)


def test_an_unpublished_foundation_names_the_fix(emulator, foundation):
    emulator.client("ssm").delete_parameter(Name=parameter_name("emulator", "foundation"))
    try:
        with pytest.raises(PermanentError, match=r"/edp-emulator/foundation: apply it first \(`edp infra apply"):
            Platform.load("emulator")
        assert alerts.publish("subject", {}, environment="emulator") is None, "an unsendable alert never raises"
    finally:
        emulator.client("ssm").put_parameter(Name=parameter_name("emulator", "foundation"), Type="String",
                                             Value=json.dumps(foundation), Overwrite=True)


def test_dms_start_type_follows_the_task_status():
    assert calls.dms_start_type("ready") == "start-replication"
    assert calls.dms_start_type("stopped") == "resume-processing"
    assert calls.dms_start_type("running") is None
    with pytest.raises(ValueError, match="'deleting'"):
        calls.dms_start_type("deleting")


def _sqs_messages(emulator, topic: str):
    sqs = emulator.client("sqs")
    queue = sqs.create_queue(QueueName="alerts-test")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    emulator.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)

    def read():
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        return [json.loads(m["Body"]) for m in got]
    return read


def test_failure_and_late_run_callbacks_reach_the_alarm_topic(foundation, emulator):
    read = _sqs_messages(emulator, foundation["alarm_topic_arn"])
    ti = SimpleNamespace(dag_id="edp_pipeline", task_id="bronze_to_silver", map_index=2, try_number=3, log_url="u")
    alerts.task_failed({"ti": ti, "params": {"target": "aws"}, "run_id": "r1", "exception": RuntimeError("boom")})
    alerts.run_late(None, dag_id="edp_pipeline", late_after_minutes=180)
    subjects = {m["Subject"]: json.loads(m["Message"]) for m in read()}
    assert subjects["EDP edp_pipeline: bronze_to_silver[2] failed"]["error"] == "boom"
    assert subjects["EDP edp_pipeline: run is late"]["late_after_minutes"] == 180


def test_publishing_needs_the_dbt_files_then_writes_report_and_metrics(foundation, emulator, tmp_path):
    s3 = emulator.client("s3")
    with pytest.raises(FileNotFoundError, match="lacks manifest.json, run_results.json"):
        publish.publish_run(s3, "edp-emulator-artifacts", "manual__2026-11-23T02:00:00+00:00", {})
    target = tmp_path / "target"
    target.mkdir()
    (target / "manifest.json").write_text("{}")
    (target / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": "model.edp.fct_orders", "status": "success", "execution_time": 2.0,
         "adapter_response": {"rows_affected": 7, "data_scanned_in_bytes": 2_000_000_000}},
        {"unique_id": "test.edp.not_null_fct_orders_id.ab12", "status": "fail", "adapter_response": {}}]}))
    (target / "sources.json").write_text(json.dumps({"results": [
        {"unique_id": "source.edp.silver.orders", "status": "pass", "max_loaded_at_time_ago_in_s": 90.0}]}))
    # the image's entrypoint: runs the command, uploads target/ even when the command fails, keeps its exit code
    env = {**os.environ, "AWS_ENDPOINT_URL": emulator.endpoint, "AWS_ACCESS_KEY_ID": "emulator",
           "AWS_SECRET_ACCESS_KEY": "emulator", "AWS_DEFAULT_REGION": "eu-central-1", "DBT_TARGET_PATH": str(target),
           "EDP_ARTIFACTS_BUCKET": "edp-emulator-artifacts", calls.RUN_ID_ENV: "manual__2026-11-23T02:00:00+00:00"}
    fake_dbt = tmp_path / "dbt"
    fake_dbt.write_text("#!/bin/sh\nexit 3\n")  # stands in for a dbt build that failed (the real one needs Athena)
    fake_dbt.chmod(0o755)
    env["PATH"] = f"{tmp_path}{os.pathsep}{env['PATH']}"
    proc = subprocess.run([sys.executable, "-m", "edp.aws.dbt_entrypoint", "dbt", "build", "--target", "athena"],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 3, proc.stderr
    published = publish.publish_run(s3, "edp-emulator-artifacts", "manual__2026-11-23T02:00:00+00:00",
                                    {"dbt_build": {"seconds": 4.0}})
    prefix = "runs/manual__2026-11-23T02_00_00_00_00/"
    assert published["uri"] == f"s3://edp-emulator-artifacts/{prefix}"
    metrics = json.loads(s3.get_object(Bucket="edp-emulator-artifacts", Key=f"{prefix}metrics.json")["Body"].read())
    assert metrics["layers"]["gold"] == {"fct_orders": 7} and metrics["durations"] == {"dbt_build": 4.0}
    assert b"fct_orders" in s3.get_object(Bucket="edp-emulator-artifacts", Key=f"{prefix}report.html")["Body"].read()
    assert s3.get_object(Bucket="edp-emulator-artifacts", Key="runs/latest")["Body"].read().decode().strip() == prefix
    # the run's tests, Silver's freshness and the cost from Athena's bytes scanned; the history under runs/
    assert metrics["tests"]["failed"] == ["not_null_fct_orders_id"] and metrics["silver_lag_seconds"] == 90.0
    athena = metrics["cost"]["lines"]["athena_bytes_scanned"]
    assert athena["billed"] == 2_000_000_000 + 10 * 1024 * 1024 and metrics["cost"]["basis"] == "estimate from the run's AWS figures"
    history = s3.get_object(Bucket="edp-emulator-artifacts", Key="runs/index.html")["Body"].read().decode()
    assert 'href="manual__2026-11-23T02_00_00_00_00/report.html"' in history and "not_null_fct_orders_id" in history
    store = publish.S3Artifacts(s3, "edp-emulator-artifacts")  # what the Airflow UI's pages read
    assert store.latest_folder() == "manual__2026-11-23T02_00_00_00_00" and store.get("runs/nope.html") is None


def _put_dbt_files(s3, run_id: str, results: dict) -> str:
    prefix = publish.run_prefix(run_id)
    s3.put_object(Bucket=ARTIFACTS, Key=f"{prefix}dbt/manifest.json", Body=b"{}")
    s3.put_object(Bucket=ARTIFACTS, Key=f"{prefix}dbt/run_results.json", Body=json.dumps(results).encode())
    return prefix


def test_the_cost_prices_the_glue_job_runs_as_get_job_run_reports_them(foundation, emulator, spec):
    """The Glue tasks' job runs (the run ids the operators return) are read back with GetJobRun: the cost
    holds ExecutionTime × the run's DPUs (the job's worker type × the run's workers), not the task's seconds."""
    glue, platform = emulator.client("glue"), Platform.load("emulator")
    job = platform.task_resource("bronze_to_silver")
    glue.create_job(Name=job, Role="arn:aws:iam::123456789012:role/edp-glue", GlueVersion="5.0",
                    Command={"Name": "glueetl", "ScriptLocation": "s3://edp-emulator-scripts/bronze_to_silver.py"},
                    WorkerType="G.2X", NumberOfWorkers=2, ExecutionProperty={"MaxConcurrentRuns": 4})
    runs = [glue.start_job_run(JobName=job, NumberOfWorkers=3, Arguments={"--table": t})["JobRunId"]
            for t in ("orders", "customers")]
    returned = {"bronze_to_silver": runs, "check_params": [{"table": "orders"}], "crawl_silver": "edp-crawl"}
    metrics = glue_usage.run_metrics(glue, spec, platform.task_resource, returned)
    assert list(metrics) == ["bronze_to_silver"]
    seen = {m["table"]: m for m in metrics["bronze_to_silver"]}
    assert seen["orders"]["worker_type"] == "G.2X" and seen["orders"]["dpus"] == 6.0  # 3 workers × 2 DPUs
    assert seen["orders"]["dpu_seconds"] == seen["orders"]["seconds"] * 6 > 0
    run_id = "manual__2026-11-25T02:00:00+00:00"
    prefix = _put_dbt_files(emulator.client("s3"), run_id, {"results": []})
    publish.publish_run(emulator.client("s3"), ARTIFACTS, run_id, {**metrics, "dbt_build": {"seconds": 30.0}},
                        spec=spec)
    record = json.loads(emulator.client("s3").get_object(Bucket=ARTIFACTS, Key=f"{prefix}metrics.json")["Body"].read())
    glue_line = record["cost"]["lines"]["glue_job_seconds"]
    assert glue_line["measured"] == sum(m["dpu_seconds"] for m in metrics["bronze_to_silver"])
    assert sorted(record["cost"]["inputs"]["glue_job_seconds"]) == [[m["seconds"], 6.0] for m in seen.values()]
    assert set(record["durations"]) >= {"bronze_to_silver[orders]", "bronze_to_silver[customers]", "dbt_build"}


def test_a_failed_aws_run_is_recorded_in_the_buckets_run_history(foundation, emulator, spec):
    """The aws tasks' failure callback writes the failed run's metrics.json (the failing task, its error, dbt's
    failing tests from the run results the container uploaded) and rebuilds runs/index.html."""
    from datetime import UTC, datetime

    s3, run_id = emulator.client("s3"), "manual__2026-11-24T02:00:00+00:00"
    prefix = _put_dbt_files(s3, run_id, {"results": [
        {"unique_id": "test.edp.unique_orders_order_id.cd34", "status": "fail", "adapter_response": {}}]})
    context = {"ti": SimpleNamespace(task_id="dbt_build", map_index=-1), "run_id": run_id, "params": {},
               "exception": RuntimeError("dbt exited with 1"),
               "dag_run": SimpleNamespace(start_date=datetime(2026, 11, 24, 2, 0, tzinfo=UTC))}
    publish.record_failed_task(context)
    record = json.loads(s3.get_object(Bucket=ARTIFACTS, Key=f"{prefix}metrics.json")["Body"].read())
    assert (record["status"], record["failed_task"], record["target"]) == ("failed", "dbt_build", "aws")
    assert record["error"] == "RuntimeError: dbt exited with 1" and record["started_at"].startswith("2026-11-24T02:00")
    assert record["tests"]["failed"] == ["unique_orders_order_id"]
    history = s3.get_object(Bucket=ARTIFACTS, Key="runs/index.html")["Body"].read().decode()
    assert 'href="manual__2026-11-24T02_00_00_00_00/report.html"' in history and "unique_orders_order_id" in history
    # a later task's failure (here: publishing itself) goes on top of what is recorded, the tests kept
    publish.record_failed_task({**context, "ti": SimpleNamespace(task_id="publish_artifacts"),
                                "exception": RuntimeError("second")})
    again = json.loads(s3.get_object(Bucket=ARTIFACTS, Key=f"{prefix}metrics.json")["Body"].read())
    assert again["failed_task"] == "publish_artifacts" and again["tests"]["failed"] == ["unique_orders_order_id"]


def test_the_pipeline_alerts_on_failure_and_on_a_late_nightly_run(spec):
    from edp.dag_factory import build_dag

    dag = build_dag(spec)
    assert all(t.on_failure_callback == [alerts.task_failed] or t.on_failure_callback == alerts.task_failed
               for t in dag.tasks)
    aws = build_dag(spec, target="aws")  # there the failure is also recorded in the bucket's run history
    assert all(t.on_failure_callback == [alerts.task_failed, publish.record_failed_task] for t in aws.tasks)
    (deadline,) = dag.deadline
    assert deadline.interval.total_seconds() == spec.pipeline.late_after_minutes * 60 == 180 * 60
    assert deadline.callback.path == "edp.alerts.run_late"
    assert deadline.callback.kwargs == {"dag_id": "edp_pipeline", "late_after_minutes": 180}
    assert "target" not in dag.params  # the deployment's setting (EDP_TARGET), not a run's choice


def test_the_emulator_runs_the_dbt_task_as_the_service_would(foundation, emulator):
    """A Fargate task sized at task level starts in a VPC, stops with its container exited 0, and the
    container's stand-in outputs land where the image's entrypoint uploads them; crawls finish as SUCCEEDED."""
    ec2, ecs = emulator.client("ec2"), emulator.client("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="ecs", Description="ecs", VpcId=vpc)["GroupId"]
    cluster = ecs.create_cluster(clusterName="edp")["cluster"]["clusterArn"]
    definition = ecs.register_task_definition(
        family="edp-dbt", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "dbt", "image": "dbt:1", "environment": [
            {"name": publish.BUCKET_ENV, "value": "edp-emulator-artifacts"}]}])["taskDefinition"]["taskDefinitionArn"]
    arn = ecs.run_task(cluster=cluster, taskDefinition=definition, launchType="FARGATE", overrides={
        "containerOverrides": [{"name": "dbt", "command": ["dbt", "build", "--target", "athena"],
                                "environment": [{"name": calls.RUN_ID_ENV, "value": "scheduled__x"}]}]},
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}})["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=[arn], WaiterConfig={"Delay": 1})
    (task,) = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"]
    assert [(c["lastStatus"], c["exitCode"]) for c in task["containers"]] == [("STOPPED", 0)]
    keys = {o["Key"] for o in emulator.client("s3").list_objects_v2(Bucket="edp-emulator-artifacts",
                                                                    Prefix="runs/scheduled__x/dbt/")["Contents"]}
    assert keys == {"runs/scheduled__x/dbt/run_results.json", "runs/scheduled__x/dbt/manifest.json"}

    glue = emulator.client("glue")
    glue.create_crawler(Name="silver", Role="arn:aws:iam::123456789012:role/glue",
                        Targets={"S3Targets": [{"Path": "s3://edp-emulator-silver/"}]})
    glue.start_crawler(Name="silver")
    crawler = glue.get_crawler(Name="silver")["Crawler"]
    assert (crawler["State"], crawler["LastCrawl"]["Status"]) == ("READY", "SUCCEEDED")
    assert glue.get_crawler_metrics(CrawlerNameList=["silver"])["CrawlerMetricsList"][0]["CrawlerName"] == "silver"
