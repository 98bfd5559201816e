"""The ci_access module against the local AWS emulator: GitHub Actions reaches an environment through OIDC
roles only, a pull request can only plan, and the deploy role's IAM reach ends at the environment's names."""

from __future__ import annotations

import json

import pytest

from edp.terraform import TerraformError
from edp_dev.emulator.server import AwsEmulator
from tests.terraform.conftest import applied_example, local_example, on_emulator, requires_terraform

pytestmark = [requires_terraform, pytest.mark.integration]


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    def nothing_left(emulator):
        iam = emulator.client("iam")
        assert iam.list_roles()["Roles"] == [] and iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []

    with applied_example(tmp_path_factory.mktemp("tf"), "ci_access", after_destroy=nothing_left) as applied:
        yield applied


def trust_of(emulator, role: str) -> dict:
    doc = emulator.client("iam").get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    return doc if isinstance(doc, dict) else json.loads(doc)


def test_roles_trust_only_the_repository_subjects_through_github_oidc(applied):
    emulator, outputs = applied
    provider = outputs["oidc_provider_arn"]
    assert provider.endswith(":oidc-provider/token.actions.githubusercontent.com")
    described = emulator.client("iam").get_open_id_connect_provider(OpenIDConnectProviderArn=provider)
    assert described["ClientIDList"] == ["sts.amazonaws.com"]
    for role, subject in (("edp-example-ci-plan", "repo:edp-platform/edp:pull_request"),
                          ("edp-example-ci-deploy", "repo:edp-platform/edp:ref:refs/heads/main")):
        (statement,) = trust_of(emulator, role)["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"] == {"Federated": provider}
        assert statement["Condition"]["StringEquals"] == {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
        assert statement["Condition"]["StringLike"] == {"token.actions.githubusercontent.com:sub": subject}


def test_plan_role_reads_and_locks_state_deploy_role_writes_iam_only_under_its_prefix(applied):
    emulator, outputs = applied
    iam = emulator.client("iam")
    attached = {r: [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=r)["AttachedPolicies"]]
                for r in ("edp-example-ci-plan", "edp-example-ci-deploy")}
    assert attached == {"edp-example-ci-plan": ["ReadOnlyAccess"], "edp-example-ci-deploy": ["PowerUserAccess"]}
    plan = {s["Sid"]: s for s in iam.get_role_policy(RoleName="edp-example-ci-plan",
                                                     PolicyName="terraform-state")["PolicyDocument"]["Statement"]}
    assert plan["TakeStateLocks"]["Resource"] == "arn:aws:s3:::edp-example-tfstate/example/*.tflock"
    deploy = {s["Sid"]: s for s in iam.get_role_policy(RoleName="edp-example-ci-deploy",
                                                       PolicyName="iam-and-state")["PolicyDocument"]["Statement"]}
    resources = deploy["ManageThisEnvironmentsRolesAndPolicies"]["Resource"]
    assert resources and all(":role/edp-example-" in r or ":policy/edp-example-" in r
                             or ":instance-profile/edp-example-" in r for r in resources)
    assert outputs["plan_role_arn"].endswith(":role/edp-example-ci-plan")


def test_a_pull_request_can_never_deploy(tmp_path):
    tf = local_example(tmp_path, "ci_access")
    main = tf.working_dir / "main.tf"
    main.write_text(main.read_text().replace('["ref:refs/heads/main"]', '["pull_request"]'))
    with AwsEmulator() as emulator, pytest.raises(TerraformError, match=r"never\s+pull_request"):
        on_emulator(tf, emulator.endpoint).plan("tfplan")
