"""Running a module's `examples/complete` against the local AWS emulator, the one way every module test does it.

Each test works on a private copy made by `edp.environments.emulator_copy` (the emulator's override file
added, as for the emulator environment), so `terraform init` never leaves `.terraform/` or state in the repo
and the examples themselves carry no emulator settings.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from edp.environments import emulator_copy
from edp.settings import REPO_ROOT
from edp.terraform import TerraformRunner
from edp_dev.emulator.server import AwsEmulator

MODULES = REPO_ROOT / "terraform" / "modules"
requires_terraform = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform CLI not installed")


def example_dir(tmp_dir: Path, module: str) -> Path:
    """Where `local_example(tmp_dir, module)` runs Terraform (its `terraform.tfstate` lands there)."""
    return emulator_copy(MODULES / module / "examples" / "complete", tmp_dir)


def local_example(tmp_dir: Path, module: str) -> TerraformRunner:
    """A private copy of `module`'s `examples/complete` for the emulator, initialised and ready to plan."""
    runner = TerraformRunner(example_dir(tmp_dir, module), echo=lambda line: None)
    runner.init()
    return runner


def on_emulator(runner: TerraformRunner, endpoint: str) -> TerraformRunner:
    """Point the runner's AWS provider at the emulator (the override file leaves the endpoint to this)."""
    runner.env["AWS_ENDPOINT_URL"] = endpoint
    return runner


@contextmanager
def applied_example(tmp_dir: Path, module: str, variables: dict | None = None,
                    after_destroy: Callable[[AwsEmulator], None] | None = None) -> Iterator[tuple[AwsEmulator, dict]]:
    """Plan, apply, hand over (emulator, outputs), then destroy and run `after_destroy` on the emulator."""
    runner = local_example(tmp_dir, module)
    with AwsEmulator() as emulator:
        on_emulator(runner, emulator.endpoint)
        assert runner.plan("tfplan", variables), f"{module}: a first apply must plan changes"
        runner.apply("tfplan")
        yield emulator, runner.output()
        runner.destroy(variables)
        if after_destroy:
            after_destroy(emulator)
