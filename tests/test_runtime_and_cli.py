"""Bad input gets a clear error naming the problem: run params, CLI arguments, source batches."""

from __future__ import annotations

import subprocess
import sys

import pytest

from edp.cli import main
from edp.runtime import run_context
from edp.settings import REPO_ROOT, ConfigError, resolve_target
from edp_dev import shop as source_db


def test_run_context_defaults_and_order(spec):
    run = run_context(spec, "manual__x", {"tables": ["orders", "customers"]})
    assert run.tables == ("customers", "orders") and run.target == "local" and run.full_refresh is False
    assert run_context(spec, "manual__2026-01-01T00:00:00+00:00", {}).run_folder == "manual__2026-01-01T00_00_00_00_00"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"tables": ["orders", "invoices"]}, "unknown table(s) invoices"),
        ({"target": "local"}, "unknown param(s) target; known: tables"),  # the deployment's, not a run's
        ({"full_refresh": "yes"}, "full_refresh must be true or false"),
        ({"tables": "orders"}, "tables must be a list"),
        ({"tables": None}, "tables must be a list"),
        ({"tables": []}, "param tables is empty; name at least one table (leave it out to run all: customers,"),
        ({"tabels": ["orders"]}, "unknown param(s) tabels; known: tables, full_refresh, refresh_source"),
        ({"fullrefresh": True, "dry_run": True}, "unknown param(s) dry_run, fullrefresh;"),
    ],
)
def test_bad_params_are_named(spec, params, message):
    with pytest.raises(ConfigError) as err:
        run_context(spec, "r", params)
    assert message in str(err.value)


def test_the_trigger_forms_params_are_the_ones_a_run_accepts(spec):
    """One definition feeds both: every Param of the form, at its default, passes run_context."""
    from edp.dag_factory import params_schema

    form = params_schema(spec)
    run = run_context(spec, "r", {name: param.resolve() for name, param in form.items()})
    assert run.tables == spec.table_names and run.target == "local"


def test_unknown_target_setting(monkeypatch):
    monkeypatch.setenv("EDP_TARGET", "moon")
    with pytest.raises(ConfigError, match="unknown target 'moon'"):
        resolve_target()
    monkeypatch.setenv("AIRFLOW_VAR_EDP_TARGET", "aws")  # an Airflow Variable, through the environment, wins
    assert resolve_target() == "aws"


def test_simulator_rejects_bad_batches():
    with pytest.raises(ValueError, match="inserts must be a non-negative integer"):
        source_db.simulate(None, inserts=-1)
    with pytest.raises(ValueError, match="at least one"):
        source_db.simulate(None, inserts=0, updates=0, deletes=0)


def test_cli_rejects_bad_numbers_with_a_message():
    proc = subprocess.run([sys.executable, "-m", "edp.cli", "simulate", "--inserts", "-3"], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "-3 is negative" in proc.stderr


def test_cli_reports_a_broken_task_list(tmp_path, capsys):
    bad = tmp_path / "pipeline.yaml"
    bad.write_text("pipeline: {id: p, owner: o, schedule: null}\nsources: {schema: s, tables: {a: {primary_key: [id]}}}\n"
                   "tasks: [{id: a, kind: teleport}]\n")
    assert main(["spec", "validate", str(bad)]) == 2
    assert "unknown task kind 'teleport'" in capsys.readouterr().err
    assert main(["spec", "validate"]) == 0


def test_ruff_is_clean():
    ruff = REPO_ROOT / ".venv" / "bin" / "ruff"
    proc = subprocess.run([str(ruff) if ruff.exists() else "ruff", "check", str(REPO_ROOT)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout


def test_a_subset_run_on_a_lake_without_the_other_tables_stops_at_once_and_says_why(monkeypatch, tmp_path, caplog):
    """The crawler and dbt need every table in Silver: on a fresh lake a run for some tables cannot succeed,
    so its first task fails without retrying (a PermanentError) before touching the source, naming the way
    out; the task's failure is one line in the log, which `edp run` shows."""
    from edp.runtime import execute
    from edp.settings import PermanentError
    from edp.spec import default_spec_path

    monkeypatch.setenv("EDP_HOME", str(tmp_path))
    params = {"tables": ["orders"]}
    with caplog.at_level("ERROR", logger="edp.runtime"), \
            pytest.raises(PermanentError, match=r"customers, products, order_items are not there yet: run every"):
        execute(str(default_spec_path()), "cdc_ingest", "manual__1", params)
    assert "edp: cdc_ingest failed: PermanentError: a run for orders needs the other tables" in caplog.text
    assert not (tmp_path / "pg").exists(), "stopped before starting the source database"
