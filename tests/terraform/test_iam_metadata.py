"""The iam_metadata module against the local AWS emulator: a rotating platform key, one catalog database
per layer, and one role per service whose policy reaches only what that service touches."""

from __future__ import annotations

import json

import pytest

from tests.terraform.conftest import applied_example, requires_terraform

pytestmark = requires_terraform


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    def nothing_left(emulator):
        assert emulator.client("glue").get_databases()["DatabaseList"] == []

    with applied_example(tmp_path_factory.mktemp("tf"), "iam_metadata", after_destroy=nothing_left) as applied:
        yield applied


def policy_of(emulator, role: str) -> dict:
    doc = emulator.client("iam").get_role_policy(RoleName=f"edp-local-{role}", PolicyName="least-privilege")
    return {s["Sid"]: s for s in doc["PolicyDocument"]["Statement"]}


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_key_rotates_and_catalog_has_a_database_per_layer(applied):
    emulator, outputs = applied
    key = outputs["kms_key_arn"]
    assert emulator.client("kms").get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is True
    names = {d["Name"] for d in emulator.client("glue").get_databases()["DatabaseList"]}
    assert names == {"edp_local_bronze", "edp_local_silver", "edp_local_gold"} == set(outputs["glue_database_names"].values())


def test_one_role_per_service_trusting_only_that_service(applied):
    emulator, outputs = applied
    iam = emulator.client("iam")
    expected = {"glue": "glue.amazonaws.com", "dms": "dms.amazonaws.com", "ecs_task": "ecs-tasks.amazonaws.com",
                "mwaa": "airflow.amazonaws.com"}
    assert set(outputs["role_arns"]) == set(expected)
    for service, principal in expected.items():
        trust = iam.get_role(RoleName=f"edp-local-{service.replace('_', '-')}")["Role"]["AssumeRolePolicyDocument"]
        trust = trust if isinstance(trust, dict) else json.loads(trust)
        principals = as_list(trust["Statement"][0]["Principal"]["Service"])
        assert principal in principals, service


def test_each_service_reaches_only_its_own_buckets(applied):
    emulator, _ = applied
    dms = policy_of(emulator, "dms")
    assert {r.split(":::")[1].split("/")[0] for r in as_list(dms["WriteBronze"]["Resource"])} == {"edp-local-bronze"}
    glue = policy_of(emulator, "glue")
    assert {r.split(":::")[1].split("/")[0] for r in as_list(glue["WriteSilver"]["Resource"])} == {"edp-local-silver"}
    assert not any("s3:Put" in a for a in as_list(glue["ReadBronzeAndScripts"]["Action"]))
    for role in ("glue", "dms", "ecs-task", "mwaa"):
        for sid, statement in policy_of(emulator, role).items():
            actions = as_list(statement["Action"])
            assert not any(a.endswith(":*") or a == "*" for a in actions), f"{role}.{sid} grants a wildcard action"
            if as_list(statement["Resource"]) == ["*"]:
                assert "Condition" in statement, f"{role}.{sid} has an unconditioned '*' resource"
