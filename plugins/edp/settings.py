"""Where things live, resolved in one place so DAGs and scripts never branch on it inline.

`target` is `local` (embedded engines on this machine) or `aws` (managed
services).  The local target keeps all of its state under one ignored folder,
`.edp/` in the repo root unless EDP_HOME says otherwise, so a run can be
inspected, resumed or wiped with one `rm -r`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TARGETS = ("local", "aws")
REPO_ROOT = Path(__file__).resolve().parents[2]


class PermanentError(Exception):
    """A failure that retrying cannot fix; a task fails at once with the reason instead of retrying."""


class ConfigError(ValueError, PermanentError):
    """A setting that names something unknown; the message says which and what is allowed."""


def resolve_target(value: str | None = None) -> str:
    """The deployment's target: given, else an Airflow Variable `EDP_TARGET` set through the environment
    (`AIRFLOW_VAR_EDP_TARGET`; a Variable in the metadata DB would be I/O at DAG parse), else EDP_TARGET, which
    MWAA's startup script exports, else `local`."""
    target = value or os.environ.get("AIRFLOW_VAR_EDP_TARGET") or os.environ.get("EDP_TARGET", "local")
    if target not in TARGETS:
        raise ConfigError(f"unknown target {target!r}; use one of {', '.join(TARGETS)}")
    return target


@dataclass(frozen=True)
class LocalPaths:
    """Folders of the local target; each mirrors an AWS location named alongside."""

    root: Path

    @property
    def pg(self) -> Path:  # the embedded source database (RDS PostgreSQL)
        return self.root / "pg"

    @property
    def bronze(self) -> Path:  # s3://<bronze bucket>/ written by DMS
        return self.root / "lake" / "bronze"

    @property
    def silver(self) -> Path:  # s3://<silver bucket>/ written by Glue
        return self.root / "lake" / "silver"

    @property
    def catalog(self) -> Path:  # the Glue Data Catalog, refreshed by crawlers
        return self.root / "catalog"

    @property
    def warehouse(self) -> Path:  # Athena's Gold tables, built by dbt
        return self.root / "warehouse"

    @property
    def artifacts(self) -> Path:  # s3://<artifacts bucket>/runs/<run id>/
        return self.root / "artifacts"

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def dbt_target(self) -> Path:
        return self.root / "dbt" / "target"


def local_paths() -> LocalPaths:
    return LocalPaths(Path(os.environ.get("EDP_HOME", REPO_ROOT / ".edp")).resolve())


def dbt_project_dir() -> Path:
    return REPO_ROOT / "dbt"


def glue_scripts_dir() -> Path:
    return REPO_ROOT / "glue_scripts"


def dags_dir() -> Path:
    return REPO_ROOT / "dags"
