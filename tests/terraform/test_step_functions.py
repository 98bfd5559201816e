"""The step_functions module applied against the local AWS emulator: the deployed definition is the
generated ASL, the schedule is the task list's and sends the generated input, and the role names only the
resources of the task list's tasks (from the rendered resources file, as the foundation passes them)."""

from __future__ import annotations

import json
import re

import pytest

from edp import asl
from edp.kinds.base import resource_name
from edp.settings import REPO_ROOT
from edp_dev.emulator.server import AwsEmulator
from tests.terraform.conftest import applied_example, local_example, on_emulator, requires_terraform

MODULE = REPO_ROOT / "terraform" / "modules" / "step_functions"
pytestmark = [requires_terraform, pytest.mark.integration]


def example_values() -> dict[str, str]:
    text = (MODULE / "examples" / "complete" / "main.tf").read_text()
    block = text.split("definition_variables = {", 1)[1].split("}", 1)[0]
    return dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', block))


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    def nothing_left(emulator):
        assert emulator.client("stepfunctions").list_state_machines()["stateMachines"] == []

    with applied_example(tmp_path_factory.mktemp("tf"), "step_functions", after_destroy=nothing_left) as applied:
        yield applied


def test_deployed_definition_is_the_generated_asl(deployed, spec):
    emulator, outputs = deployed
    described = emulator.client("stepfunctions").describe_state_machine(stateMachineArn=outputs["state_machine_arn"])
    values = example_values()
    assert set(values) == set(asl.PLACEHOLDERS)
    expected = asl.filled(asl.render_asl(spec), values)
    assert "${" not in json.dumps(expected), "every placeholder is filled"
    assert json.loads(described["definition"]) == expected
    assert described["loggingConfiguration"]["level"] == "ERROR"
    # the tasks' own resources, as the definition calls them: <name_prefix>-<task id>
    text = described["definition"]
    for task in (*asl.resources(spec)["glue_jobs"], *asl.resources(spec)["crawlers"]):
        assert f'"{resource_name(values["name_prefix"], task)}"' in text, task


def test_schedule_is_the_task_lists_and_sends_the_generated_input(deployed, spec):
    emulator, outputs = deployed
    events = emulator.client("events")
    rule = events.describe_rule(Name=outputs["schedule_rule_name"])
    assert rule["ScheduleExpression"] == asl.resources(spec)["schedule"] == "cron(0 2 * * ? *)"
    assert rule["State"] == "ENABLED"
    (target,) = events.list_targets_by_rule(Rule=outputs["schedule_rule_name"])["Targets"]
    assert target["Arn"] == outputs["state_machine_arn"]
    assert json.loads(target["Input"]) == asl.default_input(spec)


def test_role_names_only_the_task_lists_resources(deployed, spec):
    emulator, _ = deployed
    iam = emulator.client("iam")
    policy = iam.get_role_policy(RoleName="edp-example-pipeline-sfn", PolicyName="pipeline")["PolicyDocument"]
    statements = {s["Sid"]: s for s in policy["Statement"]}
    resources = asl.resources(spec)

    def named(sid: str) -> set[str]:
        value = statements[sid]["Resource"]
        return {value} if isinstance(value, str) else set(value)

    glue = "arn:aws:glue:eu-central-1:123456789012"
    assert named("GlueJob") == {f"{glue}:job/{resource_name('edp-example', t)}" for t in resources["glue_jobs"]}
    assert named("GlueCrawler") == {f"{glue}:crawler/{resource_name('edp-example', t)}" for t in resources["crawlers"]}
    assert named("SessionOutputs") == {"arn:aws:ssm:eu-central-1:123456789012:parameter/edp-example/session"}
    assert statements["DmsTask"]["Condition"] == {"StringEquals": {"aws:ResourceTag/edp:platform": "edp-example"}}
    # the quality gate: the definition's workgroup and catalog databases, the results bucket
    assert named("AthenaQuery") == {"arn:aws:athena:eu-central-1:123456789012:workgroup/edp-example"}
    assert f"{glue}:table/edp_example_gold/*" in named("AthenaCatalogRead")
    assert named("AthenaResults") == {"arn:aws:s3:::edp-example-athena-results", "arn:aws:s3:::edp-example-athena-results/*"}
    # the serving load and dbt
    assert "redshift-data:BatchExecuteStatement" in statements["ServingLoad"]["Action"]
    assert named("EcsRunTask") == {"arn:aws:ecs:eu-central-1:123456789012:task-definition/edp-example-dbt:*"}
    scoped = ("GlueJob", "GlueCrawler", "DmsTask", "SessionOutputs", "AthenaQuery", "AthenaCatalogRead", "AthenaResults",
              "ServingLoad", "EcsRunTask")
    assert "*" not in json.dumps([statements[s]["Action"] for s in scoped])
    assert not any(named(s) & {"*"} for s in scoped)


def test_role_grants_only_the_services_the_kinds_call(tmp_path):
    """A task list of one Glue job and no schedule: no crawler, DMS, Athena, Redshift or ECS grant, and no
    schedule rule (the plan alone shows it; the example's resources file is replaced in a private copy)."""
    tf = local_example(tmp_path, "step_functions")
    (tf.working_dir / ".." / ".." / "resources.json").write_text(json.dumps({
        "pipeline": "p", "schedule": None, "glue_jobs": {"load": {"name_suffix": "load", "script": "load.py",
                                                                  "workers": 2, "mapped": False}},
        "crawlers": {}, "dms": {}, "kinds": ["glue_job"]}))
    with AwsEmulator() as emulator:
        assert on_emulator(tf, emulator.endpoint).plan("tfplan")
        plan = tf.show_plan("tfplan")
    sids = {s["sid"]: s for s in policy_statements(plan, "module.step_functions.data.aws_iam_policy_document.pipeline")}
    assert set(sids) == {"GlueJob", "SessionOutputs", "Logs"}
    assert sids["GlueJob"]["resources"] == ["arn:aws:glue:eu-central-1:123456789012:job/edp-example-load"]
    assert not [c for c in plan["resource_changes"] if c["type"] == "aws_cloudwatch_event_rule"]


def policy_statements(plan: dict, address: str) -> list[dict]:
    """The statements of an aws_iam_policy_document in a saved plan: read during the plan (prior state) or,
    where some input is known only after apply, the known part of its deferred read."""
    for change in plan.get("resource_changes", []):
        if change["address"] == address:
            return change["change"]["after"]["statement"]
    modules = [plan.get("prior_state", {}).get("values", {}).get("root_module", {})]
    while modules:
        module = modules.pop()
        for resource in module.get("resources", []):
            if resource["address"] == address:
                return resource["values"]["statement"]
        modules += module.get("child_modules", [])
    raise AssertionError(f"{address} is not in the plan")


def test_missing_placeholder_value_is_refused(tmp_path):
    tf = local_example(tmp_path, "step_functions")
    main = tf.working_dir / "main.tf"
    main.write_text(re.sub(r'\n\s*dbt_container_name\s*=\s*"dbt"', "", main.read_text()))
    from edp.terraform import TerraformError

    with AwsEmulator() as emulator, pytest.raises(TerraformError, match="must give every placeholder"):
        on_emulator(tf, emulator.endpoint).plan("tfplan")
