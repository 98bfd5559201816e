"""The iam_metadata module against the local AWS emulator: a rotating platform key, one catalog database
per layer, and one role per service whose policy reaches only what that service touches."""

from __future__ import annotations

import json

import pytest

from tests.terraform.conftest import applied_example, requires_terraform

pytestmark = [requires_terraform, pytest.mark.integration]


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    def nothing_left(emulator):
        assert emulator.client("glue").get_databases()["DatabaseList"] == []
        assert emulator.client("iam").list_roles()["Roles"] == []

    with applied_example(tmp_path_factory.mktemp("tf"), "iam_metadata", after_destroy=nothing_left) as applied:
        yield applied


def policy_of(emulator, role: str) -> dict:
    doc = emulator.client("iam").get_role_policy(RoleName=f"edp-example-{role}", PolicyName="least-privilege")
    return {s["Sid"]: s for s in doc["PolicyDocument"]["Statement"]}


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_key_rotates_and_catalog_has_a_database_per_layer(applied):
    emulator, outputs = applied
    key = outputs["kms_key_arn"]
    assert emulator.client("kms").get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is True
    names = {d["Name"] for d in emulator.client("glue").get_databases()["DatabaseList"]}
    assert names == {"edp_example_bronze", "edp_example_silver", "edp_example_gold"} == set(outputs["glue_database_names"].values())


def test_one_role_per_service_trusting_only_that_service(applied):
    emulator, outputs = applied
    iam = emulator.client("iam")
    expected = {"glue": "glue.amazonaws.com", "dms": "dms.amazonaws.com", "ecs_task": "ecs-tasks.amazonaws.com",
                "mwaa": "airflow.amazonaws.com"}
    assert set(outputs["role_arns"]) == set(expected)
    for service, principal in expected.items():
        trust = iam.get_role(RoleName=f"edp-example-{service.replace('_', '-')}")["Role"]["AssumeRolePolicyDocument"]
        trust = trust if isinstance(trust, dict) else json.loads(trust)
        principals = as_list(trust["Statement"][0]["Principal"]["Service"])
        assert principal in principals, service


def test_each_service_reaches_only_its_own_buckets(applied):
    emulator, _ = applied
    dms = policy_of(emulator, "dms")
    assert {r.split(":::")[1].split("/")[0] for r in as_list(dms["WriteBronze"]["Resource"])} == {"edp-example-bronze"}
    glue = policy_of(emulator, "glue")
    assert {r.split(":::")[1].split("/")[0] for r in as_list(glue["WriteSilver"]["Resource"])} == {"edp-example-silver"}
    assert not any("s3:Put" in a for a in as_list(glue["ReadBronzeAndScripts"]["Action"]))
    for role in ("glue", "dms", "ecs-task", "mwaa", "session-runner"):
        for sid, statement in policy_of(emulator, role).items():
            actions = as_list(statement["Action"])
            assert not any(a.endswith(":*") or a == "*" for a in actions), f"{role}.{sid} grants a wildcard action"
            # a Deny on "*" narrows; only an Allow on "*" needs a condition
            if statement.get("Effect", "Allow") == "Allow" and as_list(statement["Resource"]) == ["*"]:
                assert "Condition" in statement, f"{role}.{sid} has an unconditioned '*' resource"


def test_session_runner_is_assumed_only_by_the_mwaa_role(applied):
    emulator, outputs = applied
    iam = emulator.client("iam")
    role = iam.get_role(RoleName="edp-example-session-runner")["Role"]
    assert role["Arn"] == outputs["session_runner_role_arn"]
    trust = role["AssumeRolePolicyDocument"]
    trust = trust if isinstance(trust, dict) else json.loads(trust)
    (statement,) = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRole" and statement["Effect"] == "Allow"
    assert as_list(statement["Principal"]["AWS"]) == [outputs["role_arns"]["mwaa"]]
    assume = policy_of(emulator, "mwaa")["AssumeSessionRunner"]
    assert as_list(assume["Resource"]) == [outputs["session_runner_role_arn"]]


