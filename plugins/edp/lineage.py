"""OpenLineage for the pipeline's tasks: the datasets each task reads and writes, named as OpenLineage names
them, emitted through the OpenLineage provider.

The provider's listener emits a START and a COMPLETE (or FAIL) event for every task; what an event says a
task read and wrote comes from an extractor. The amazon provider's operators bring their own where they have
one; `TaskListExtractor` (configured as `[openlineage] extractors`) covers the pipeline's tasks on the local
target, which are TaskFlow tasks: it looks the task up in the task list and names its datasets from
`edp.assets.task_datasets`, so the chain is PostgreSQL tables → Bronze → Silver → Gold → serving.

Naming follows OpenLineage's conventions, per target (`Locations`): a PostgreSQL table is
`postgres://host:port` + `db.schema.table` on both targets; Bronze and Silver are object prefixes
(`s3://bucket` + `schema/table` on AWS, `file` + the folder locally); Gold is an Athena table on AWS
(`awsathena://athena.<region>.amazonaws.com` + `catalog.database.table`) and a DuckDB table locally; serving
is Redshift on AWS and a PostgreSQL schema locally.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from airflow.providers.openlineage.extractors.base import BaseExtractor, OperatorLineage

from edp.assets import DataRef, task_datasets

log = logging.getLogger(__name__)

# target -> "module:function" returning its Locations (the local target's lives in edp_dev)
LOCATIONS = {"local": "edp_dev.local.lineage:locations"}


@dataclass(frozen=True)
class Locations:
    """Where each layer lives, as OpenLineage namespaces and name prefixes."""

    source: tuple[str, str]   # ("postgres://host:port", "database")
    bronze: tuple[str, str]   # ("s3://bucket" or "file", path prefix without a trailing slash)
    silver: tuple[str, str]
    gold: tuple[str, str]     # (namespace, "catalog.database")
    serving: tuple[str, str]  # (namespace, "database")

    def dataset(self, ref: DataRef) -> tuple[str, str]:
        """(namespace, name) of one of the pipeline's datasets: a table under its database, a layer's table as a
        path under the layer's prefix (Bronze's prefix includes the source schema, DMS's layout)."""
        namespace, base = getattr(self, ref.layer)
        if ref.layer in ("source", "serving", "gold"):
            return namespace, f"{base}.{ref.table}"
        return namespace, f"{base.rstrip('/')}/{ref.table}" if base else ref.table


@lru_cache(maxsize=4)
def locations(target: str) -> Locations:
    module, _, name = LOCATIONS[target].partition(":")
    return getattr(importlib.import_module(module), name)()


def ol_datasets(refs: list[DataRef], where: Locations) -> list[Any]:
    from openlineage.client.event_v2 import Dataset

    return [Dataset(namespace=ns, name=name) for ns, name in (where.dataset(r) for r in refs)]


class TaskListExtractor(BaseExtractor):
    """The datasets of a pipeline task on the local target, from the task list: the TaskFlow operator that
    runs it says nothing itself. Any other TaskFlow task (check_params, a session step, another DAG's) gets
    no datasets, and the provider falls back to its inlets and outlets."""

    @classmethod
    def get_operator_classnames(cls) -> list[str]:
        return ["_PythonDecoratedOperator"]

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
            item = (getattr(self.operator, "op_kwargs", None) or {}).get("item")
            table = item.get("table") if isinstance(item, dict) else None
            inputs, outputs = task_datasets(spec, task, table=table)
            where = locations(target)
            return OperatorLineage(inputs=ol_datasets(inputs, where), outputs=ol_datasets(outputs, where))
        except Exception as exc:  # noqa: BLE001 - lineage must never fail a task
            log.warning("edp lineage: no datasets for %s: %s", getattr(self.operator, "task_id", "?"), exc)
            return OperatorLineage()
