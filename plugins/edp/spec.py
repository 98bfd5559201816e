"""The pipeline task list, loaded into a neutral graph that every renderer reads.

The YAML task list is the single source of truth: the Airflow DAG, the Step
Functions definition and the local runner are all rendered from the frozen
objects built here, so they cannot disagree about tasks or edges.  Nothing in
this module imports Airflow; loading is cheap enough to happen at DAG parse.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from edp.kinds import KINDS

# session modes a task can be wrapped in (setup turns the mode on, teardown off) when a run asks for it
SESSION_MODES = ("ingestion", "serving")
# state and task names the renderers use themselves: the ASL's terminal states and first states, the DAG's
# parameter check, and each session mode's setup/teardown
RESERVED_IDS = ("pipeline_failed", "pipeline_succeeded", "read_session", "check_inputs", "check_params",
                *(f"{m}_{step}" for m in SESSION_MODES for step in ("up", "down")))
MAP_OVER = ("tables",)
_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_SCHEDULE_PRESETS = ("@once", "@hourly", "@daily", "@weekly", "@monthly", "@yearly")
# (min, max) per cron field: minute hour day-of-month month day-of-week
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_NAMES = {3: "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC", 4: "SUN MON TUE WED THU FRI SAT"}
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February 29 exists in leap years
# the keys each level of the task list accepts: anything else is a typo or a setting this platform ignores
_TOP_KEYS = ("pipeline", "sources", "tasks")
_PIPELINE_KEYS = ("id", "description", "schedule", "owner", "tags", "retries", "retry_delay_seconds",
                  "timeout_minutes", "late_after_minutes")
_SOURCES_KEYS = ("schema", "tables")
_TABLE_KEYS = ("primary_key",)
_TASK_KEYS = ("id", "kind", "upstream", "map_over", "retries", "timeout_minutes", "args", "session")
_DEFAULT_TASK_TIMEOUT = 30


class SpecError(ValueError):
    """A task list that cannot be rendered; the message names file, task and problem."""


@dataclass(frozen=True)
class Pipeline:
    id: str
    description: str
    schedule: str | None
    owner: str
    tags: tuple[str, ...]
    retries: int
    retry_delay_seconds: int
    timeout_minutes: int
    late_after_minutes: int | None = None  # alert when a run has not finished this long after its logical date


@dataclass(frozen=True)
class Source:
    name: str
    primary_key: tuple[str, ...]


@dataclass(frozen=True)
class Task:
    id: str
    kind: str
    upstream: tuple[str, ...] = ()
    map_over: str | None = None
    retries: int = 2
    timeout_minutes: int = _DEFAULT_TASK_TIMEOUT
    args: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    session: str | None = None  # a session mode this task needs; a source refresh wraps it in setup/teardown


@dataclass(frozen=True)
class Spec:
    path: Path
    pipeline: Pipeline
    source_schema: str
    sources: tuple[Source, ...]
    tasks: tuple[Task, ...]

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sources)

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise SpecError(f"{self.path}: unknown source table {name!r}; known: {', '.join(self.table_names)}")

    def task(self, task_id: str) -> Task:
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise SpecError(f"{self.path}: no task {task_id!r}")

    def edges(self) -> set[tuple[str, str]]:
        """Dependency edges (upstream, downstream): what both renderers must reproduce."""
        return {(u, t.id) for t in self.tasks for u in t.upstream}

    def downstream(self, task_id: str) -> tuple[str, ...]:
        return tuple(t.id for t in self.tasks if task_id in t.upstream)


def default_spec_path() -> Path:
    return Path(__file__).resolve().parents[2] / "dags" / "pipeline.yaml"


class DuplicateKeyError(yaml.YAMLError):
    """A mapping that names one key twice; PyYAML would keep the last value and drop the first silently."""


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, so what the author wrote twice is never half-ignored."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` overrides by design, not by accident
                continue
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if not isinstance(key, Hashable):  # the base class names that error
                continue
            if key in first_line:
                raise DuplicateKeyError(f"line {line}: duplicate key {key!r} (first given on line {first_line[key]})")
            first_line[key] = line
        return super().construct_mapping(node, deep=deep)


def load_spec(path: str | Path | None = None) -> Spec:
    """Read and validate the task list; every failure raises SpecError naming file and task."""
    path = Path(path) if path else default_spec_path()
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping with 'pipeline', 'sources' and 'tasks'")
    _refuse_unknown_keys(path, "top-level", raw, _TOP_KEYS)
    pipeline = _pipeline(path, raw.get("pipeline"))
    schema, sources = _sources(path, raw.get("sources"))
    tasks = _tasks(path, raw.get("tasks"), pipeline)
    spec = Spec(path=path, pipeline=pipeline, source_schema=schema, sources=sources, tasks=tasks)
    topological_order(spec)  # raises on a cycle
    _check_kinds(spec)
    return spec


def _read_yaml(path: Path) -> Any:
    """The parsed file; a file that cannot be read or parsed is a SpecError naming it, never a traceback."""
    if path.is_dir():
        raise SpecError(f"{path}: is a folder, not a task list file")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)
    except FileNotFoundError:
        raise SpecError(f"{path}: task list file not found") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text: {exc}") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the task list: {exc.strerror or exc}") from None
    except DuplicateKeyError as exc:
        raise SpecError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from None


def _refuse_unknown_keys(path: Path, where: str, mapping: dict, allowed: tuple[str, ...]) -> None:
    """A key the loader does not read would be dropped silently (a typo, or `catchup: true` that never applies)."""
    unknown = set(mapping) - set(allowed)
    if unknown:
        raise SpecError(f"{path}: {where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                        f"allowed: {', '.join(allowed)}")


def _mapping(path: Path, where: str, raw: Any, allowed: tuple[str, ...]) -> dict:
    """One level of the task list: a mapping whose every key is one the loader reads."""
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: {where}: expected a mapping with keys {', '.join(allowed)}, got {raw!r}")
    _refuse_unknown_keys(path, where, raw, allowed)
    return raw


def _require(path: Path, where: str, mapping: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise SpecError(f"{path}: {where}: missing required key {key!r}")
    value = mapping[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise SpecError(f"{path}: {where}: {key!r} must be {_type_name(kind)}, got {value!r}")
    return value


def _optional_int(path: Path, where: str, mapping: dict, key: str, default: int, low: int, high: int) -> int:
    value = mapping.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SpecError(f"{path}: {where}: {key!r} must be an integer from {low} to {high}, got {value!r}")
    return value


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({str: "a string", int: "an integer", list: "a list", dict: "a mapping"}.get(k, k.__name__) for k in kinds)


def _pipeline(path: Path, raw: Any) -> Pipeline:
    where = "pipeline"
    raw = _mapping(path, where, raw, _PIPELINE_KEYS)
    pid = _require(path, where, raw, "id", str)
    if not _ID.match(pid):
        raise SpecError(f"{path}: {where}: id {pid!r} must be lowercase letters, digits and underscores")
    if "schedule" not in raw:
        raise SpecError(f"{path}: {where}: 'schedule' is required: a cron expression, a preset, or null for manual runs")
    schedule = raw["schedule"]
    if schedule is not None:
        if not isinstance(schedule, str):
            raise SpecError(f"{path}: {where}: schedule must be a cron string, a preset or null, got {schedule!r}")
        problem = schedule_problem(schedule)
        if problem:
            raise SpecError(f"{path}: {where}: bad schedule {schedule!r}: {problem}")
    tags = raw.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise SpecError(f"{path}: {where}: tags must be a list of non-empty strings")
    return Pipeline(
        id=pid,
        description=str(raw.get("description", "")),
        schedule=schedule,
        owner=_require(path, where, raw, "owner", str),
        tags=tuple(tags),
        retries=_optional_int(path, where, raw, "retries", 2, 0, 10),
        retry_delay_seconds=_optional_int(path, where, raw, "retry_delay_seconds", 60, 1, 3600),
        timeout_minutes=_optional_int(path, where, raw, "timeout_minutes", 120, 1, 24 * 60),
        late_after_minutes=(None if raw.get("late_after_minutes") is None
                            else _optional_int(path, where, raw, "late_after_minutes", 0, 1, 24 * 60)),
    )


def schedule_problem(expr: str) -> str | None:
    """Why a schedule is invalid, or None: a preset, or a five-field cron expression that fires at least once
    (Airflow's cron parser accepts `0 2 30 2 *`, which has no next run: the DAG loads and never runs)."""
    if expr.startswith("@"):
        return None if expr in _SCHEDULE_PRESETS else f"unknown preset; use one of {', '.join(_SCHEDULE_PRESETS)}"
    fields = expr.split()
    if len(fields) != 5:
        return f"cron needs 5 fields (minute hour day month weekday), got {len(fields)}"
    for index, text in enumerate(fields):
        problem = _cron_field_problem(index, text)
        if problem:
            return problem
    if fields[2] != "*" and fields[4] != "*":
        return ("restricts both day-of-month and day-of-week, which the Step Functions schedule (EventBridge) "
                "cannot express; restrict one of them")
    return _never_fires_problem(fields)


# Airflow presets as EventBridge expressions (the Step Functions schedule); @once has no schedule there
_EVENTBRIDGE_PRESETS = {"@hourly": "cron(0 * * * ? *)", "@daily": "cron(0 0 * * ? *)",
                        "@weekly": "cron(0 0 ? * SUN *)", "@monthly": "cron(0 0 1 * ? *)",
                        "@yearly": "cron(0 0 1 1 ? *)", "@once": None}


def schedule_expression(schedule: str | None) -> str | None:
    """The pipeline's schedule as an EventBridge expression (the Step Functions path's rule), or None.

    EventBridge cron has six fields, `?` for the day field it does not use, and counts weekdays from 1
    (Sunday); it cannot say "this day of the month or this weekday", so a schedule restricting both is
    refused when the task list is loaded (`schedule_problem`)."""
    if schedule is None:
        return None
    if schedule.startswith("@"):
        return _EVENTBRIDGE_PRESETS[schedule]
    minute, hour, day, month, weekday = schedule.split()
    if weekday == "*":
        weekday = "?"
    else:
        day = "?" if day == "*" else day
        weekday = re.sub(r"\d+", lambda m: str(int(m.group()) % 7 + 1), weekday)
    return f"cron({minute} {hour} {day} {month} {weekday} *)"


def _cron_field_problem(index: int, text: str) -> str | None:
    """Why one cron field is malformed (a bad step, a value out of range or not a name), or None."""
    low, high = _CRON_RANGES[index]
    names = _CRON_NAMES.get(index, "").split()
    for part in text.split(","):
        base, _, step = part.partition("/")
        if step and not (step.isdigit() and int(step) > 0):
            return f"field {index + 1} ({text!r}): bad step {step!r}"
        if base == "*":
            continue
        for bound in base.split("-", 1):
            if bound.upper() in names:
                continue
            if not bound.isdigit() or not low <= int(bound) <= high:
                return f"field {index + 1} ({text!r}): {bound!r} is outside {low}-{high}"
    return None


def _never_fires_problem(fields: list[str]) -> str | None:
    """Whether a well-formed expression has a next fire time at all; only day-of-month against month can fail.

    A restricted day-of-week always leaves a day: with day-of-month `*` it picks weekdays, which every month
    has, and with both restricted cron fires when either matches (`0 0 30 2 MON` fires on February's Mondays).
    So only a `*` day-of-week can leave day-of-month alone to find no day in any of the months (leap years
    included: February 29 counts)."""
    day_text, month_text, weekday_text = fields[2], fields[3], fields[4]
    if weekday_text != "*":
        return None
    days = _cron_values(2, day_text)
    if any(day <= _MONTH_DAYS[month - 1] for month in _cron_values(3, month_text) for day in days):
        return None
    return f"never fires: no month in {month_text} has a day {day_text}"


def _cron_values(index: int, text: str) -> set[int]:
    """The values a well-formed cron field selects: lists, ranges, steps and names.  A step on a single value
    runs to the field's end (`2/3`), and a reversed range wraps round (`DEC-FEB`), as croniter, Airflow's cron
    parser, reads them."""
    low, high = _CRON_RANGES[index]
    values: set[int] = set()
    for part in text.split(","):
        base, _, step = part.partition("/")
        first, _, last = base.partition("-")
        start = low if base == "*" else _cron_number(index, first)
        end = high if base == "*" or (step and not last) else _cron_number(index, last or first)
        span = [*range(start, end + 1)] if start <= end else [*range(start, high + 1), *range(low, end + 1)]
        values.update(span[:: int(step or 1)])
    return values


def _cron_number(index: int, text: str) -> int:
    """A cron value as a number: JAN is 1 (months count from 1), SUN is 0."""
    names = _CRON_NAMES.get(index, "").split()
    if text.upper() in names:
        return names.index(text.upper()) + (1 if index == 3 else 0)
    return int(text)


def _sources(path: Path, raw: Any) -> tuple[str, tuple[Source, ...]]:
    where = "sources"
    raw = _mapping(path, where, raw, _SOURCES_KEYS)
    schema = _require(path, where, raw, "schema", str)
    tables = _require(path, where, raw, "tables", dict)
    if not tables:
        raise SpecError(f"{path}: {where}: at least one table is required")
    out = []
    for name, props in tables.items():
        if not isinstance(name, str) or not _ID.match(name):
            raise SpecError(f"{path}: {where}: table name {name!r} must be lowercase letters, digits and underscores")
        props = _mapping(path, f"{where}: table {name!r}", props, _TABLE_KEYS)
        key = _require(path, f"{where}: table {name!r}", props, "primary_key", list)
        if not key or not all(isinstance(k, str) and _ID.match(k) for k in key):
            raise SpecError(f"{path}: {where}: table {name!r}: primary_key must list column names")
        out.append(Source(name=name, primary_key=tuple(key)))
    return schema, tuple(out)



def _tasks(path: Path, raw: Any, pipeline: Pipeline) -> tuple[Task, ...]:
    if not isinstance(raw, list) or not raw:
        raise SpecError(f"{path}: tasks: expected a non-empty list of tasks")
    tasks: list[Task] = []
    for index, item in enumerate(raw):
        task = _task(path, index, item, pipeline)
        if any(t.id == task.id for t in tasks):
            raise SpecError(f"{path}: task {task.id!r}: duplicate task id")
        tasks.append(task)
    _check_references(path, tasks)
    return tuple(tasks)


def _task(path: Path, index: int, item: Any, pipeline: Pipeline) -> Task:
    tid = _require(path, f"task #{index + 1}", item, "id", str)
    where = f"task {tid!r}"
    if not _ID.match(tid):
        raise SpecError(f"{path}: {where}: id must be lowercase letters, digits and underscores")
    _refuse_unknown_keys(path, where, item, _TASK_KEYS)
    if tid in RESERVED_IDS:
        raise SpecError(f"{path}: {where}: the id {tid!r} is reserved (the renderers name states and tasks so); "
                        "choose another")
    kind_name = _require(path, where, item, "kind", str)
    kind = KINDS.get(kind_name)
    if kind is None:
        raise SpecError(f"{path}: {where}: unknown task kind {kind_name!r}; known kinds: {', '.join(KINDS)}")
    upstream = item.get("upstream", [])
    if not isinstance(upstream, list) or not all(isinstance(u, str) for u in upstream):
        raise SpecError(f"{path}: {where}: upstream must be a list of task ids")
    map_over = item.get("map_over")
    if map_over is not None and map_over not in MAP_OVER:
        raise SpecError(f"{path}: {where}: map_over must be one of {', '.join(MAP_OVER)}, got {map_over!r}")
    if map_over is not None and not kind.mappable:
        raise SpecError(f"{path}: {where}: a {kind.name} task cannot be mapped over {map_over}")
    raw_args = item.get("args", {})
    if not isinstance(raw_args, dict):
        raise SpecError(f"{path}: {where}: args must be a mapping")
    try:
        args = kind.check_args(raw_args)
    except ValueError as exc:
        raise SpecError(f"{path}: {where}: {exc}") from None
    session = item.get("session")
    if session is not None and session not in kind.session_modes:
        allowed = ", ".join(kind.session_modes) or "none"
        raise SpecError(f"{path}: {where}: session {session!r} is not one a {kind.name} task runs in (allowed: "
                        f"{allowed})")
    return Task(
        id=tid,
        kind=kind.name,
        upstream=tuple(upstream),
        map_over=map_over,
        retries=_optional_int(path, where, item, "retries", pipeline.retries, 0, 10),
        timeout_minutes=_task_timeout(path, where, item, pipeline),
        args=args,
        session=session,
    )


def _task_timeout(path: Path, where: str, item: dict, pipeline: Pipeline) -> int:
    """A task's timeout: at most the run's (a task cannot outlive its run), so the default shrinks with a short
    pipeline timeout instead of refusing a value the author never wrote."""
    limit = pipeline.timeout_minutes
    value = _optional_int(path, where, item, "timeout_minutes", min(_DEFAULT_TASK_TIMEOUT, limit), 1, 24 * 60)
    if value > limit:
        raise SpecError(f"{path}: {where}: 'timeout_minutes' {value} exceeds the pipeline's timeout_minutes "
                        f"({limit}); a task cannot run longer than its run")
    return value


def _check_kinds(spec: Spec) -> None:
    """What a kind requires of its task within the list (beyond its own arguments)."""
    for task in spec.tasks:
        problem = KINDS[task.kind].check_task(task, spec)
        if problem:
            raise SpecError(f"{spec.path}: task {task.id!r}: {problem}")


def _check_references(path: Path, tasks: list[Task]) -> None:
    by_id = {t.id: t for t in tasks}
    for task in tasks:
        for up in task.upstream:
            if up not in by_id:
                raise SpecError(f"{path}: task {task.id!r}: upstream {up!r} is not a task in this list")
            if up == task.id:
                raise SpecError(f"{path}: task {task.id!r}: depends on itself")
        if task.map_over and (not task.upstream or by_id[task.upstream[0]].map_over):
            raise SpecError(
                f"{path}: task {task.id!r}: a task mapped over {task.map_over} needs a first upstream that is not "
                "mapped; it supplies the run's list"
            )


def topological_order(spec: Spec) -> list[Task]:
    """Tasks with every upstream first; a cycle raises SpecError naming its tasks."""
    by_id = {t.id: t for t in spec.tasks}
    order: list[Task] = []
    state: dict[str, str] = {}

    def visit(tid: str, trail: list[str]) -> None:
        if state.get(tid) == "done":
            return
        if state.get(tid) == "active":
            cycle = trail[trail.index(tid):] + [tid]
            raise SpecError(f"{spec.path}: task {tid!r}: dependency cycle {' -> '.join(cycle)}")
        state[tid] = "active"
        for up in by_id[tid].upstream:
            visit(up, trail + [tid])
        state[tid] = "done"
        order.append(by_id[tid])

    for t in spec.tasks:
        visit(t.id, [])
    return order
