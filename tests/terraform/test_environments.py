"""The environments: every root validates with every environment's values; the `emulator` environment is applied
against the local AWS emulator
through the same code CI and the session DAG use, and the `edp_session` DAG turns modes on and off in it.

Order matters inside this module (one foundation apply serves every test; it is slow): the foundation is
applied once, the session DAG runs up -> scale -> down, then the TTL sweep, then the foundation is destroyed.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time

import pytest

from edp import asl, session
from edp.cli import main as edp
from edp.environments import (
    EMULATOR_REGION,
    ENVIRONMENTS,
    LAYERS,
    emulator_copy,
    published_outputs,
    terraform_dir,
    terraform_root,
)
from edp.terraform import TerraformRunner
from edp_dev.airflow_run import run_dag
from edp_dev.emulator.server import AwsEmulator
from tests.conftest import isolated_home
from tests.terraform.conftest import requires_terraform

pytestmark = requires_terraform  # the tests below carry their tier: most are system (Airflow + Terraform + emulator)
LAKE = ("bronze", "silver", "gold", "artifacts", "athena-results")


@pytest.mark.integration
def test_terraform_tree_is_formatted():
    proc = subprocess.run(["terraform", "fmt", "-recursive", "-check", "-diff", str(terraform_dir())],
                          capture_output=True, text=True)
    assert proc.returncode == 0, f"run `terraform fmt -recursive terraform/`:\n{proc.stdout}"


@pytest.mark.integration
@pytest.mark.parametrize("layer", LAYERS)
def test_every_environment_validates_and_its_values_pass_the_roots_checks(tmp_path, layer):
    """`validate` of each root, then each environment's values file through the root's variable types and
    validations (`terraform console`, on a private copy with a local backend, touches no AWS): a typo in
    dev.tfvars fails here, not in CI's plan."""
    runner = TerraformRunner(terraform_dir() / "stacks" / layer, env={"TF_DATA_DIR": str(tmp_path / ".terraform")},
                             echo=lambda line: None)
    runner.init(backend=False)
    runner.validate()
    copy = TerraformRunner(emulator_copy(terraform_dir() / "stacks" / layer, tmp_path / "copy"),
                           env={"TF_DATA_DIR": str(tmp_path / ".terraform-copy")}, echo=lambda line: None)
    copy.init(backend_config={"path": str(tmp_path / "state.tfstate")})
    for environment in ENVIRONMENTS:
        values = terraform_dir() / "environments" / f"{environment}.tfvars"
        assert values.is_file(), f"environment {environment!r} has no values file"
        if environment != "emulator":
            for name in LAYERS:
                assert (terraform_dir() / "environments" / f"{environment}.{name}.backend.hcl").is_file()
        console = subprocess.run([copy.binary, "console", "-no-color", f"-var-file={values}",
                                  "-var=state_bucket=example-tf-state"], input="var.environment\n",
                                 cwd=copy.working_dir, env=copy.env, capture_output=True, text=True)
        assert console.returncode == 0 and f'"{environment}"' in console.stdout, console.stdout + console.stderr


@pytest.mark.unit
def test_no_provider_block_is_copied_between_roots():
    """Each root configures the AWS provider once; the emulator's settings live in one override file."""
    blocks = sorted(str(p.relative_to(terraform_dir())) for p in terraform_dir().rglob("*.tf")
                    if 'provider "aws" {' in p.read_text() and ".terraform" not in p.parts)
    stacks = [b for b in blocks if b.startswith("stacks/")]
    assert stacks == ["stacks/foundation/providers.tf", "stacks/session/providers.tf"]
    assert [b for b in blocks if b.startswith("environments/")] == ["environments/emulator_override.tf"]
    for example in (b for b in blocks if "/examples/" in b):
        text = (terraform_dir() / example).read_text()
        assert "endpoints" not in text and "emulator" not in text.split('provider "aws" {')[1].split("}")[0], example


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


@pytest.mark.system
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


