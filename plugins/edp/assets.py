"""The pipeline's data as Airflow Assets, and the same datasets named for lineage: source tables, Bronze,
Silver, Gold marts and the serving tables, each declared by the task that reads or writes it.

Names are derived, never written by hand: the source tables from the task list, the Gold marts from dbt's
manifest (`dags/assets.json`, which `edp assets render` writes from it; a test keeps it fresh, as the Step
Functions definition is kept). Which task touches which layer follows from its kind:

  cdc_ingest                  reads the source tables, writes Bronze
  glue_job mapped over tables reads Bronze, writes Silver (one table per mapped run)
  dbt (build or run)          reads Silver, writes the Gold marts it selects
  serving_load                reads the Gold marts it names, writes the serving tables

Reading assets.json is the only file the DAG reads besides the task list (a few hundred bytes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edp.spec import Spec, Task

ASSETS_FILE = "assets.json"
URI_SCHEME = "edp"
BUILDS_MODELS = ("build", "run")
# the Bronze->Silver merge's table of deleted keys with their rows' last values, beside each Silver table
# (glue_scripts/bronze_to_silver.py's TOMBSTONES_PREFIX; a test asserts they agree)
TOMBSTONES_PREFIX = "_tombstones_"


class AssetsFileError(ValueError):
    """dags/assets.json is missing or not what `edp assets render` writes."""


@dataclass(frozen=True, order=True)
class DataRef:
    """One dataset of the pipeline: its layer and table (the source's and serving's tables carry their schema)."""

    layer: str
    table: str

    @property
    def name(self) -> str:
        return f"{self.layer}.{self.table}"

    @property
    def uri(self) -> str:
        return f"{URI_SCHEME}://{self.layer}/{self.table}"


@lru_cache(maxsize=8)
def gold_models(spec_path: str) -> dict[str, list[str]]:
    """Gold mart -> the Silver tables it reads, from the assets file beside the task list, else the one in
    dags/ (a task list elsewhere, a team's or a test's, runs the same dbt project)."""
    from edp.spec import default_spec_path

    path = Path(spec_path).with_name(ASSETS_FILE)
    if not path.exists():
        path = default_spec_path().with_name(ASSETS_FILE)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise AssetsFileError(f"{path} is missing: `edp assets render` writes it from dbt's manifest") from None
    except ValueError as exc:
        raise AssetsFileError(f"{path}: not JSON ({exc}); `edp assets render` rewrites it") from None
    gold = raw.get("gold") if isinstance(raw, dict) else None
    if not isinstance(gold, dict) or not all(isinstance(v, list) for v in gold.values()):
        raise AssetsFileError(f"{path}: expected {{'gold': {{mart: [silver tables]}}}}; `edp assets render` rewrites it")
    return gold


def _selected(task: Task, marts: dict[str, list[str]]) -> list[str]:
    """The marts a dbt task builds: all for an empty select, else those its select names (dbt's selector
    grammar is dbt's; a select naming no mart declares none)."""
    select = (task.args.get("select") or "").replace("+", " ").replace(",", " ").split()
    return sorted(marts) if not select else sorted(m for m in marts if m in select)


def task_datasets(spec: Spec, task: Task, table: str | None = None) -> tuple[list[DataRef], list[DataRef]]:
    """(inputs, outputs) of one task; a mapped task's for one table, or for every table when none is given."""
    tables = [table] if table else list(spec.table_names)
    if task.kind == "cdc_ingest":
        return ([DataRef("source", f"{spec.source_schema}.{t}") for t in spec.table_names],
                [DataRef("bronze", t) for t in spec.table_names])
    if task.kind == "glue_job" and task.map_over == "tables":  # each table and its tombstones (deleted rows)
        return ([DataRef("bronze", t) for t in tables],
                [DataRef("silver", name) for t in tables for name in (t, TOMBSTONES_PREFIX + t)])
    if task.kind == "dbt" and task.args.get("command") in BUILDS_MODELS:
        marts = gold_models(str(spec.path))
        built = _selected(task, marts)
        reads = sorted({s for m in built for s in marts[m]})
        return [DataRef("silver", t) for t in reads], [DataRef("gold", m) for m in built]
    if task.kind == "serving_load":
        schema = task.args.get("schema", "serving")
        return ([DataRef("gold", t) for t in task.args.get("tables", ())],
                [DataRef("serving", f"{schema}.{t}") for t in task.args.get("tables", ())])
    return [], []


def asset(ref: DataRef) -> Any:
    from airflow.sdk import Asset

    return Asset(name=ref.name, uri=ref.uri, group=ref.layer)


def task_assets(spec: Spec, task: Task) -> dict[str, list[Any]]:
    """`inlets` and `outlets` of a task's operator, as Airflow Assets."""
    inputs, outputs = task_datasets(spec, task)
    return {"inlets": [asset(r) for r in inputs], "outlets": [asset(r) for r in outputs]}


def gold_assets(spec: Spec) -> list[Any]:
    """Every Gold mart some task of the list builds: what a downstream DAG is scheduled on."""
    refs = {r for task in spec.tasks for r in task_datasets(spec, task)[1] if r.layer == "gold"}
    return [asset(r) for r in sorted(refs)]


def manifest_gold(manifest: dict) -> dict[str, list[str]]:
    """From dbt's manifest: each mart (a model dbt materialises as a table) and the Silver tables it reads,
    through the staging views."""
    nodes = manifest.get("nodes", {})
    sources = manifest.get("sources", {})

    def sources_of(uid: str, seen: set[str]) -> set[str]:
        if uid in seen:
            return set()
        seen.add(uid)
        out = set()
        for dep in nodes.get(uid, {}).get("depends_on", {}).get("nodes", []):
            if dep.startswith("source."):  # the table's name in the catalog (a source may rename it)
                out.add(sources.get(dep, {}).get("identifier") or dep.split(".")[-1])
            elif dep in nodes:
                out |= sources_of(dep, seen)
        return out

    return {node["name"]: sorted(sources_of(uid, set())) for uid, node in sorted(nodes.items())
            if node.get("resource_type") == "model"
            and node.get("config", {}).get("materialized") in ("table", "incremental")}
