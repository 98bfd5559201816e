"""The step_functions module applied against the local AWS emulator: the deployed definition is the
generated ASL, the schedule sends the generated input, and the role names only the pipeline's resources."""

from __future__ import annotations

import json
import re

import pytest

from edp import asl
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
    expected = asl.dumps(asl.render_asl(spec))
    values = example_values()
    assert set(values) == set(asl.PLACEHOLDERS)
    for name, value in values.items():
        expected = expected.replace("${" + name + "}", value)
    assert json.loads(described["definition"]) == json.loads(expected)
    assert described["loggingConfiguration"]["level"] == "ERROR"


def test_nightly_schedule_sends_the_generated_input(deployed, spec):
    emulator, outputs = deployed
    events = emulator.client("events")
    rule = events.describe_rule(Name=outputs["schedule_rule_name"])
    assert rule["ScheduleExpression"] == "cron(0 2 * * ? *)" and rule["State"] == "ENABLED"
    (target,) = events.list_targets_by_rule(Rule=outputs["schedule_rule_name"])["Targets"]
    assert target["Arn"] == outputs["state_machine_arn"]
    assert json.loads(target["Input"]) == asl.default_input(spec)


def test_role_names_only_the_pipeline_resources(deployed):
    emulator, outputs = deployed
    iam = emulator.client("iam")
    policy = iam.get_role_policy(RoleName="edp-example-pipeline-sfn", PolicyName="pipeline")["PolicyDocument"]
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["GlueJob"]["Resource"].endswith(":job/edp-example-bronze-to-silver")
    assert statements["GlueCrawler"]["Resource"].endswith(":crawler/edp-example-silver")
    assert statements["SessionOutputs"]["Resource"].endswith(":parameter/edp-example/session")
    assert statements["DmsTask"]["Condition"] == {"StringEquals": {"aws:ResourceTag/edp:platform": "edp-example"}}
    assert "*" not in json.dumps([statements[s]["Action"] for s in ("GlueJob", "GlueCrawler", "DmsTask", "SessionOutputs")])


def test_missing_placeholder_value_is_refused(tmp_path):
    tf = local_example(tmp_path, "step_functions")
    main = tf.working_dir / "main.tf"
    main.write_text(re.sub(r'\n\s*dbt_container_name\s*=\s*"dbt"', "", main.read_text()))
    from edp.terraform import TerraformError

    with AwsEmulator() as emulator, pytest.raises(TerraformError, match="must give every placeholder"):
        on_emulator(tf, emulator.endpoint).plan("tfplan")
