"""The environments as Terraform sees them: the tree is formatted, both roots validate, every environment's
values pass the roots' checks, and no provider block is copied. Applied environments: tests/environments/.
"""

from __future__ import annotations

import subprocess

import pytest

from edp.environments import (
    ENVIRONMENTS,
    LAYERS,
    emulator_copy,
    terraform_dir,
)
from edp.terraform import TerraformRunner
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


