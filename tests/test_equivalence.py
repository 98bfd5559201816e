"""One task list, two renderings that do the same work: on the shipped list, on fixtures of other shapes
(fan-out/fan-in, two Glue jobs and three crawler layers, split dbt steps, quality gate and serving load, a
graph that is not series-parallel) and on random shapes (hypothesis), the Airflow DAG (both targets) and the
Step Functions definition agree on the tasks, on every ordering (no dependency of the list is missing from
the ASL; any ordering the ASL adds is one it reports), on mapped-ness and on the resource each task calls."""

from __future__ import annotations

import json
import re
import subprocess
import warnings
from pathlib import Path

import jinja2
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edp import asl
from edp.dag_factory import build_dag, dag_edges
from edp.kinds.base import resource_name
from edp.settings import REPO_ROOT
from edp.spec import default_spec_path, load_spec

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "pipelines"
LISTS = [default_spec_path(), *sorted(FIXTURES.glob("*.yaml"))]
VALIDATOR = REPO_ROOT / "tools" / "asl" / "node_modules" / ".bin" / "asl-validator"


def closure(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Every (a, b) with a path from a to b."""
    out = set(edges)
    while True:
        more = {(a, d) for a, b in out for c, d in out if b == c} - out
        if not more:
            return out
        out |= more


def mapped_states(states: dict) -> set[str]:
    found = set()
    for name, state in states.items():
        if state.get("Type") == "Map":
            found.add(name)
        for branch in state.get("Branches", []):
            found |= mapped_states(branch["States"])
    return found


def all_states(states: dict) -> dict:
    out = dict(states)
    for state in states.values():
        for branch in state.get("Branches", []):
            out |= all_states(branch["States"])
        if "ItemProcessor" in state:
            out |= all_states(state["ItemProcessor"]["States"])
    return out


def assert_same_work(spec, rendering: asl.Rendering, dags: dict) -> None:
    tasks, order = asl.task_order(rendering.definition)
    ids = {t.id for t in spec.tasks}
    assert tasks == ids
    needed = closure(spec.edges())
    assert needed <= order, f"dependencies missing from the ASL: {sorted(needed - order)}"
    allowed = closure(spec.edges() | set(rendering.added))
    assert order <= allowed, f"orderings the ASL adds without saying so: {sorted(order - allowed)}"
    if not rendering.added:
        assert order == needed
    assert mapped_states(rendering.definition["States"]) == {t.id for t in spec.tasks if t.map_over}
    for target, dag in dags.items():
        work = {t.task_id for t in dag.tasks if not (t.is_setup or t.is_teardown) and t.task_id != "check_params"}
        assert work == ids, target
        assert dag_edges(dag) == spec.edges(), target
        mapped = {t.task_id for t in dag.tasks if hasattr(t, "partial_kwargs")}
        assert mapped == {t.id for t in spec.tasks if t.map_over}, target


@pytest.fixture(scope="module", params=LISTS, ids=lambda p: p.stem)
def listed(request):
    spec = load_spec(request.param)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rendering = asl.render(spec)
    return spec, rendering, {t: build_dag(spec, target=t) for t in ("local", "aws")}


def test_each_list_validates_and_renders_a_valid_machine(listed, tmp_path):
    from edp.cli import main

    spec, rendering, _ = listed
    assert main(["spec", "validate", str(spec.path)]) == 0
    assert main(["sfn", "render", "--spec", str(spec.path), "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / asl.DEFINITION_FILE).read_text()) == rendering.definition
    result = subprocess.run([str(VALIDATOR), "--json-path", str(tmp_path / asl.DEFINITION_FILE)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    resources = json.loads((tmp_path / asl.RESOURCES_FILE).read_text())
    assert set(resources["glue_jobs"]) == {t.id for t in spec.tasks if t.kind == "glue_job"}
    assert set(resources["crawlers"]) == {t.id for t in spec.tasks if t.kind == "glue_crawler"}


def test_dag_and_asl_do_the_same_work(listed):
    assert_same_work(*listed)


class _Names:
    """The aws DAG's name lookups as the ASL spells them (placeholders and session paths)."""

    ECS = {"cluster_arn": "${ecs_cluster_arn}", "task_definition_arn": "${dbt_task_definition_arn}",
           "container_name": "${dbt_container_name}"}

    def glue_job(self, task_id):
        return resource_name("${name_prefix}", task_id)

    crawler = glue_job

    def ecs(self, key):
        return self.ECS.get(key, key)

    def serving(self, key):
        return f"$.session.outputs.serving.{key}"


def _rendered(value):
    return jinja2.Environment().from_string(value).render(edp=_Names()) if isinstance(value, str) else value


def test_each_task_calls_the_same_resource_in_both(listed):
    """Glue job and crawler names, the dbt task definition and container, the serving workgroup: what an aws
    operator's templated field names is what the task's state names."""
    spec, rendering, dags = listed
    states = all_states(rendering.definition["States"])
    dag = dags["aws"]
    for task in spec.tasks:
        op = dag.get_task(task.id)
        fields = op.partial_kwargs if hasattr(op, "partial_kwargs") else vars(op)
        text = json.dumps({k: v for k, v in states.items() if k == task.id or k.startswith(f"{task.id}:")})
        if task.kind == "glue_job":
            assert f'"JobName": "{_rendered(fields["job_name"])}"' in text
        elif task.kind == "glue_crawler":
            assert f'"Name": "{_rendered(fields["config"]["Name"])}"' in text
        elif task.kind == "artifacts":  # Step Functions publishes in the dbt image, Airflow on its worker
            assert "'edp', 'artifacts', 'publish'" in text and type(op).__name__ == "PublishArtifactsOperator"
        elif task.kind == "dbt":
            assert f'"TaskDefinition": "{_rendered(fields["task_definition"])}"' in text
            assert f'"Name": "{_rendered(fields["overrides"]["containerOverrides"][0]["name"])}"' in text
        elif task.kind == "serving_load":
            assert f'"WorkgroupName.$": "{_rendered(fields["workgroup_name"])}"' in text
        elif task.kind == "cdc_ingest":
            assert "databasemigration:startReplicationTask" in text and type(op).__name__ == "CdcIngestOperator"
        elif task.kind == "quality_gate":
            assert "athena:startQueryExecution" in text and type(op).__name__ == "AthenaCheckOperator"


def test_aws_tasks_are_the_providers_operators_and_defer():
    dag = build_dag(load_spec(), target="aws")
    kinds = {t.task_id: type(t).__name__ if not hasattr(t, "partial_kwargs") else "mapped" for t in dag.tasks}
    assert kinds["crawl_silver"] == "GlueCrawlerOperator" and kinds["dbt_build"] == "EcsRunTaskOperator"
    glue = dag.get_task("bronze_to_silver")
    assert glue.operator_class.__name__ == "GlueJobOperator"
    assert glue.partial_kwargs["deferrable"] and glue.partial_kwargs["durable"]  # a retry re-attaches
    for task_id in ("crawl_silver", "dbt_build", "serving_load", "cdc_ingest", "quality_gate"):
        assert dag.get_task(task_id).deferrable, task_id
    local = build_dag(load_spec(), target="local")
    assert {type(t).__name__ for t in local.tasks if not hasattr(t, "partial_kwargs")} == {"_PythonDecoratedOperator"}


def test_a_graph_step_functions_cannot_express_gets_the_least_ordering_and_a_warning():
    spec = load_spec(FIXTURES / "not_series_parallel.yaml")
    with pytest.warns(UserWarning, match="merge_orders before customer_stats"):
        asl.render_asl(spec)
    assert asl.render(spec).added == [("merge_orders", "customer_stats")]


def test_dag_show_prints_the_dag_for_a_list_and_target(capsys, monkeypatch):
    from edp.cli import main

    monkeypatch.setenv("EDP_TARGET", "aws")
    assert main(["dag", "show", "--spec", str(FIXTURES / "fan_out_fan_in.yaml"), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    tasks = {t["task_id"]: t for t in shown["tasks"]}
    assert shown["target"] == "aws"
    assert tasks["publish_artifacts"]["upstream"] == ["quality_gate", "serving_load"]
    assert tasks["bronze_to_silver"]["mapped"] and tasks["bronze_to_silver"]["operator"] == "GlueJobOperator"
    assert tasks["crawl_silver"]["deferrable"] and not tasks["publish_artifacts"]["deferrable"]


def test_sfn_render_with_out_never_writes_the_committed_module(tmp_path):
    from edp.cli import main

    committed = REPO_ROOT / "terraform" / "modules" / "step_functions"
    before = {p.name: p.read_bytes() for p in committed.glob("*.json")}
    assert main(["sfn", "render", "--spec", str(FIXTURES / "split_dbt.yaml"), "--out", str(tmp_path)]) == 0
    assert {p.name: p.read_bytes() for p in committed.glob("*.json")} == before
    assert (tmp_path / asl.RESOURCES_FILE).exists()


# -- random shapes ----------------------------------------------------------------------------------------
@st.composite
def task_lists(draw) -> str:
    """A valid task list of random shape: chains, diamonds, wide fan-outs, N-shapes, mapped Glue jobs where
    their first upstream is unmapped."""
    count = draw(st.integers(min_value=1, max_value=9))
    tasks = []
    for index in range(count):
        ups = sorted(draw(st.sets(st.integers(0, index - 1), max_size=min(index, 3)))) if index else []
        kind = draw(st.sampled_from(["glue_job", "glue_crawler", "dbt", "artifacts", "quality_gate"]))
        task = {"id": f"t{index}", "kind": kind, "upstream": [f"t{u}" for u in ups]}
        if kind == "glue_job":
            task["args"] = {"script": "bronze_to_silver.py"}
            first_unmapped = ups and not tasks[ups[0]].get("map_over")
            if first_unmapped and draw(st.booleans()):
                task["map_over"] = "tables"
        elif kind == "quality_gate":
            task["args"] = {"checks": ["SELECT 1 WHERE false"]}
        tasks.append(task)
    return yaml.safe_dump({
        "pipeline": {"id": "random", "schedule": None, "owner": "qa", "timeout_minutes": 120},
        "sources": {"schema": "public", "tables": {"orders": {"primary_key": ["order_id"]}}},
        "tasks": tasks})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=task_lists())
def test_random_shapes_render_the_same_work(tmp_path_factory, text):
    path: Path = tmp_path_factory.mktemp("random") / "pipeline.yaml"
    path.write_text(text)
    spec = load_spec(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rendering = asl.render(spec)
    assert_same_work(spec, rendering, {"local": build_dag(spec, target="local")})
    assert_transitions_resolve(rendering.definition)


def assert_transitions_resolve(definition: dict) -> None:
    """Every transition names a state of its own scope, and every scope starts at one of its states."""
    def check(scope: dict, start: str) -> None:
        assert start in scope
        for name, state in scope.items():
            for target in asl._targets(state):
                assert target in scope, f"{name} -> {target}"
            for branch in state.get("Branches", []):
                check(branch["States"], branch["StartAt"])
            if "ItemProcessor" in state:
                check(state["ItemProcessor"]["States"], state["ItemProcessor"]["StartAt"])
        names = re.findall(r'"([^"]+)": \{', json.dumps(scope))
        assert len(names) >= len(scope)

    check(definition["States"], definition["StartAt"])