def test_session_runner_reaches_only_the_session(applied):
    emulator, outputs = applied
    runner = policy_of(emulator, "session-runner")
    allowed = [a for s in runner.values() if s["Effect"] == "Allow" for a in as_list(s["Action"])]
    assert not any("*" in a for a in allowed), "every action is spelled out"
    reads = {sid: s for sid, s in runner.items() if s["Effect"] == "Allow"
             and "secretsmanager:GetSecretValue" in as_list(s["Action"])}
    assert set(reads) == {"ReadOwnDatabaseMasterSecret", "SessionSecretsManageTagged"}, "passwords it may read"
    assert reads["ReadOwnDatabaseMasterSecret"]["Condition"] == {"StringLike": {
        "secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn": "arn:aws:rds:eu-central-1:123456789012:db:edp-example-*"}}
    assert not any(a.startswith(("s3:", "glue:")) and a != "s3:ListBucket" and "Object" not in a for a in allowed)
    state = runner["StateReadWrite"]
    assert as_list(state["Resource"]) == ["arn:aws:s3:::edp-example-tfstate/session/*"]
    assert as_list(runner["StateReadOthers"]["Resource"]) == ["arn:aws:s3:::edp-example-tfstate/foundation/terraform.tfstate"]
    assert runner["StateReadOthers"]["Action"] == "s3:GetObject"
    assert all(r.startswith("arn:aws:rds:eu-central-1:") and (":edp-example-" in r or ":og:default:" in r)
               for r in as_list(runner["RdsSessionDatabase"]["Resource"]))
    for sid in ("DmsCreateTagged", "RedshiftServerlessCreateTagged", "SessionSecretsCreateTagged"):
        assert runner[sid]["Condition"]["StringEquals"] == {"aws:RequestTag/edp:layer": "session",
                                                           "aws:RequestTag/edp:platform": "edp-example"}, sid
    for sid in ("DmsManageTagged", "RedshiftServerlessManageTagged", "SessionRolesManage", "SessionSecretsManageTagged"):
        assert runner[sid]["Condition"]["StringEquals"] == {"aws:ResourceTag/edp:layer": "session",
                                                           "aws:ResourceTag/edp:platform": "edp-example"}, sid
    passes = [s for s in runner.values() if "iam:PassRole" in as_list(s["Action"])]
    assert {r for s in passes for r in as_list(s["Resource"])} == {outputs["role_arns"]["dms"],
                                                                   "arn:aws:iam::123456789012:role/edp-example-*"}
    assert all("iam:PassedToService" in s["Condition"]["StringEquals"] for s in passes)
    created = runner["SessionRolesCreate"]
    assert created["Condition"]["StringEquals"]["iam:PermissionsBoundary"] == outputs["session_boundary_arn"]


def test_session_runner_may_never_lose_data(applied):
    emulator, _ = applied
    runner = policy_of(emulator, "session-runner")
    deny = runner["DenyDataLoss"]
    assert deny["Effect"] == "Deny" and as_list(deny["Resource"]) == ["*"] and "Condition" not in deny
    assert {"s3:DeleteBucket", "glue:DeleteDatabase", "glue:DeleteTable", "kms:ScheduleKeyDeletion",
            "rds:DeleteDBSnapshot"} <= set(as_list(deny["Action"]))
    databases = runner["DenyDeletingNonSessionDatabases"]
    assert databases["Effect"] == "Deny" and "rds:DeleteDBInstance" in as_list(databases["Action"])
    assert databases["Condition"] == {"StringNotEquals": {"aws:ResourceTag/edp:layer": "session"}}
    assert runner["DenyWideningRoles"]["Effect"] == "Deny"
    assert "iam:DeleteRolePermissionsBoundary" in as_list(runner["DenyWideningRoles"]["Action"])
