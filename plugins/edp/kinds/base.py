"""What every task kind declares: its typed arguments, and its renderings (Airflow operator per target,
Step Functions states, the resources Terraform creates for it).

A kind is one module under `edp.kinds` holding one `Kind` subclass; the registry (`edp.kinds.KINDS`) maps
kind names to them, and the renderers ask the kind instead of branching on kind strings. Nothing here
imports Airflow: the task list is validated at DAG parse and by `edp spec validate` without it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from edp.spec import Spec, Task

REQUIRED: Any = object()  # an argument without a default must be given


@dataclass(frozen=True)
class Arg:
    """One argument of a kind: its type (str, int, bool, list of str), default, allowed values and range."""

    name: str
    type: type
    doc: str
    default: Any = REQUIRED
    choices: tuple[Any, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None

    def check(self, value: Any) -> Any:
        """The value if it fits, else ValueError naming what is wrong (the caller adds file, task and key)."""
        if self.type is list:
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise ValueError(f"must be a list of strings, got {value!r}")
            bad = [v for v in value if self.pattern and not re.fullmatch(self.pattern, v)]
            if bad:
                raise ValueError(f"items must match {self.pattern}, got {', '.join(map(repr, bad))}")
            return tuple(value)
        if not isinstance(value, self.type) or (self.type is int and isinstance(value, bool)):
            raise ValueError(f"must be {_TYPE_NAMES[self.type]}, got {value!r}")
        checked: Any = value
        if self.choices and checked not in self.choices:
            raise ValueError(f"must be one of {', '.join(map(str, self.choices))}, got {checked!r}")
        if (self.minimum is not None and checked < self.minimum) or (self.maximum is not None and checked > self.maximum):
            raise ValueError(f"must be from {self.minimum} to {self.maximum}, got {checked!r}")
        if self.pattern and not re.fullmatch(self.pattern, checked):
            raise ValueError(f"must match {self.pattern}, got {checked!r}")
        return checked

    def describe(self) -> str:
        """One line for the README's table of kinds."""
        parts = [_TYPE_NAMES[self.type]]
        if self.choices:
            parts.append("one of " + ", ".join(f"`{c}`" for c in self.choices))
        if self.minimum is not None:
            parts.append(f"{self.minimum}–{self.maximum}")
        shown = list(self.default) if isinstance(self.default, tuple) else self.default
        default = "required" if self.default is REQUIRED else f"default `{shown}`"
        return f"`{self.name}` ({'; '.join(parts)}; {default}): {self.doc}"


_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", list: "a list of strings"}


class Kind:
    """A task kind. Subclasses set the class attributes and implement the renderings they support."""

    name: ClassVar[str]
    doc: ClassVar[str]
    args: ClassVar[tuple[Arg, ...]] = ()
    mappable: ClassVar[bool] = False            # may map over the run's tables (one run per table)
    session_modes: ClassVar[tuple[str, ...]] = ()  # session modes a task of this kind may declare
    local_executor: ClassVar[str] = ""          # the local target's function, "module:function" (edp_dev)

    def check_args(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Typed arguments with defaults filled; ValueError("'key': problem") for an unknown or ill-typed one."""
        known = {a.name: a for a in self.args}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            allowed = ", ".join(known) or "none"
            raise ValueError(f"unknown argument(s) {', '.join(unknown)} for kind {self.name!r}; allowed: {allowed}")
        out = {}
        for arg in self.args:
            if arg.name not in raw:
                if arg.default is REQUIRED:
                    raise ValueError(f"argument {arg.name!r} is required for kind {self.name!r}")
                out[arg.name] = arg.default
                continue
            try:
                out[arg.name] = arg.check(raw[arg.name])
            except ValueError as exc:
                raise ValueError(f"argument {arg.name!r} {exc}") from None
        return out

    def check_task(self, task: Task, spec: Spec) -> str | None:
        """A problem of the task within its list (beyond its arguments), or None."""
        return None

    def check_files(self, task: Task) -> str | None:
        """A file the task needs that is missing (checked by `edp spec validate`, not at DAG parse, which reads
        nothing but the task list), or None."""
        return None

    def resources(self, task: Task, spec: Spec) -> dict[str, Any] | None:
        """What Terraform creates for this task (written to the resources file), or None."""
        return None

    def asl(self, task: Task, ctx: AslContext) -> dict[str, Any]:
        """The task's Step Functions states: the entry state is named `task.id`, every exit goes to `ctx.next`."""
        raise NotImplementedError(f"kind {self.name!r} has no Step Functions rendering")

    def aws_operator(self, task: Task, ctx: DagContext) -> Any:
        """The task on the aws target: the amazon provider's operator (or ours, shaped like it)."""
        raise NotImplementedError(f"kind {self.name!r} has no aws rendering")


def resource_name(prefix: str, task_id: str) -> str:
    """The name of a task's own AWS resource (Glue job, crawler...): one derivation for Terraform, the ASL and
    the Airflow operators."""
    return f"{prefix}-{task_id.replace('_', '-')}"


@dataclass
class AslContext:
    """What a kind's Step Functions states need from the renderer."""

    spec: Spec
    next: str                                   # the state after the task
    failed: str                                 # the failure state every Catch goes to
    placeholder: Callable[[str], str]           # a templatefile() variable of the definition
    retry: Callable[[Task], list[dict]]
    catch: Callable[[], list[dict]]
    poll_seconds: int = 30
    notes: list[str] = field(default_factory=list)

    def step(self, task: Task, name: str) -> str:
        return f"{task.id}:{name}"


@dataclass
class DagContext:
    """What a kind's Airflow rendering needs from the DAG factory."""

    spec: Spec
    target: str
    operators: dict[str, Any]                   # task id -> operator (or XComArg) rendered so far
    local_task: Callable[[Task], Any]           # the local target's rendering of any task
    check: Any = None                           # the run's first task: its outputs are the run's tables

    @staticmethod
    def name(expression: str) -> str:
        """A templated field read from the published outputs when the task runs (`edp.aws.names.Names`); the
        DAG renders templates as native objects, so a list stays a list."""
        return "{{ edp." + expression + " }}"

    def task_kwargs(self, task: Task) -> dict[str, Any]:
        """What every operator of a task gets from the task list: retries, timeout, a description, and the
        Assets it reads and writes (`edp.assets`)."""
        from datetime import timedelta

        from edp.assets import task_assets

        return {"retries": task.retries, "execution_timeout": timedelta(minutes=task.timeout_minutes),
                "doc_md": f"Task kind `{task.kind}`; arguments: `{task.args}`.", **task_assets(self.spec, task)}

    def tables_of(self, task: Task) -> Any:
        """What a mapped task expands over: the Glue job arguments of each table the run selected."""
        from edp.dag_factory import glue_arguments_of

        return self.check.map(glue_arguments_of)
