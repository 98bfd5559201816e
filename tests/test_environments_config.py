"""Where each environment's Terraform lives: bad settings are refused with the setting named."""

from __future__ import annotations

import pytest

from edp.cli import main as edp
from edp.environments import ENVIRONMENTS, LAYERS, OVERRIDE_FILE, resolve_environment, terraform_dir, terraform_root
from edp.settings import ConfigError


def test_emulator_roots_are_private_copies_with_the_override_and_state_under_edp_home(monkeypatch, tmp_path):
    monkeypatch.setenv("EDP_HOME", str(tmp_path))
    monkeypatch.setenv("EDP_AWS_ENDPOINT", "http://127.0.0.1:4599")
    session = terraform_root("emulator", "session")
    assert session.working_dir.is_relative_to(tmp_path), "nothing Terraform writes may land in the repo"
    assert session.working_dir.parts[-3:] == ("terraform", "stacks", "session")
    assert (session.working_dir / OVERRIDE_FILE).read_text() == (terraform_dir() / "environments" / OVERRIDE_FILE).read_text()
    assert not (terraform_dir() / "stacks" / "session" / OVERRIDE_FILE).exists()
    assert (session.working_dir / "main.tf").read_text() == (terraform_dir() / "stacks" / "session" / "main.tf").read_text()
    assert session.backend_config == {"path": str(tmp_path / "terraform/emulator/session.tfstate")}
    assert session.var_files == (str(terraform_dir() / "environments" / "emulator.tfvars"),)
    assert session.variables == {"foundation_state_path": str(tmp_path / "terraform/emulator/foundation.tfstate")}
    assert session.env == {"AWS_ENDPOINT_URL": "http://127.0.0.1:4599"}
    assert session.data_dir.is_relative_to(tmp_path)
    again = terraform_root("emulator", "session")
    assert again.working_dir == session.working_dir, "an unchanged tree reuses its copy"


def test_aws_roots_are_the_stacks_with_the_environments_values_and_state_in_the_named_bucket(monkeypatch):
    monkeypatch.setenv("EDP_TF_STATE_BUCKET", "acme-tf-state")
    for environment in ENVIRONMENTS[1:]:
        for layer in LAYERS:
            root = terraform_root(environment, layer)
            assert root.working_dir == terraform_dir() / "stacks" / layer
            assert root.backend_config == {"bucket": "acme-tf-state"}
            assert root.backend_config_files == (str(terraform_dir() / "environments" / f"{environment}.{layer}.backend.hcl"),)
            assert root.var_files == (str(terraform_dir() / "environments" / f"{environment}.tfvars"),)
            assert root.variables == {"state_bucket": "acme-tf-state"}
            assert root.env == {}


def test_missing_or_unknown_settings_are_named(monkeypatch):
    monkeypatch.delenv("EDP_AWS_ENDPOINT", raising=False)
    monkeypatch.delenv("EDP_TF_STATE_BUCKET", raising=False)
    with pytest.raises(ConfigError, match="EDP_AWS_ENDPOINT"):
        terraform_root("emulator", "foundation")
    with pytest.raises(ConfigError, match="EDP_TF_STATE_BUCKET"):
        terraform_root("prod", "session")
    with pytest.raises(ConfigError, match="unknown environment 'qa'"):
        resolve_environment("qa")
    with pytest.raises(ConfigError, match="unknown Terraform layer 'network'"):
        terraform_root("dev", "network")


def test_edp_infra_reports_a_missing_setting_without_running_terraform(monkeypatch, capsys):
    monkeypatch.delenv("EDP_AWS_ENDPOINT", raising=False)
    assert edp(["infra", "plan", "--environment", "emulator"]) == 2
    assert "EDP_AWS_ENDPOINT" in capsys.readouterr().err
