"""The containers module against the local AWS emulator: the dbt task definition Step Functions and
Airflow start, running as the given task role, from an encrypted immutable repository."""

from __future__ import annotations

import pytest

from tests.terraform.conftest import applied_example, requires_terraform

pytestmark = [requires_terraform, pytest.mark.integration]


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    def nothing_left(emulator):
        assert emulator.client("ecs").list_task_definitions(familyPrefix="edp-example-dbt", status="ACTIVE")[
            "taskDefinitionArns"] == []
        assert emulator.client("ecr").describe_repositories()["repositories"] == []

    with applied_example(tmp_path_factory.mktemp("tf"), "containers", after_destroy=nothing_left) as applied:
        yield applied


def test_dbt_task_runs_the_repository_image_as_the_task_role(applied):
    emulator, outputs = applied
    definition = emulator.client("ecs").describe_task_definition(taskDefinition=outputs["task_definition_arn"])[
        "taskDefinition"]
    (container,) = definition["containerDefinitions"]
    assert container["name"] == outputs["container_name"] == "dbt"
    assert container["image"] == outputs["repository_url"] + ":1.0.0"
    assert container["command"] == ["dbt", "build", "--target", "athena"]
    assert container["user"] == "1000"
    assert container["readonlyRootFilesystem"] is True
    assert container["mountPoints"] == [{"sourceVolume": "scratch", "containerPath": "/tmp", "readOnly": False}]
    assert [v["name"] for v in definition["volumes"]] == ["scratch"]
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["DBT_TARGET_PATH"].startswith("/tmp/") and env["DBT_LOG_PATH"].startswith("/tmp/")
    assert definition["taskRoleArn"].endswith(":role/edp-example-ecs-task")
    assert definition["requiresCompatibilities"] == ["FARGATE"] and definition["networkMode"] == "awsvpc"
    assert set(outputs["role_arns"]) == {definition["taskRoleArn"], definition["executionRoleArn"]}


def test_repository_is_immutable_scanned_and_kms_encrypted(applied):
    emulator, _ = applied
    (repo,) = emulator.client("ecr").describe_repositories(repositoryNames=["edp-example-dbt"])["repositories"]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"]["scanOnPush"] is True
    assert repo["encryptionConfiguration"]["encryptionType"] == "KMS"


def test_execution_role_pulls_only_its_repository(applied):
    emulator, _ = applied
    policy = emulator.client("iam").get_role_policy(RoleName="edp-example-dbt-execution", PolicyName="pull-and-log")[
        "PolicyDocument"]
    pull = next(s for s in policy["Statement"] if s["Sid"] == "PullImage")
    assert pull["Resource"].endswith(":repository/edp-example-dbt")
