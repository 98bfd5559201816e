"""The emulator environment's foundation as applied (the lake, the Glue jobs and crawlers of the task list, the
state machine), then the pipeline DAG on the aws target against it: every task kind's calls, the same calls
as the Step Functions definition, and a failing task's alert. One foundation serves both halves: applying
it is the slow part."""

from __future__ import annotations

import json

import pytest

from edp import asl, session
from edp.environments import published_outputs
from edp.runtime import run_folder
from tests.environments.conftest import LAKE, aws_target, bucket_names, session_run

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


def test_pipeline_runs_on_the_aws_target(platform, spec):
    """The pipeline DAG with target aws and refresh_source: the session goes up, every task kind calls
    the emulator through the amazon provider, the session goes down; the calls are the ASL's."""
    paths, emulator, _ = platform
    with aws_target(emulator) as foundation:
        emulator.record(True)
        code, log = session_run(paths, {"refresh_source": True}, "pipeline-aws", "edp_pipeline", target="aws")
        emulator.record(False)
    assert code == 0, log[-8000:]
    calls = emulator.recorded_calls(user_agent="Botocore")  # the tasks' calls, not the session's Terraform
    ops = [(prefix.split("_")[0], op) for prefix, op, _ in calls]
    runs = [c for _, op, c in calls if op == "StartJobRun"]
    assert sorted(r["Arguments"]["--table"] for r in runs) == sorted(spec.table_names)
    for r in runs:
        assert r["JobName"] == foundation["glue_jobs"]["bronze_to_silver"]
        assert r["Arguments"]["--primary_key"] == ",".join(spec.source(r["Arguments"]["--table"]).primary_key)
    assert [c["Name"] for _, op, c in calls if op == "StartCrawler"] == [foundation["crawlers"]["crawl_silver"]]
    assert [op for _, op, _ in calls if op == "StartQueryExecution"], "the quality gate asked Athena"
    assert not [op for _, op, _ in calls if op == "BatchExecuteStatement"], "serving off: the load is skipped"
    ecs_runs = [c for _, op, c in calls if op == "RunTask"]
    assert [r["overrides"]["containerOverrides"][0]["command"] for r in ecs_runs] == [
        ["dbt", "source", "freshness", "--target", "athena"], ["dbt", "build", "--target", "athena"]]
    assert {r["taskDefinition"] for r in ecs_runs} == {foundation["ecs"]["task_definition_arn"]}
    assert ("AmazonDMSv20160101", "StartReplicationTask") in ops
    # published: the container's dbt files and the run's metrics and report
    s3 = emulator.client("s3")
    bucket = foundation["bucket_names"]["artifacts"]
    prefix = s3.get_object(Bucket=bucket, Key="runs/latest")["Body"].read().decode().strip()
    keys = {o["Key"][len(prefix):] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]}
    assert {"report.html", "metrics.json", "dbt/run_results.json", "dbt/manifest.json"} <= keys
    metrics = json.loads(s3.get_object(Bucket=bucket, Key=f"{prefix}metrics.json")["Body"].read())
    assert metrics["layers"]["gold"] == {"fct_orders": 120, "dim_customers": 40}
    # the cost prices the Glue job runs as GetJobRun describes them (the job's worker type × the run's workers)
    glue_runs = metrics["tasks"]["bronze_to_silver"]
    assert sorted(r["table"] for r in glue_runs) == sorted(spec.table_names)
    assert all(r["seconds"] > 0 and r["dpus"] > 0 and r["dpu_seconds"] == r["seconds"] * r["dpus"] for r in glue_runs)
    glue_line = metrics["cost"]["lines"]["glue_job_seconds"]
    assert glue_line["uses"] == len(glue_runs) and glue_line["measured"] == pytest.approx(
        sum(r["dpu_seconds"] for r in glue_runs), abs=0.01)
    assert session.published("emulator") is None, "the run's teardown turned ingestion off"
    assert emulator.client("dms").describe_replication_tasks()["ReplicationTasks"] == []
    assert_same_calls_as_asl(spec, foundation, calls, run_id=metrics["run_id"], skipped={"serving_load"})


