"""Session modes: the costly infrastructure a DAG turns on for a while and always turns off again.

`ingestion` (RDS PostgreSQL + DMS) and `serving` (Redshift Serverless) live in each environment's
session root, a Terraform state of their own; the foundation (network, lake, IAM, Glue, MWAA) is never
touched from here. The session's own state is the record of what is on: the stack outputs `session`
(modes, start time, TTL, scale) and publishes the same JSON to an SSM parameter the pipeline reads, so
there is no second bookkeeping store to drift.

Every action is one plan of the whole session root with the wanted modes switched on or off: `up` adds
modes, `down` removes them (all when none are named), `scale` changes knobs of what is on. The plan is
applied through the data-loss guard, so a session can never take a bucket or an unsnapshotted database
with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from edp.environments import TerraformRoot, terraform_root
from edp.settings import ConfigError

MODES = ("ingestion", "serving")
ACTIONS = ("up", "down", "scale")
DMS_INSTANCE_CLASSES = ("dms.t3.micro", "dms.t3.small", "dms.t3.medium", "dms.t3.large", "dms.c5.large",
                        "dms.c5.xlarge", "dms.r5.large", "dms.r5.xlarge")
SCALE_KNOBS = ("dms_instance_class", "glue_workers", "redshift_base_capacity")
DEFAULT_TTL_HOURS = 8
MAX_TTL_HOURS = 72


@dataclass(frozen=True)
class Request:
    action: str
    modes: tuple[str, ...]
    scale: dict[str, Any]
    ttl_hours: float


@dataclass(frozen=True)
class Session:
    """What the session state says is on; `modes` is empty when nothing is."""

    modes: tuple[str, ...] = ()
    started_at: str | None = None
    ttl_hours: float = DEFAULT_TTL_HOURS
    scale: dict[str, Any] = field(default_factory=dict)  # empty: the environment's defaults
    outputs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any]) -> Session:
        record = outputs.get("session") or {}
        if not record.get("modes"):
            return cls(outputs=outputs)
        return cls(modes=tuple(record["modes"]), started_at=record["started_at"], ttl_hours=record["ttl_hours"],
                   scale={k: record["scale"][k] for k in SCALE_KNOBS}, outputs=outputs)

    def expires_at(self) -> datetime | None:
        if not self.started_at:
            return None
        return datetime.fromisoformat(self.started_at) + timedelta(hours=self.ttl_hours)

    def expired(self, now: datetime) -> bool:
        expiry = self.expires_at()
        return expiry is not None and now >= expiry


def request_from_params(params: dict[str, Any]) -> Request:
    """The trigger form's values, checked again here (the API and CLI do not go through the form)."""
    action = params.get("action")
    if action not in ACTIONS:
        raise ConfigError(f"param action={action!r} is not one of {', '.join(ACTIONS)}")
    modes = params.get("modes") or []
    if not isinstance(modes, list) or any(m not in MODES for m in modes):
        raise ConfigError(f"param modes={modes!r} must list session modes among {', '.join(MODES)}")
    if action == "up" and not modes:
        raise ConfigError("action up needs at least one mode in param modes")
    scale = {k: params[k] for k in SCALE_KNOBS if params.get(k) is not None}
    _check_scale(scale)
    ttl = params.get("ttl_hours", DEFAULT_TTL_HOURS)
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl <= MAX_TTL_HOURS:
        raise ConfigError(f"param ttl_hours={ttl!r} must be a number of hours in (0, {MAX_TTL_HOURS}]")
    ordered = tuple(m for m in MODES if m in modes)
    return Request(action=action, modes=ordered, scale=scale, ttl_hours=float(ttl))


