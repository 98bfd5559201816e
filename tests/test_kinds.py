"""The task kinds: typed arguments refused with file, task and key named; reserved ids; kinds that cannot be
mapped; dbt's commands; the README's table generated from the registry."""

from __future__ import annotations

import pytest

from edp.kinds import KINDS, reference
from edp.settings import REPO_ROOT
from edp.spec import SpecError, load_spec

SHIPPED = (REPO_ROOT / "dags" / "pipeline.yaml").read_text()


def refused(tmp_path, old: str, new: str) -> str:
    assert old in SHIPPED, old
    path = tmp_path / "pipeline.yaml"
    path.write_text(SHIPPED.replace(old, new, 1))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    return str(err.value)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("args: {command: build}", "args: {command: seedz}",
     "task 'dbt_build': argument 'command' must be one of build, run, test, seed, snapshot, source freshness"),
    ("args: {script: bronze_to_silver.py, workers: 2}", "args: {script: bronze_to_silver.py, workers: two}",
     "task 'bronze_to_silver': argument 'workers' must be an integer, got 'two'"),
    ("args: {script: bronze_to_silver.py, workers: 2}", "args: {script: bronze_to_silver.py, workers: 1}",
     "argument 'workers' must be from 2 to 100"),
    ("args: {script: bronze_to_silver.py, workers: 2}", "args: {workers: 2}",
     "task 'bronze_to_silver': argument 'script' is required for kind 'glue_job'"),
    ("args: {max_latency_seconds: 60}", "args: {max_latency_seconds: 60, wait_for: cdc_caught_up}",
     "task 'cdc_ingest': unknown argument(s) wait_for for kind 'cdc_ingest'; allowed: max_latency_seconds"),
    ("args: {layer: silver}", "args: {layer: platinum}", "argument 'layer' must be one of bronze, silver, gold"),
    ("- id: crawl_silver", "- id: pipeline_failed", "the id 'pipeline_failed' is reserved"),
    ("- id: crawl_silver", "- id: ingestion_up", "the id 'ingestion_up' is reserved"),
    ("    upstream: [dbt_build]\n    timeout_minutes: 10\n    retries: 1",
     "    upstream: [dbt_build]\n    map_over: tables\n    timeout_minutes: 10\n    retries: 1",
     "task 'quality_gate': a quality_gate task cannot be mapped over tables"),
    ("args: {tables: [daily_revenue, customer_lifetime_value, product_performance]}", "args: {tables: []}",
     "argument 'tables' must name at least one Gold mart"),
    ('"SELECT customer_id FROM {gold}.customer_lifetime_value WHERE lifetime_revenue < 0"',
     '"SELECT 1 FROM {platinum}.x"', "unknown placeholder 'platinum'"),
])
def test_bad_arguments_are_refused_with_file_task_and_key(tmp_path, old, new, message):
    error = refused(tmp_path, old, new)
    assert message in error and str(tmp_path) in error


def test_a_missing_script_is_named_by_spec_validate(tmp_path, capsys):
    from edp.cli import main

    path = tmp_path / "pipeline.yaml"
    path.write_text(SHIPPED.replace("script: bronze_to_silver.py", "script: no_such_script.py"))
    load_spec(path)  # parsing reads nothing but the list
    assert main(["spec", "validate", str(path)]) == 2
    assert "task 'bronze_to_silver': argument 'script': " in capsys.readouterr().err


def test_unmapped_glue_job_runs_once_with_its_own_arguments(tmp_path):
    from edp import asl

    path = tmp_path / "pipeline.yaml"
    path.write_text(SHIPPED.replace("    map_over: tables\n    timeout_minutes: 30\n    args: {script: bronze_to_silver.py, "
                                    "workers: 2}", "    timeout_minutes: 30\n    args: {script: silver_stats.py, "
                                    "arguments: [layer=silver]}"))
    spec = load_spec(path)
    state = asl.render_asl(spec)["States"]["bronze_to_silver"]
    assert state["Type"] == "Task" and state["Parameters"]["Arguments"] == {"--layer": "silver"}


def test_every_kind_documents_itself_and_the_readme_table_is_fresh():
    for kind in KINDS.values():
        assert kind.doc and all(a.doc for a in kind.args), kind.name
    readme = (REPO_ROOT / "README.md").read_text()
    assert reference.markdown() in readme, "run `.venv/bin/python -m edp.kinds.reference --write`"
