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
    broken["States"]["check_inputs"]["Default"] = "no_such_state"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    assert validate(path).returncode != 0


def test_optimised_integrations_retries_and_catch(spec):
    from tests.test_equivalence import all_states

    definition = asl.render_asl(spec)
    states = all_states(definition["States"])
    glue = states["bronze_to_silver"]
    assert glue["Type"] == "Map" and glue["ItemsPath"] == "$.tables"
    inner = glue["ItemProcessor"]["States"]["bronze_to_silver:table"]
    assert inner["Resource"] == "arn:aws:states:::glue:startJobRun.sync"
    assert inner["Parameters"]["JobName"] == "${name_prefix}-bronze-to-silver"
    dbt = states["dbt_build:run"]
    assert dbt["Resource"] == "arn:aws:states:::ecs:runTask.sync"
    assert dbt["Parameters"]["Overrides"]["ContainerOverrides"][0]["Command"][:2] == ["dbt", "build"]
    refresh = states["dbt_build:full_refresh"]["Parameters"]["Overrides"]["ContainerOverrides"][0]["Command"]
    assert refresh[-1] == "--full-refresh"  # the run input full_refresh reaches dbt
    # crawler and DMS have no .sync integration: Wait -> count -> poll -> Choice loops that end at the timeout
    for task_id in ("crawl_silver", "cdc_ingest"):
        assert states[f"{task_id}:wait"]["Type"] == "Wait"
        assert states[f"{task_id}:check"]["Type"] == "Choice"
        assert states[f"{task_id}:check"]["Default"] == f"{task_id}:wait"
        limit = states[f"{task_id}:wait_limit"]["Choices"][0]
        assert limit["NumericGreaterThan"] == spec.task(task_id).timeout_minutes * 60 // asl.POLL_SECONDS
        assert states[f"{task_id}:timed_out"]["Type"] == "Fail"
    for name, state in states.items():
        if state["Type"] == "Task" and asl.task_of(name):
            (rule,) = state["Retry"]
            assert rule["JitterStrategy"] == "FULL" and rule["BackoffRate"] > 1, name
            assert rule["IntervalSeconds"] == spec.pipeline.retry_delay_seconds, name
            assert rule["MaxAttempts"] == spec.task(asl.task_of(name)).retries, name
            if "Catch" in state:
                assert state["Catch"][0]["Next"] in states and states[state["Catch"][0]["Next"]]["Type"] == "Fail"
    assert definition["StartAt"] == asl.CHECK_INPUTS  # refresh_source (Airflow's) stops here, saying why
    assert states["quality_gate:broken"]["Type"] == "Fail"


def test_the_schedule_and_run_inputs_come_from_the_task_list(spec):
    assert asl.resources(spec)["schedule"] == "cron(0 2 * * ? *)"
    assert asl.default_input(spec) == {
        "tables": [{"table": s.name, "primary_key": ",".join(s.primary_key)} for s in spec.sources],
        "full_refresh": False, "refresh_source": False}


def test_every_placeholder_is_declared(spec):
    text = asl.dumps(asl.render_asl(spec))
    import re

    used = set(re.findall(r"\$\{([a-z0-9_]+)\}", text))
    assert used and used <= set(asl.PLACEHOLDERS)


def test_cli_check_detects_a_stale_definition(tmp_path):
    shutil.copytree(SFN_DIR, tmp_path / "sfn")
    from edp.cli import main

    assert main(["sfn", "check", "--out", str(tmp_path / "sfn")]) == 0
    (tmp_path / "sfn" / asl.DEFINITION_FILE).write_text("{}\n")
    assert main(["sfn", "check", "--out", str(tmp_path / "sfn")]) == 1


def test_a_full_refresh_reloads_the_dms_task_in_both_renderings(spec):
    """The run input full_refresh reaches DMS: a task that is not running is started with reload-target, a
    running one cannot be reloaded and the run says so (Airflow's CdcIngestOperator decides the same way)."""
    from edp.aws import calls
    from tests.test_equivalence import all_states

    states = all_states(asl.render_asl(spec)["States"])
    route = states["cdc_ingest:route"]["Choices"]
    assert route[0]["Next"] == "cdc_ingest:running" and states["cdc_ingest:running"]["Type"] == "Fail"
    assert route[1]["Next"] == "cdc_ingest:reload-target"
    assert states["cdc_ingest:reload-target"]["Parameters"]["StartReplicationTaskType"] == "reload-target"
    assert calls.dms_start_type_for_run("stopped", True) == "reload-target"
    assert calls.dms_start_type_for_run("stopped", False) == "resume-processing"
    with pytest.raises(ValueError, match="which is running"):
        calls.dms_start_type_for_run("running", True)
