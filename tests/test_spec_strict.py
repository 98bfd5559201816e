"""The task list loader is strict: nothing the author wrote is dropped or overridden silently, a schedule that
can never fire is refused, and files that cannot be read are named errors (file, where, problem)."""

from __future__ import annotations

import textwrap

import pytest

from edp.spec import SpecError, load_spec, schedule_problem

VALID = """
pipeline: {id: p, owner: team, schedule: "0 2 * * *", tags: [t]}
sources: {schema: public, tables: {orders: {primary_key: [id]}}}
tasks:
  - {id: ingest, kind: cdc_ingest}
  - {id: build, kind: dbt, upstream: [ingest]}
"""


def write(tmp_path, text):
    path = tmp_path / "pipeline.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def refusal(path) -> str:
    with pytest.raises(SpecError) as err:
        load_spec(path)
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    return message


@pytest.mark.parametrize(
    ("old", "new", "where", "unknown", "allowed"),
    [
        ("tags: [t]}", "tags: [t], catchup: true}", "pipeline", "catchup", "late_after_minutes"),
        ("{schema: public,", "{schema: public, database: shop,", "sources", "database", "schema, tables"),
        ("{primary_key: [id]}", "{primary_key: [id], partition_by: day}", "sources: table 'orders'", "partition_by",
         "primary_key"),
        ("{id: build, kind: dbt,", "{id: build, kind: dbt, retry: 3,", "task 'build'", "retry", "timeout_minutes"),
        ("tasks:", "owner: x\ntasks:", "", "owner", "pipeline, sources, tasks"),
    ],
)
def test_unknown_keys_are_refused_at_every_level(tmp_path, old, new, where, unknown, allowed):
    assert old in VALID
    message = refusal(write(tmp_path, VALID.replace(old, new)))
    assert f": {where}: " in message if where else "top-level" in message
    assert f"unknown key(s) {unknown}" in message
    assert "allowed:" in message and allowed in message


def test_a_table_entry_must_be_a_mapping(tmp_path):
    message = refusal(write(tmp_path, VALID.replace("{primary_key: [id]}", "[id]")))
    assert "sources: table 'orders'" in message and "mapping" in message


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        (VALID.replace("tags: [t]}", "tags: [t], schedule: null}"), "schedule", 2),
        ("pipeline: {id: p, owner: team, schedule: null}\npipeline: {id: q, owner: team, schedule: null}\n",
         "pipeline", 2),
        (VALID + "tasks: []\n", "tasks", 7),
    ],
)
def test_duplicate_keys_are_refused_with_their_line(tmp_path, text, key, line):
    message = refusal(write(tmp_path, text))
    assert f"duplicate key {key!r}" in message and f"line {line}" in message


def test_anchors_and_merge_keys_still_load(tmp_path):
    text = VALID.replace("tasks:", "tasks:\n  - &base {id: first, kind: cdc_ingest}\n  - {<<: *base, id: second}")
    assert [t.id for t in load_spec(write(tmp_path, text)).tasks][:2] == ["first", "second"]


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("0 2 30 2 *", "never fires: no month in 2 has a day 30"),
        ("0 0 31 4,6,9,11 *", "never fires: no month in 4,6,9,11 has a day 31"),
        ("0 0 30-31 FEB *", "never fires"),
        ("0 0 31 APR-JUN/2 *", "never fires"),
    ],
)
def test_schedules_that_never_fire_are_refused(expr, problem):
    assert problem in (schedule_problem(expr) or "")


@pytest.mark.parametrize(
    "expr",
    [
        "0 0 29 2 *",  # leap years
        "0 0 31 1-12/2 *",
        "0 0 31 APR-JUL *",
        "0 0 28-31 2 *",
        "0 0 31 */3 *",  # January
        "0 0 30 DEC-FEB *",  # a range that wraps the year, as Airflow's cron parser reads it
        "0 0 31 * *",
        "0 0 1,31 2 *",
    ],
)
def test_schedules_that_fire(expr):
    assert schedule_problem(expr) is None


@pytest.mark.parametrize("expr", ["0 0 30 2 MON", "0 0 30 2 7", "0 0 30 2 */2", "0 0 1 * MON-FRI"])
def test_schedules_restricting_both_days_are_refused_as_eventbridge_cannot_say_either(expr):
    """cron fires when either day field matches; EventBridge (the Step Functions schedule) takes one of them."""
    assert "both day-of-month and day-of-week" in (schedule_problem(expr) or "")


@pytest.mark.parametrize(("expr", "eventbridge"), [
    ("0 2 * * *", "cron(0 2 * * ? *)"), ("0 6 * * MON-FRI", "cron(0 6 ? * MON-FRI *)"),
    ("30 1 * * 0,6", "cron(30 1 ? * 1,7 *)"), ("0 0 1 JAN,JUL *", "cron(0 0 1 JAN,JUL ? *)"),
    ("*/15 * * * 7", "cron(*/15 * ? * 1 *)"), ("@daily", "cron(0 0 * * ? *)"), ("@once", None), (None, None),
])
def test_the_schedule_as_eventbridge_expresses_it(expr, eventbridge):
    from edp.spec import schedule_expression

    assert schedule_expression(expr) == eventbridge


def test_never_firing_schedule_is_a_spec_error(tmp_path):
    message = refusal(write(tmp_path, VALID.replace('"0 2 * * *"', '"0 2 30 2 *"')))
    assert "pipeline: bad schedule '0 2 30 2 *': never fires" in message


def test_non_utf8_file_is_named(tmp_path):
    path = tmp_path / "pipeline.yaml"
    path.write_bytes(textwrap.dedent(VALID).encode() + b"# caf\xe9\n")
    assert "not UTF-8 text" in refusal(path)


def test_folder_is_named_and_missing_file_message_is_kept(tmp_path):
    assert refusal(tmp_path) == f"{tmp_path}: is a folder, not a task list file"
    assert refusal(tmp_path / "absent.yaml") == f"{tmp_path / 'absent.yaml'}: task list file not found"


def test_default_task_timeout_follows_a_short_pipeline_timeout(tmp_path):
    spec = load_spec(write(tmp_path, VALID.replace("tags: [t]}", "tags: [t], timeout_minutes: 20}")))
    assert spec.task("ingest").timeout_minutes == 20
    assert load_spec(write(tmp_path, VALID)).task("ingest").timeout_minutes == 30


def test_task_timeout_above_the_pipeline_names_the_pipeline_limit(tmp_path):
    text = VALID.replace("tags: [t]}", "tags: [t], timeout_minutes: 20}").replace(
        "{id: build, kind: dbt,", "{id: build, kind: dbt, timeout_minutes: 45,")
    message = refusal(write(tmp_path, text))
    assert "task 'build'" in message and "45 exceeds the pipeline's timeout_minutes (20)" in message

