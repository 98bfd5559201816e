"""OpenLineage for the pipeline's tasks: the datasets each task reads and writes, named as OpenLineage names
them, emitted through the OpenLineage provider.

The provider's listener emits a START and a COMPLETE (or FAIL) event for every task; what an event says a
task read and wrote comes from an extractor. The amazon provider's operators bring their own where they have
one (Athena's); `TaskListExtractor` (configured as `[openlineage] extractors`) covers the pipeline's other
tasks, the local target's TaskFlow tasks and, on aws, the Glue job, crawler, ECS (dbt), DMS (cdc_ingest) and
serving operators: it looks the task up in the task list and names its datasets from `edp.assets` (plus the
tables a crawler reads), so the chain is PostgreSQL tables → Bronze → Silver → Gold → serving.

Naming follows OpenLineage's conventions, per target (`Locations`; aws: `edp.aws.lineage`): a PostgreSQL
table is `postgres://host:port` + `db.schema.table` on both targets; Bronze is an object prefix
(`s3://bucket` + `schema/table` on AWS, `file` + the folder/`schema/table` locally); Silver is a folder locally
and, on AWS, the Iceberg table in the Glue Data Catalog as Athena names it
(`awsathena://athena.<region>.amazonaws.com` + `AwsDataCatalog.database.table`), which is what dbt reads there;
Gold is an Athena table on AWS and a DuckDB table locally; serving is Redshift on AWS and a PostgreSQL schema
locally.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from airflow.providers.openlineage.extractors.base import BaseExtractor, OperatorLineage

from edp.assets import DataRef, gold_models, task_datasets

if TYPE_CHECKING:
    from edp.spec import Spec, Task

log = logging.getLogger(__name__)

# target -> "module:function" returning its Locations (the local target's lives in edp_dev)
LOCATIONS = {"local": "edp_dev.local.lineage:locations", "aws": "edp.aws.lineage:locations"}
# the operator classes whose datasets come from the task list: the local target's TaskFlow tasks, and on aws
# the operators that emit none of their own (Athena's and the provider's S3 operators do; they are left alone)
OPERATOR_CLASSES = ("_PythonDecoratedOperator", "GlueJobOperator", "GlueCrawlerOperator", "EcsRunTaskOperator",
                    "CdcIngestOperator", "ServingLoadOperator")
PATH_NAMESPACES = ("file", "s3://")  # a layer kept as objects: its tables are paths under its prefix


class LineageError(ValueError):
    """A dataset whose location this deployment does not know (e.g. a session that is off)."""


@dataclass(frozen=True)
class Locations:
    """Where each layer lives, as OpenLineage namespaces and name prefixes; None where it is not known."""

    source: tuple[str, str] | None   # ("postgres://host:port", "database")
    bronze: tuple[str, str] | None   # ("s3://bucket" or "file", path prefix without a trailing slash)
    silver: tuple[str, str] | None   # a prefix as Bronze's, or (a table namespace, "catalog.database")
    gold: tuple[str, str] | None     # (namespace, "catalog.database")
    serving: tuple[str, str] | None  # (namespace, "database")

    def dataset(self, ref: DataRef) -> tuple[str, str]:
        """(namespace, name) of one of the pipeline's datasets: a layer kept as objects names its table as a path
        under the layer's prefix (Bronze's prefix includes the source schema, DMS's layout); a database names
        it under the database."""
        where = getattr(self, ref.layer)
        if where is None:
            raise LineageError(f"no location for the {ref.layer} layer here, so no name for {ref.name}")
        namespace, base = where
        if namespace.startswith(PATH_NAMESPACES):
            return namespace, f"{base.rstrip('/')}/{ref.table}" if base else ref.table
        return namespace, f"{base}.{ref.table}"


def lineage_datasets(spec: Spec, task: Task, table: str | None = None) -> tuple[list[DataRef], list[DataRef]]:
    """(inputs, outputs) of a task for lineage: its Assets' datasets (`edp.assets.task_datasets`) and what a
    crawler reads, the tables of the layer it catalogues (not an Asset: it changes no data)."""
    if task.kind == "glue_crawler":
        layer = task.args.get("layer", "silver")
        names = sorted(gold_models(str(spec.path))) if layer == "gold" else list(spec.table_names)
        return [DataRef(layer, t) for t in names], []
    return task_datasets(spec, task, table=table)


def mapped_table(operator: Any) -> str | None:
    """The table one mapped run of a task handles: a local task's item, an aws Glue job run's --table."""
    item = (getattr(operator, "op_kwargs", None) or {}).get("item")
    if isinstance(item, dict) and item.get("table"):
        return str(item["table"])
    table = (getattr(operator, "script_args", None) or {}).get("--table")
    return str(table) if isinstance(table, str) and table else None


@lru_cache(maxsize=4)
def locations(target: str) -> Locations:
    module, _, name = LOCATIONS[target].partition(":")
    return getattr(importlib.import_module(module), name)()


def ol_datasets(refs: list[DataRef], where: Locations) -> list[Any]:
    from openlineage.client.event_v2 import Dataset

    return [Dataset(namespace=ns, name=name) for ns, name in (where.dataset(r) for r in refs)]


class TaskListExtractor(BaseExtractor):
    """The datasets of a pipeline task, from the task list: on the local target the TaskFlow operator that
    runs it says nothing itself, and on aws neither do the Glue, crawler, ECS, DMS (ours) and serving
    operators. Any other task of those classes (check_params, a session step, another DAG's) gets no
    datasets, and the provider falls back to its inlets and outlets."""

    @classmethod
    def get_operator_classnames(cls) -> list[str]:
        return list(OPERATOR_CLASSES)

    def _execute_extraction(self) -> OperatorLineage:
        return self._lineage(None)

    def extract_on_complete(self, task_instance) -> OperatorLineage:
        return self._lineage(task_instance)

    def _lineage(self, task_instance) -> OperatorLineage:
        from edp.runtime import cached_spec
        from edp.settings import resolve_target
        from edp.spec import default_spec_path

        try:
            spec = cached_spec(os.environ.get("EDP_TASK_LIST") or str(default_spec_path()))
            target = resolve_target()
            if self.operator.dag_id != spec.pipeline.id or target not in LOCATIONS:
                return OperatorLineage()
            task = next((t for t in spec.tasks if t.id == self.operator.task_id), None)
            if task is None:
                return OperatorLineage()
            inputs, outputs = lineage_datasets(spec, task, table=mapped_table(self.operator))
            where = locations(target)
            return OperatorLineage(inputs=ol_datasets(inputs, where), outputs=ol_datasets(outputs, where))
        except Exception as exc:  # noqa: BLE001 - lineage must never fail a task
            log.warning("edp lineage: no datasets for %s: %s", getattr(self.operator, "task_id", "?"), exc)
            return OperatorLineage()
