"""The local stack's DAG policy (edp_dev.dag_policy): clock schedules off, Asset schedules on, so the stack
starts nothing by the clock yet starts the Gold consumer when a pipeline run updates the Gold Assets. The
DAGs are the repo's, parsed by Airflow's DagBag with the policy as the stack's airflow_local_settings loads it."""

from __future__ import annotations

import pytest

from edp.settings import REPO_ROOT
from edp_dev import airflow_run, airflow_stack, dag_policy


def _bag(monkeypatch, clocks: str):
    from airflow import settings
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv(dag_policy.CLOCKS_ENV, clocks)
    monkeypatch.setattr(settings, "dag_policy", dag_policy.dag_policy)  # what airflow_local_settings registers
    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    assert not bag.import_errors, bag.import_errors
    return {dag_id: type(dag.timetable).__name__ for dag_id, dag in bag.dags.items()}


def test_clocks_off_leaves_asset_schedules_on(monkeypatch):
    timetables = _bag(monkeypatch, "off")
    assert timetables["edp_pipeline_on_gold"] == "AssetTriggeredTimetable"
    assert timetables["edp_pipeline"] == timetables["edp_session_sweep"] == "NullTimetable"


def test_clocks_on_by_default_as_on_mwaa(monkeypatch):
    timetables = _bag(monkeypatch, "on")
    assert timetables["edp_pipeline"] != "NullTimetable" and timetables["edp_session_sweep"] != "NullTimetable"


def test_a_bad_setting_is_named(monkeypatch):
    monkeypatch.setenv(dag_policy.CLOCKS_ENV, "sometimes")
    with pytest.raises(ValueError, match="EDP_CLOCK_SCHEDULES must be 'on' or 'off', not 'sometimes'"):
        dag_policy.clocks_off()


def test_the_stack_turns_clocks_off_and_keeps_the_scheduler_creating_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("EDP_HOME", str(tmp_path / "state"))
    env = airflow_stack.stack_env(8080)
    assert env[dag_policy.CLOCKS_ENV] == "off"
    assert "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE" not in env, "it would stop asset-triggered runs too"
    assert "dag_policy" in airflow_run.LOCAL_SETTINGS  # every Airflow process of the stack loads the policy
