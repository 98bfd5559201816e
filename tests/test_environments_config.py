"""Where each environment's Terraform lives: bad settings are refused with the setting named."""

from __future__ import annotations

import pytest

from edp.cli import main as edp
from edp.environments import ENVIRONMENTS, LAYERS, resolve_environment, terraform_root
from edp.settings import ConfigError


def test_local_roots_keep_state_under_edp_home_and_point_at_the_emulator(monkeypatch, tmp_path):
    monkeypatch.setenv("EDP_HOME", str(tmp_path))
    monkeypatch.setenv("EDP_AWS_ENDPOINT", "http://127.0.0.1:4599")
    session = terraform_root("local", "session")
    assert session.working_dir.parts[-3:] == ("environments", "local", "session")
    assert session.backend_config == {"path": str(tmp_path / "terraform/local/session.tfstate")}
    assert session.variables == {"endpoint": "http://127.0.0.1:4599",
                                 "foundation_state_path": str(tmp_path / "terraform/local/foundation.tfstate")}
    assert session.data_dir.is_relative_to(tmp_path), "nothing Terraform writes may land in the repo"


def test_aws_roots_keep_state_in_the_named_bucket(monkeypatch):
    monkeypatch.setenv("EDP_TF_STATE_BUCKET", "acme-tf-state")
    for environment in ENVIRONMENTS[1:]:
        for layer in LAYERS:
            root = terraform_root(environment, layer)
            assert root.backend_config == {"bucket": "acme-tf-state"}
            assert root.variables == {"state_bucket": "acme-tf-state"}


def test_missing_or_unknown_settings_are_named(monkeypatch):
    monkeypatch.delenv("EDP_AWS_ENDPOINT", raising=False)
    monkeypatch.delenv("EDP_TF_STATE_BUCKET", raising=False)
    with pytest.raises(ConfigError, match="EDP_AWS_ENDPOINT"):
        terraform_root("local", "foundation")
    with pytest.raises(ConfigError, match="EDP_TF_STATE_BUCKET"):
        terraform_root("prod", "session")
    with pytest.raises(ConfigError, match="unknown environment 'qa'"):
        resolve_environment("qa")
    with pytest.raises(ConfigError, match="unknown Terraform layer 'network'"):
        terraform_root("dev", "network")


def test_edp_infra_reports_a_missing_setting_without_running_terraform(monkeypatch, capsys):
    monkeypatch.delenv("EDP_AWS_ENDPOINT", raising=False)
    assert edp(["infra", "plan", "--environment", "local"]) == 2
    assert "EDP_AWS_ENDPOINT" in capsys.readouterr().err
