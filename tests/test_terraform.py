"""The Terraform runner and operator against the real terraform CLI (a provider-free module, so offline)."""

from __future__ import annotations

import shutil

import pytest

from edp.terraform import REDACTED, TerraformError, TerraformRunner
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform CLI not installed")
MODULE = REPO_ROOT / "tests" / "fixtures" / "terraform" / "minimal"


@pytest.fixture
def module(tmp_path):
    work = tmp_path / "module"
    shutil.copytree(MODULE, work)
    return work


def test_plan_apply_output_destroy(module):
    lines = []
    tf = TerraformRunner(module, echo=lines.append)
    tf.init(backend=False)
    assert tf.plan("tfplan", {"name": "alpha", "tags": ["a", "b"]}) is True
    tf.apply("tfplan")
    assert tf.output() == {"name": "alpha", "tags": ["a", "b"], "token": REDACTED}
    assert tf.output(include_sensitive=True)["token"] == "not-for-xcom"
    assert tf.plan("tfplan", {"name": "alpha", "tags": ["a", "b"]}) is False  # nothing left to do
    assert any("Apply complete" in line for line in lines), "Terraform's log is streamed"
    tf.destroy({"name": "alpha"})
    assert tf.output() == {}


def test_workspaces_keep_separate_state(module):
    tf = TerraformRunner(module, echo=lambda line: None)
    tf.init(backend=False)
    tf.workspace("session-a")
    tf.plan("a.plan", {"name": "a"})
    tf.apply("a.plan")
    tf.workspace("session-b")
    assert tf.output() == {}
    tf.workspace("session-a")
    assert tf.output()["name"] == "a"


def test_failures_name_command_code_and_cause(module):
    (module / "broken.tf").write_text('resource "terraform_data" "x" {\n  input = \n}\n')
    tf = TerraformRunner(module, echo=lambda line: None)
    with pytest.raises(TerraformError) as err:
        tf.init(backend=False)
    assert "terraform init" in str(err.value) and "exit code 1" in str(err.value)
    with pytest.raises(TerraformError, match="does not exist"):
        TerraformRunner(module / "nowhere")


def test_missing_required_variable_fails_clearly(module):
    tf = TerraformRunner(module, echo=lambda line: None)
    tf.init(backend=False)
    with pytest.raises(TerraformError, match=r"(?s)terraform plan.*No value for required variable"):
        tf.plan("tfplan", {})


def test_operator_applies_and_returns_redacted_outputs(module):
    from edp.operators.terraform import TerraformOperator

    op = TerraformOperator(task_id="up", working_dir=str(module), variables={"name": "op"}, workspace="s1")
    assert op.execute(context={}) == {"name": "op", "tags": [], "token": REDACTED}
    down = TerraformOperator(task_id="down", working_dir=str(module), command="destroy", variables={"name": "op"},
                             workspace="s1")
    assert down.execute(context={}) == {}
    with pytest.raises(ValueError, match="unknown Terraform command 'nuke'"):
        TerraformOperator(task_id="bad", working_dir=str(module), command="nuke")


def test_data_loss_lists_buckets_and_unsnapshotted_databases():
    from edp.terraform import data_loss

    def change(kind, actions, before=None):
        return {"address": f"module.x.{kind}.this", "type": kind, "change": {"actions": actions, "before": before}}

    plan = {"resource_changes": [
        change("aws_s3_bucket", ["delete"]),
        change("aws_s3_bucket_policy", ["update"]),
        change("aws_glue_catalog_database", ["delete", "create"]),  # a replacement deletes too
        change("aws_db_instance", ["delete"], {"skip_final_snapshot": True}),
        change("aws_db_instance", ["delete"], {"skip_final_snapshot": False}),
        change("aws_dms_replication_task", ["delete"]),
    ]}
    assert data_loss(plan) == [
        "module.x.aws_s3_bucket.this (aws_s3_bucket) would be deleted",
        "module.x.aws_glue_catalog_database.this (aws_glue_catalog_database) would be deleted",
        "module.x.aws_db_instance.this (aws_db_instance) would be deleted without a final snapshot",
    ]


@pytest.mark.integration  # the AWS provider against the emulator
def test_operator_refuses_to_delete_a_bucket_and_leaves_it(tmp_path):
    """Both ways a bucket can go (a destroy, or a plan that drops it) are refused before anything runs."""
    from edp.environments import OVERRIDE_FILE, terraform_dir
    from edp.operators.terraform import TerraformOperator
    from edp.terraform import DataLossRefused
    from edp_dev.emulator.server import AwsEmulator

    work = tmp_path / "bucket"
    shutil.copytree(MODULE.with_name("bucket"), work)
    shutil.copyfile(terraform_dir() / "environments" / OVERRIDE_FILE, work / OVERRIDE_FILE)
    with AwsEmulator() as emulator:
        def operator(command, **variables):
            return TerraformOperator(task_id=command, working_dir=str(work), command=command, variables=variables,
                                     env={"AWS_ENDPOINT_URL": emulator.endpoint})

        operator("plan_and_apply").execute(context={})
        with pytest.raises(DataLossRefused, match=r"aws_s3_bucket.data\[0\] \(aws_s3_bucket\) would be deleted"):
            operator("destroy").execute(context={})
        with pytest.raises(DataLossRefused):
            operator("plan_and_apply", keep_bucket=False).execute(context={})
        assert [b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"]] == ["edp-guard-data"]
        unguarded = operator("destroy")
        unguarded.protect_data = False  # a person tearing down a throwaway environment
        unguarded.execute(context={})
        assert emulator.client("s3").list_buckets()["Buckets"] == []
