"""The names the aws target runs against, read from what the Terraform layers publish.

Workers never hold a resource name of their own: the foundation publishes its outputs to
`/edp-<env>/foundation` and a running session to `/edp-<env>/session` (SSM), and every aws task
reads them here when it runs.  A missing name is a setting problem a retry cannot fix, so it is a
`PermanentError` that says which layer to apply or which mode to turn on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from edp.environments import parameter_name, published_outputs, resolve_environment
from edp.settings import PermanentError

AWS_CONN_ID = "aws_default"


def aws_conn_id() -> str:
    """The Airflow connection the provider's operators use (MWAA: the execution role; tests: the emulator)."""
    return os.environ.get("EDP_AWS_CONN_ID", AWS_CONN_ID)


def poll_seconds(default: int = 30) -> int:
    """How often waits poll AWS: the Step Functions definition's interval unless EDP_AWS_POLL_SECONDS says."""
    return int(os.environ.get("EDP_AWS_POLL_SECONDS", default))


@dataclass(frozen=True)
class Platform:
    environment: str
    foundation: dict[str, Any]
    session: dict[str, Any] | None

    @classmethod
    def load(cls, environment: str | None = None) -> Platform:
        environment = resolve_environment(environment)
        foundation = published_outputs(environment, "foundation")
        if not foundation:
            raise PermanentError(f"the {environment} foundation is not published at "
                                 f"{parameter_name(environment, 'foundation')}: apply it first "
                                 f"(`edp infra apply --environment {environment}`)")
        return cls(environment, foundation, published_outputs(environment, "session"))

    def _name(self, *path: str) -> Any:
        value: Any = self.foundation
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value in (None, "", [], {}):
            raise PermanentError(f"the {self.environment} foundation publishes no {'.'.join(path)}; "
                                 "re-apply the foundation")
        return value

    @property
    def name_prefix(self) -> str:
        """The prefix of every resource name (`edp-<environment>` unless the foundation publishes another)."""
        return self.foundation.get("name_prefix") or f"edp-{self.environment}"

    def task_resource(self, task_id: str) -> str:
        """The name of a task's own resource (its Glue job or crawler), as Terraform names it."""
        from edp.kinds.base import resource_name

        return resource_name(self.name_prefix, task_id)

    def bucket(self, role: str) -> str:
        return self._name("bucket_names", role)

    @property
    def ecs(self) -> dict[str, Any]:
        return self._name("ecs")

    @property
    def alarm_topic(self) -> str:
        return self._name("alarm_topic_arn")

    @property
    def dms_ids(self) -> dict[str, str]:
        return self._name("dms")

    def session_value(self, key: str, mode: str = "ingestion") -> Any:
        """A value of the running session; the mode that provides it must be on."""
        value = (self.session or {}).get(key)
        if value is None:
            raise PermanentError(f"no {mode} session is on in {self.environment} ({parameter_name(self.environment, 'session')} "
                                 f"has no {key}): trigger the run with refresh_source, or turn it on with edp_session")
        return value

    @property
    def dms_task_arn(self) -> str:
        return self.session_value("dms_replication_task_arn")

    @property
    def glue_workers(self) -> int | None:
        return ((self.session or {}).get("scale") or {}).get("glue_workers")


class Names:
    """The names templated operator fields read when a task runs (`{{ edp.glue_job('bronze_to_silver') }}`):
    the DAG declares the real provider operators at parse time, with no I/O, and the names come from the
    published outputs only when a task's fields are rendered on a worker."""

    def __init__(self, spec_path: str):
        self.spec_path = spec_path
        self._platform: Platform | None = None

    @property
    def platform(self) -> Platform:
        if self._platform is None:
            self._platform = Platform.load()
        return self._platform

    def _task(self, task_id: str):
        from edp.runtime import cached_spec

        return cached_spec(self.spec_path).task(task_id)

    def glue_job(self, task_id: str) -> str:
        return self.platform.task_resource(task_id)

    def crawler(self, task_id: str) -> str:
        return self.platform.task_resource(task_id)

    def glue_workers(self, task_id: str) -> int:
        """The running session's scale knob, else the task's own `workers`."""
        return int(self.platform.glue_workers or self._task(task_id).args["workers"])

    def ecs(self, key: str) -> Any:
        return self.platform.ecs[key]

    def serving(self, key: str) -> Any:
        """A name of the running serving mode (its Redshift workgroup, database)."""
        return self.platform.session_value("serving", "serving")[key]

    def serving_sql(self, task_id: str) -> list[str]:
        from edp.kinds.serving_load import load_statements

        task = self._task(task_id)
        gold = self.platform.foundation["glue_database_names"]["gold"]
        return load_statements(task.args["tables"], task.args["schema"], gold)

    def dbt_command(self, task_id: str, full_refresh: bool) -> list[str]:
        from edp.aws import calls

        return calls.dbt_command(self._task(task_id), full_refresh)