def _check_scale(scale: dict[str, Any]) -> None:
    dms = scale.get("dms_instance_class")
    if dms is not None and dms not in DMS_INSTANCE_CLASSES:
        raise ConfigError(f"param dms_instance_class={dms!r} is not one of {', '.join(DMS_INSTANCE_CLASSES)}")
    workers = scale.get("glue_workers")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or not 2 <= workers <= 100):
        raise ConfigError(f"param glue_workers={workers!r} must be a whole number from 2 to 100")
    rpu = scale.get("redshift_base_capacity")
    if rpu is not None and (isinstance(rpu, bool) or not isinstance(rpu, int) or not 8 <= rpu <= 512 or rpu % 8):
        raise ConfigError(f"param redshift_base_capacity={rpu!r} must be a multiple of 8 from 8 to 512 (RPUs)")


def next_session(request: Request, current: Session, now: datetime) -> dict[str, Any]:
    """The session root's `session` variable after `request` (what Terraform should make true)."""
    if request.action == "up":
        modes = set(current.modes) | set(request.modes)
    elif request.action == "down":
        modes = set(current.modes) - set(request.modes or MODES)
    else:
        if not current.modes:
            raise ConfigError("action scale needs a session that is up; start one with action up")
        modes = set(current.modes)
    ordered = [m for m in MODES if m in modes]
    if not ordered:
        return {"modes": []}
    started = current.started_at if current.modes else now.astimezone(UTC).isoformat(timespec="seconds")
    ttl = request.ttl_hours if request.action == "up" else current.ttl_hours
    return {"modes": ordered, "started_at": started, "ttl_hours": ttl, **{**current.scale, **request.scale}}


def read(root: TerraformRoot, echo=None) -> Session:
    runner = root.runner(echo)
    root.init(runner)
    return Session.from_outputs(runner.output())


def prepare(params: dict[str, Any], environment: str, now: datetime | None = None, echo=None) -> dict[str, Any]:
    """Everything the Terraform task needs for the triggered action, as XCom-friendly values."""
    request = request_from_params(params)
    root = terraform_root(environment, "session")
    current = read(root, echo)
    wanted = next_session(request, current, now or datetime.now(UTC))
    return _terraform_args(root, wanted, summary=f"{request.action}: {list(current.modes)} -> {wanted['modes']}")


def expired(environment: str, now: datetime | None = None, echo=None) -> bool:
    """True when a session is up and older than its TTL (the sweep then tears it down)."""
    current = read(terraform_root(environment, "session"), echo)
    return current.expired(now or datetime.now(UTC))


def _terraform_args(root: TerraformRoot, wanted: dict[str, Any], summary: str) -> dict[str, Any]:
    return {
        "working_dir": str(root.working_dir),
        "backend_config": root.backend_config,
        "backend_config_files": list(root.backend_config_files),
        "var_files": list(root.var_files),
        "env": root.runner_env,
        "plan_file": root.plan_file,
        "variables": {**root.variables, "request": wanted},
        "summary": summary,
    }


def parameter_name(environment: str) -> str:
    """The SSM parameter the session stack publishes to (`/<name prefix>/session`, the prefix `edp-<env>`)."""
    from edp.environments import parameter_name as layer_parameter

    return layer_parameter(environment, "session")


def report(outputs: dict[str, Any], environment: str) -> dict[str, Any]:
    """After an apply: what is on, checked against what the pipeline will read (the SSM parameter)."""
    session = Session.from_outputs(outputs)
    seen = published(environment)
    if session.modes and (seen or {}).get("modes") != list(session.modes):
        raise RuntimeError(f"session is {list(session.modes)} but the pipeline sees {seen!r} at "
                           f"{parameter_name(environment)}")
    if not session.modes and seen is not None:
        raise RuntimeError(f"no mode is on, yet {parameter_name(environment)} still holds {seen!r}")
    return {"modes": list(session.modes), "expires_at": str(session.expires_at()), "published": seen}


def published(environment: str) -> dict[str, Any] | None:
    """The session outputs as the pipeline sees them (the SSM parameter), or None when no session is up."""
    from edp.environments import published_outputs

    return published_outputs(environment, "session")