def test_a_failed_task_alerts_the_alarm_topic(platform):
    paths, emulator, _ = platform
    sqs, sns = emulator.client("sqs"), emulator.client("sns")
    queue = sqs.create_queue(QueueName="edp-alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    with aws_target(emulator) as foundation:
        sns.subscribe(TopicArn=foundation["alarm_topic_arn"], Protocol="sqs", Endpoint=queue_arn)
        # no ingestion session is on and the run does not turn one on: cdc_ingest cannot start
        code, log = session_run(paths, {"refresh_source": False}, "pipeline-aws-fail", "edp_pipeline",
                                target="aws")
    assert code != 0
    assert "no ingestion session is on" in log
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
    bodies = [json.loads(m["Body"]) for m in messages]
    alerts = [json.loads(b["Message"]) for b in bodies if "cdc_ingest failed" in b.get("Subject", "")]
    assert alerts and alerts[0]["task_id"] == "cdc_ingest" and "no ingestion session" in alerts[0]["error"]
    # and the failed run is in the artifacts bucket's run history, as the local target records one
    s3, bucket = emulator.client("s3"), foundation["bucket_names"]["artifacts"]
    records = [json.loads(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
               for o in s3.list_objects_v2(Bucket=bucket, Prefix="runs/").get("Contents", [])
               if o["Key"].endswith("/metrics.json")]
    failed = [r for r in records if r.get("failed_task") == "cdc_ingest"]
    assert failed and failed[0]["status"] == "failed" and "no ingestion session" in failed[0]["error"]
    history = s3.get_object(Bucket=bucket, Key="runs/index.html")["Body"].read().decode()
    assert f'href="{run_folder(failed[0]["run_id"])}/report.html"' in history and "cdc_ingest" in history


# -- the ASL compared with what the Airflow aws target asked AWS for ------------------------------------
SERVICES = {"AWSGlue": "glue", "AmazonEC2ContainerServiceV20141113": "ecs", "AmazonDMSv20160101": "databasemigration",
            "AmazonSSM": "ssm", "GraniteServiceVersion20100801": "cloudwatch", "AmazonAthena": "athena",
            "RedshiftData": "redshiftdata"}


def _lower_first(value):
    """ASL's optimised integrations spell ECS parameters in PascalCase; the API (and botocore) in camelCase."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: _lower_first(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_first(v) for v in value]
    return value


def _static(params: dict) -> dict:
    """The arguments an ASL state fixes (paths `.$` are run-time values, compared by name only)."""
    out = {}
    for key, value in params.items():
        if key.endswith(".$"):
            out[key[:-2]] = ...
        elif isinstance(value, dict):
            out[key] = _static(value)
        elif isinstance(value, list):
            out[key] = [_static(v) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out


def _matches(expected, actual) -> bool:
    if expected is ...:
        return actual is not None
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(_matches(v, actual.get(k)) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(map(_matches, expected, actual))
    return expected == actual


def _asl_calls(states: dict):
    for name, state in states.items():
        if state.get("Type") == "Map":
            yield from _asl_calls(state["ItemProcessor"]["States"])
        elif state.get("Type") == "Parallel":
            for branch in state["Branches"]:
                yield from _asl_calls(branch["States"])
        elif state.get("Type") == "Task":
            service, action = state["Resource"].removeprefix("arn:aws:states:::").removeprefix("aws-sdk:").split(":")
            yield name, service, action.removesuffix(".sync"), state.get("Parameters", {})


def assert_same_calls_as_asl(spec, foundation, calls, run_id, skipped=frozenset()):
    """Task by task: every AWS call a state makes was made by the Airflow task with the same arguments,
    and every starting/reading call the Airflow tasks made is one a state makes."""
    definition = asl.filled(asl.render_asl(spec), asl.placeholder_values(foundation))
    made = [(SERVICES[p.split("_")[0]], op, params) for p, op, params in calls if p.split("_")[0] in SERVICES]
    made = [c for c in made if not (c[1] == "GetParameter" and c[2]["Name"] == "/edp-emulator/foundation")]
    made = [c for c in made if c[1] != "PutMetricData"]  # this test's DMS stand-in reporting latency
    wanted = set()
    alternatives: dict[tuple, list] = {}  # states of one task making the same call on different branches
    for name, service, action, params in _asl_calls(definition["States"]):
        operation = action[:1].upper() + action[1:]
        if asl.task_of(name) in skipped:  # the run skipped the task (Step Functions' Choice skips it alike)
            continue
        wanted.add((service, operation))
        if asl.task_of(name) == "publish_artifacts":
            # Step Functions runs the publishing in the dbt image; Airflow runs the same function on its worker
            command = params["Overrides"]["ContainerOverrides"][0]["Command.$"]
            assert "'edp', 'artifacts', 'publish', '--run-id'" in command
            continue
        expected = _static(_lower_first(params) if service == "ecs" else params)
        alternatives.setdefault((asl.task_of(name), service, operation), []).append((name, expected))
    for (task, service, operation), states in alternatives.items():
        assert any(s == service and op == operation and _matches(expected, p)
                   for _, expected in states for s, op, p in made), \
            f"task {task!r}: no Airflow call matches ASL state(s) {states} ({service}:{operation})"
    # the run's session setup/teardown is not pipeline work (Step Functions runs with a session already on)
    session = {("databasemigration", "StopReplicationTask")}
    pollers = session | {("glue", "GetJobRun"), ("glue", "GetCrawler"), ("glue", "GetCrawlerMetrics"), ("ecs", "DescribeTasks"),
               ("glue", "GetJob"), ("glue", "GetJobs"), ("athena", "GetQueryExecution")}
    extra = {(s, op) for s, op, _ in made} - wanted - pollers
    assert not extra, f"the Airflow aws target made calls no ASL state makes: {sorted(extra)}"
