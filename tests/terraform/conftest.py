"""Running a module's `examples/local` against the local AWS emulator, the one way every module test does it.

Each test works on a private copy of the module, so `terraform init` never leaves `.terraform/` or state
in the repo.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from edp.settings import REPO_ROOT
from edp.terraform import TerraformRunner
from edp_dev.emulator.server import AwsEmulator

MODULES = REPO_ROOT / "terraform" / "modules"
requires_terraform = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform CLI not installed")


def example_dir(tmp_dir: Path, module: str) -> Path:
    """Where `local_example(tmp_dir, module)` runs Terraform (its `terraform.tfstate` lands there)."""
    return tmp_dir / module / "examples" / "local"


def local_example(tmp_dir: Path, module: str) -> TerraformRunner:
    """A private copy of `module`, with its `examples/local` initialised and ready to plan."""
    work = tmp_dir / module
    shutil.copytree(MODULES / module, work, ignore=shutil.ignore_patterns(".terraform*", "tfplan"))
    runner = TerraformRunner(example_dir(tmp_dir, module), echo=lambda line: None)
    runner.init(backend=False)
    return runner


@contextmanager
def applied_example(tmp_dir: Path, module: str, variables: dict | None = None,
                    after_destroy: Callable[[AwsEmulator], None] | None = None) -> Iterator[tuple[AwsEmulator, dict]]:
    """Plan, apply, hand over (emulator, outputs), then destroy and run `after_destroy` on the emulator."""
    runner = local_example(tmp_dir, module)
    with AwsEmulator() as emulator:
        variables = {**(variables or {}), "endpoint": emulator.endpoint}
        assert runner.plan("tfplan", variables), f"{module}: a first apply must plan changes"
        runner.apply("tfplan")
        yield emulator, runner.output()
        runner.destroy(variables)
        if after_destroy:
            after_destroy(emulator)
