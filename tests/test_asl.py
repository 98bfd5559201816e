"""The Step Functions definition: committed file is fresh, valid ASL, and built the way the task list says."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from edp import asl
from edp.settings import REPO_ROOT

SFN_DIR = REPO_ROOT / "terraform" / "modules" / "step_functions"
VALIDATOR = REPO_ROOT / "tools" / "asl" / "node_modules" / ".bin" / "asl-validator"


def committed() -> dict:
    return json.loads((SFN_DIR / asl.DEFINITION_FILE).read_text())


def test_committed_definition_equals_a_fresh_render(spec):
    assert asl.stale_files(spec, SFN_DIR) == [], "run `edp sfn render` and commit the result"
    assert committed() == asl.render_asl(spec)


def validate(path) -> subprocess.CompletedProcess:
    if not VALIDATOR.exists():
        pytest.fail(f"{VALIDATOR} missing: `make setup` installs it")
    return subprocess.run([str(VALIDATOR), "--json-path", str(path)], capture_output=True, text=True)


def test_definition_passes_asl_validator():
    result = validate(SFN_DIR / asl.DEFINITION_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_asl_validator_rejects_a_broken_definition(tmp_path):
    broken = committed()
    broken["States"]["crawl_silver"]["Next"] = "no_such_state"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    assert validate(path).returncode != 0


def test_optimised_integrations_retries_and_catch(spec):
    states = asl.render_asl(spec)["States"]
    glue = states["bronze_to_silver"]
    assert glue["Type"] == "Map" and glue["ItemsPath"] == "$.tables"
    inner = glue["ItemProcessor"]["States"]["bronze_to_silver:table"]
    assert inner["Resource"] == "arn:aws:states:::glue:startJobRun.sync"
    assert states["dbt_build"]["Resource"] == "arn:aws:states:::ecs:runTask.sync"
    assert states["dbt_build"]["Parameters"]["Overrides"]["ContainerOverrides"][0]["Command"][:2] == ["dbt", "build"]
    # crawler and DMS have no .sync integration: Wait -> poll -> Choice loops
    for task_id in ("crawl_silver", "cdc_ingest"):
        assert states[f"{task_id}:wait"]["Type"] == "Wait"
        assert states[f"{task_id}:check"]["Type"] == "Choice"
        assert states[f"{task_id}:check"]["Default"] == f"{task_id}:wait"
    for name, state in states.items():
        if state["Type"] == "Task":
            (rule,) = state["Retry"]
            assert rule["JitterStrategy"] == "FULL" and rule["BackoffRate"] > 1, name
            assert state["Catch"][0]["Next"] == asl.FAILED, name
    assert inner["Retry"][0]["MaxAttempts"] == spec.task("bronze_to_silver").retries


def test_every_placeholder_is_declared(spec):
    text = asl.dumps(asl.render_asl(spec))
    import re

    used = set(re.findall(r"\$\{([a-z0-9_]+)\}", text))
    assert used and used <= set(asl.PLACEHOLDERS)


def test_renderer_refuses_a_fan_out(tmp_path, spec):
    text = (REPO_ROOT / "dags" / "pipeline.yaml").read_text().replace(
        "upstream: [crawl_silver]", "upstream: [bronze_to_silver]")
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    from edp.spec import load_spec

    with pytest.raises(ValueError, match="linear chain"):
        asl.render_asl(load_spec(path))


def test_cli_check_detects_a_stale_definition(tmp_path):
    shutil.copytree(SFN_DIR, tmp_path / "sfn")
    from edp.cli import main

    assert main(["sfn", "check", "--out", str(tmp_path / "sfn")]) == 0
    (tmp_path / "sfn" / asl.DEFINITION_FILE).write_text("{}\n")
    assert main(["sfn", "check", "--out", str(tmp_path / "sfn")]) == 1