@pytest.mark.system
def test_glue_job_and_crawlers_exist(platform):
    _, emulator, outputs = platform
    glue = emulator.client("glue")
    job = glue.get_job(JobName=outputs["glue_job_name"])["Job"]
    assert job["DefaultArguments"]["--bronze_path"] == "s3://edp-emulator-bronze"
    assert job["Connections"]["Connections"], "the job runs inside the VPC"
    for layer, name in outputs["crawler_names"].items():
        assert glue.get_crawler(Name=name)["Crawler"]["DatabaseName"] == f"edp_emulator_{layer}"


@pytest.mark.system
def test_state_machine_is_the_generated_asl(platform, spec):
    _, emulator, outputs = platform
    described = emulator.client("stepfunctions").describe_state_machine(stateMachineArn=outputs["state_machine_arn"])
    assert outputs["foundation_parameter"] == "/edp-emulator/foundation"
    published = published_outputs("emulator", "foundation")  # what the workers read: the same names
    assert published["glue_job_name"] == outputs["glue_job_name"] and published["ecs"] == outputs["ecs"]
    values = asl.placeholder_values(published)
    assert set(values) == set(asl.PLACEHOLDERS)
    assert json.loads(described["definition"]) == asl.filled(asl.render_asl(spec), values)


def session_run(paths, conf: dict, name: str, dag_id: str = "edp_session") -> tuple[int, str]:
    log = paths.root / "logs" / f"{name}.log"
    code = run_dag(dag_id, conf, log_file=log)
    return code, log.read_text()


@pytest.mark.system
def test_session_dag_up_scale_down(platform):
    paths, emulator, outputs = platform
    lake_before = bucket_names(emulator)
    code, log = session_run(paths, {"action": "up", "modes": ["ingestion"], "ttl_hours": 4}, "up")
    assert code == 0, log[-6000:]

    seen = session.published("emulator")
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
    assert s3["BucketName"] == "edp-emulator-bronze"
    assert emulator.client("rds").describe_db_instances()["DBInstances"][0]["StorageEncrypted"] is True

    code, log = session_run(paths, {"action": "scale", "modes": [], "glue_workers": 6}, "scale")
    assert code == 0, log[-6000:]
    assert session.published("emulator")["scale"]["glue_workers"] == 6

    code, log = session_run(paths, {"action": "down", "modes": []}, "down")
    assert code == 0, log[-6000:]
    assert session.published("emulator") is None
    assert dms.describe_replication_tasks()["ReplicationTasks"] == []
    assert emulator.client("rds").describe_db_instances()["DBInstances"] == []
    snapshots = emulator.client("rds").describe_db_snapshots()["DBSnapshots"]
    assert snapshots, "the source database leaves a final snapshot"
    assert bucket_names(emulator) == lake_before, "a session must never touch a data bucket"


@pytest.mark.system
def test_sweep_tears_down_an_expired_session_only(platform):
    paths, emulator, _ = platform
    code, log = session_run(paths, {}, "sweep-idle", dag_id="edp_session_sweep")
    assert code == 0 and "terraform apply" not in log  # nothing on: short-circuited

    code, log = session_run(paths, {"action": "up", "modes": ["serving"], "ttl_hours": 0.002}, "up-short")
    assert code == 0, log[-6000:]
    serving = session.published("emulator")["serving"]
    redshift = emulator.client("redshift-serverless")
    assert redshift.get_workgroup(workgroupName=serving["workgroup_name"])["workgroup"]["baseCapacity"] == 8
    time.sleep(8)  # 0.002 h = 7.2 s
    code, log = session_run(paths, {}, "sweep", dag_id="edp_session_sweep")
    assert code == 0, log[-6000:]
    assert session.published("emulator") is None
    assert redshift.list_workgroups()["workgroups"] == [] and redshift.list_namespaces()["namespaces"] == []


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
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(conn))
        env.setenv("EDP_AWS_POLL_SECONDS", "1")
        try:
            yield foundation
        finally:
            stop.set()
            thread.join()


