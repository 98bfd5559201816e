"""DAG integrity: every DAG imports cleanly, is well-formed, parses fast, and matches the task list and ASL."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edp import asl
from edp.dag_factory import dag_edges
from edp.settings import REPO_ROOT

DAGS = REPO_ROOT / "dags"
RETRIES_AS_LISTED = {"check_params", "quality_gate"}
DAG_FILES = sorted(p for p in DAGS.glob("*.py"))


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert dagbag.dag_ids, "no DAG found"


def test_every_dag_is_owned_tagged_retried_and_scheduled(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.doc_md, dag_id
        assert dag.timetable is not None, dag_id  # the task list requires a schedule key (null = manual only)
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id} has no owner"
            # retries as the task list says (a gate over bad data, a params check, gain nothing by retrying)
            assert task.retries >= (0 if task.task_id in RETRIES_AS_LISTED else 2), \
                f"{dag_id}.{task.task_id} retries {task.retries}"
            assert task.execution_timeout is not None, f"{dag_id}.{task.task_id}"


def test_no_cycles(dagbag):
    for dag_id, dag in dagbag.dags.items():
        edges = dag_edges(dag)
        remaining = {t.task_id for t in dag.tasks}
        while remaining:
            roots = {t for t in remaining if not any(u in remaining for u, d in edges if d == t)}
            assert roots, f"{dag_id} has a cycle among {sorted(remaining)}"
            remaining -= roots


def test_pipeline_structure(dagbag, spec):
    dag = dagbag.dags[spec.pipeline.id]
    structure = {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}
    assert structure == {
        "check_params": ["bronze_to_silver", "cdc_ingest"],  # the mapped task expands over its output
        "ingestion_up": ["cdc_ingest", "ingestion_down"],
        "cdc_ingest": ["bronze_to_silver", "ingestion_down"],
        "ingestion_down": [],
        "bronze_to_silver": ["crawl_silver"],
        "crawl_silver": ["source_freshness"],
        "source_freshness": ["dbt_build"],
        "dbt_build": ["quality_gate"],
        "quality_gate": ["publish_artifacts", "serving_load"],
        "serving_load": [],
        "publish_artifacts": [],
    }
    up, down = dag.get_task("ingestion_up"), dag.get_task("ingestion_down")
    assert up.is_setup and down.is_teardown and down.on_failure_fail_dagrun  # a session left on must be noticed
    assert dag.timetable.expression == spec.pipeline.schedule == "0 2 * * *"  # nightly
    assert dag.max_active_runs == 1 and not dag.catchup
    assert set(dag.tags) >= {"edp", "nightly"}
    assert type(dag.get_task("bronze_to_silver")).__name__.startswith("Mapped") or \
        dag.get_task("bronze_to_silver").is_mapped


def test_params_are_json_schema_validated(dagbag, spec):
    from airflow.sdk.definitions.param import ParamValidationError

    params = dagbag.dags[spec.pipeline.id].params
    assert set(params.keys()) == {"tables", "full_refresh", "refresh_source"}  # the target is the deployment's
    assert params.get_param("tables").resolve(value=["orders"]) == ["orders"]
    for key, bad in (("tables", ["orders", "nope"]), ("tables", []), ("tables", ["orders", "orders"]),
                     ("full_refresh", "yes"), ("refresh_source", "yes")):
        with pytest.raises(ParamValidationError):
            params.get_param(key).resolve(value=bad)
    for key in params.keys():
        assert params.get_param(key).description, f"param {key} needs a description for the trigger form"


def test_dag_asl_and_task_list_are_the_same_graph(dagbag, spec):
    """The equivalence proof: drift in the DAG, the committed ASL or the task list fails here."""
    dag = dagbag.dags[spec.pipeline.id]
    definition = json.loads((REPO_ROOT / "terraform/modules/step_functions" / asl.DEFINITION_FILE).read_text())
    asl_tasks, asl_order = asl.task_order(definition)
    work = {t.task_id for t in dag.tasks if not (t.is_setup or t.is_teardown) and t.task_id != "check_params"}
    assert asl_tasks == work == {t.id for t in spec.tasks}
    assert dag_edges(dag) == spec.edges() and spec.edges() <= asl_order
    sessions = {t.task_id for t in dag.tasks} - work - {"check_params"}
    assert sessions == {f"{t.session}_{step}" for t in spec.tasks if t.session for step in ("up", "down")}


def test_equivalence_check_notices_drift(dagbag, spec):
    definition = json.loads((REPO_ROOT / "terraform/modules/step_functions" / asl.DEFINITION_FILE).read_text())
    definition["States"]["crawl_silver:check"]["Choices"][0]["Next"] = "parallel_1"  # skips dbt and the gate
    tasks, order = asl.task_order(definition)
    assert "dbt_build" not in tasks and not spec.edges() <= order


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_in_well_under_a_second(path):
    """Measured in a fresh interpreter with Airflow's SDK already imported and the providers' asset URI handlers
    loaded (what a DAG processor holds after its first file: the first Asset otherwise imports every provider's
    handler, boto3 included, ~0.25 s): the file's own cost, in CPU time (what parsing costs MWAA's DAG
    processor, not how busy this machine is while the tests run in parallel)."""
    code = (
        "import time, runpy, airflow.sdk, edp.dag_factory\n"
        "from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime\n"
        "ProvidersManagerTaskRuntime().asset_uri_handlers\n"
        f"t = time.process_time(); runpy.run_path({str(path)!r}); print(time.process_time() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds = float(out.stdout.strip().splitlines()[-1])
    assert seconds < 0.5, f"{path.name} took {seconds:.3f}s to import"


def test_equivalence_check_notices_a_drifted_dag(tmp_path, spec):
    """A DAG rendered from a changed task list no longer matches the committed ASL."""
    from edp.dag_factory import build_dag
    from edp.spec import load_spec

    text = (REPO_ROOT / "dags" / "pipeline.yaml").read_text().replace(
        "upstream: [crawl_silver]", "upstream: [crawl_silver, cdc_ingest]")
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    drifted = build_dag(load_spec(path))
    definition = json.loads((REPO_ROOT / "terraform/modules/step_functions" / asl.DEFINITION_FILE).read_text())
    assert not dag_edges(drifted) <= asl.task_order(definition)[1] or dag_edges(drifted) != load_spec().edges()


def test_session_dag_form_and_shape(dagbag):
    from airflow.sdk.definitions.param import ParamValidationError

    dag = dagbag.dags["edp_session"]
    assert type(dag.timetable).__name__ == "NullTimetable"  # manual: triggered from the UI
    assert {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks} == {
        "prepare": ["terraform_apply"], "terraform_apply": ["publish"], "publish": []}
    params = dag.params
    assert params.get_param("action").resolve() == "up" and params.get_param("modes").resolve() == ["ingestion"]
    for key, bad in (("action", "nuke"), ("modes", ["ingestion", "warp"]), ("modes", ["serving", "serving"]),
                     ("ttl_hours", 0), ("ttl_hours", 100), ("glue_workers", 1), ("redshift_base_capacity", 12),
                     ("dms_instance_class", "dms.huge")):
        with pytest.raises(ParamValidationError):
            params.get_param(key).resolve(value=bad)
    assert params.get_param("redshift_base_capacity").resolve(value=16) == 16
    for key in params.keys():
        assert params.get_param(key).description, f"param {key} needs a description for the trigger form"
    sweep = dagbag.dags["edp_session_sweep"]
    assert sweep.timetable.expression == "*/30 * * * *"
    assert sorted(sweep.get_task("session_expired").downstream_task_ids) == ["prepare"]
