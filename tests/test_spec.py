"""The task list loader: valid files load; every kind of mistake stops with file, task and problem named."""

from __future__ import annotations

import textwrap

import pytest

from edp.spec import SpecError, load_spec, schedule_problem, topological_order

VALID = """
pipeline: {id: p, owner: team, schedule: "0 2 * * *", tags: [t]}
sources: {schema: public, tables: {a: {primary_key: [id]}}}
tasks:
  - {id: ingest, kind: cdc_ingest}
  - {id: merge, kind: glue_job, upstream: [ingest], map_over: tables, args: {script: x.py}}
  - {id: build, kind: dbt, upstream: [merge]}
"""


def write(tmp_path, text):
    path = tmp_path / "pipeline.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_valid_list_loads_in_dependency_order(tmp_path):
    spec = load_spec(write(tmp_path, VALID))
    assert [t.id for t in topological_order(spec)] == ["ingest", "merge", "build"]
    assert spec.edges() == {("ingest", "merge"), ("merge", "build")}
    assert spec.task("merge").retries == 2


def test_repo_task_list_is_valid(spec):
    assert [t.kind for t in topological_order(spec)] == ["cdc_ingest", "glue_job", "glue_crawler", "dbt", "dbt",
                                                         "quality_gate", "serving_load", "artifacts"]
    assert spec.table_names == ("customers", "products", "orders", "order_items")


@pytest.mark.parametrize(
    ("old", "new", "task", "problem"),
    [
        ("kind: dbt,", "kind: spark_magic,", "build", "unknown task kind 'spark_magic'"),
        ("upstream: [merge]}", "upstream: [nowhere]}", "build", "upstream 'nowhere' is not a task"),
        ("{id: ingest, kind: cdc_ingest}", "{id: ingest, kind: cdc_ingest, upstream: [build]}", "", "dependency cycle"),
        ("{id: build, kind: dbt", "{id: merge, kind: dbt", "merge", "duplicate task id"),
        ('"0 2 * * *"', '"0 25 * * *"', "", "bad schedule '0 25 * * *'"),
        ('"0 2 * * *"', '"every night"', "", "bad schedule"),
        ("kind: dbt, upstream", "kind: dbt, retries: -1, upstream", "build", "'retries' must be an integer"),
    ],
)
def test_mistakes_name_file_task_and_problem(tmp_path, old, new, task, problem):
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    message = str(err.value)
    assert str(path) in message
    assert problem in message
    if task:
        assert f"task {task!r}" in message


def test_cycle_names_its_tasks(tmp_path):
    path = write(tmp_path, VALID.replace("{id: ingest, kind: cdc_ingest}", "{id: ingest, kind: cdc_ingest, upstream: [build]}"))
    with pytest.raises(SpecError, match=r"ingest -> .*build|build -> .*ingest"):
        load_spec(path)


def test_schedule_must_be_given_even_if_null(tmp_path):
    with pytest.raises(SpecError, match="'schedule' is required"):
        load_spec(write(tmp_path, VALID.replace(' schedule: "0 2 * * *",', "")))
    assert load_spec(write(tmp_path, VALID.replace('"0 2 * * *"', "null"))).pipeline.schedule is None


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "absent.yaml")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(write(tmp_path, "tasks: [unclosed"))


def test_mapped_task_needs_unmapped_first_upstream(tmp_path):
    text = VALID.replace("{id: build, kind: dbt, upstream: [merge]}",
                         "{id: build, kind: dbt, upstream: [merge], map_over: tables}")
    with pytest.raises(SpecError, match="task 'build': a dbt task cannot be mapped over tables"):
        load_spec(write(tmp_path, text))
    text = VALID.replace("{id: merge, kind: glue_job, upstream: [ingest], map_over: tables, args: {script: x.py}}",
                         "{id: merge, kind: glue_job, map_over: tables, args: {script: x.py}}")
    with pytest.raises(SpecError, match="task 'merge': a task mapped over tables needs a first upstream"):
        load_spec(write(tmp_path, text))


@pytest.mark.parametrize("expr", ["0 2 * * *", "*/15 * * * *", "0 6 * * MON-FRI", "@daily", "0 0 1 JAN,JUL *"])
def test_good_schedules(expr):
    assert schedule_problem(expr) is None


@pytest.mark.parametrize("expr", ["0 2 * *", "61 * * * *", "* * * * 9", "@sometimes", "*/0 * * * *"])
def test_bad_schedules(expr):
    assert schedule_problem(expr)