@pytest.mark.system
def test_pipeline_runs_on_the_aws_target(platform, spec):
    """The pipeline DAG with target aws and refresh_source: the session goes up, every task kind calls
    the emulator through the amazon provider, the session goes down; the calls are the ASL's."""
    paths, emulator, _ = platform
    with aws_target(emulator) as foundation:
        emulator.record(True)
        code, log = session_run(paths, {"target": "aws", "refresh_source": True}, "pipeline-aws", "edp_pipeline")
        emulator.record(False)
    assert code == 0, log[-8000:]
    calls = emulator.recorded_calls(user_agent="Botocore")  # the tasks' calls, not the session's Terraform
    ops = [(prefix.split("_")[0], op) for prefix, op, _ in calls]
    runs = [c for _, op, c in calls if op == "StartJobRun"]
    assert sorted(r["Arguments"]["--table"] for r in runs) == sorted(spec.table_names)
    for r in runs:
        assert r["JobName"] == foundation["glue_job_name"]
        assert r["Arguments"]["--primary_key"] == ",".join(spec.source(r["Arguments"]["--table"]).primary_key)
    assert [c["Name"] for _, op, c in calls if op == "StartCrawler"] == [foundation["crawler_names"]["silver"]]
    (ecs_run,) = [c for _, op, c in calls if op == "RunTask"]
    override = ecs_run["overrides"]["containerOverrides"][0]
    assert override["command"] == ["dbt", "build", "--target", "athena"]
    assert ecs_run["taskDefinition"] == foundation["ecs"]["task_definition_arn"]
    assert ("AmazonDMSv20160101", "StartReplicationTask") in ops
    # published: the container's dbt files and the run's metrics and report
    s3 = emulator.client("s3")
    bucket = foundation["bucket_names"]["artifacts"]
    prefix = s3.get_object(Bucket=bucket, Key="runs/latest")["Body"].read().decode().strip()
    keys = {o["Key"][len(prefix):] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]}
    assert {"report.html", "metrics.json", "dbt/run_results.json", "dbt/manifest.json"} <= keys
    metrics = json.loads(s3.get_object(Bucket=bucket, Key=f"{prefix}metrics.json")["Body"].read())
    assert metrics["layers"]["gold"] == {"fct_orders": 120, "dim_customers": 40}
    assert session.published("emulator") is None, "the run's teardown turned ingestion off"
    assert emulator.client("dms").describe_replication_tasks()["ReplicationTasks"] == []
    assert_same_calls_as_asl(spec, foundation, calls, run_id=metrics["run_id"])


@pytest.mark.system
def test_a_failed_task_alerts_the_alarm_topic(platform):
    paths, emulator, _ = platform
    sqs, sns = emulator.client("sqs"), emulator.client("sns")
    queue = sqs.create_queue(QueueName="edp-alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    with aws_target(emulator) as foundation:
        sns.subscribe(TopicArn=foundation["alarm_topic_arn"], Protocol="sqs", Endpoint=queue_arn)
        # no ingestion session is on and the run does not turn one on: cdc_ingest cannot start
        code, log = session_run(paths, {"target": "aws", "refresh_source": False}, "pipeline-aws-fail", "edp_pipeline")
    assert code != 0
    assert "no ingestion session is on" in log
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
    bodies = [json.loads(m["Body"]) for m in messages]
    alerts = [json.loads(b["Message"]) for b in bodies if "cdc_ingest failed" in b.get("Subject", "")]
    assert alerts and alerts[0]["task_id"] == "cdc_ingest" and "no ingestion session" in alerts[0]["error"]


# -- the ASL compared with what the Airflow aws target asked AWS for ------------------------------------
SERVICES = {"AWSGlue": "glue", "AmazonEC2ContainerServiceV20141113": "ecs", "AmazonDMSv20160101": "databasemigration",
            "AmazonSSM": "ssm", "GraniteServiceVersion20100801": "cloudwatch"}


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
        elif state.get("Type") == "Task":
            service, action = state["Resource"].removeprefix("arn:aws:states:::").removeprefix("aws-sdk:").split(":")
            yield name, service, action.removesuffix(".sync"), state.get("Parameters", {})


def assert_same_calls_as_asl(spec, foundation, calls, run_id):
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
               ("glue", "GetJob"), ("glue", "GetJobs")}
    extra = {(s, op) for s, op, _ in made} - wanted - pollers
    assert not extra, f"the Airflow aws target made calls no ASL state makes: {sorted(extra)}"
