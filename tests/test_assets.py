"""Assets: each task's inlets and outlets follow from its kind, the task list and dbt's manifest, and the
downstream DAG is scheduled on the Gold marts."""

from __future__ import annotations

import json

import pytest

from edp import assets
from edp.settings import REPO_ROOT


def test_each_layer_is_written_by_one_task_and_read_by_the_next(spec):
    marts = json.loads((REPO_ROOT / "dags" / assets.ASSETS_FILE).read_text())["gold"]
    io = {t.id: assets.task_datasets(spec, t) for t in spec.tasks}
    names = {tid: ([r.name for r in i], [r.name for r in o]) for tid, (i, o) in io.items()}
    tables = list(spec.table_names)
    assert names["cdc_ingest"] == ([f"source.public.{t}" for t in tables], [f"bronze.{t}" for t in tables])
    silver = [f"silver.{name}" for t in tables for name in (t, f"_tombstones_{t}")]
    assert names["bronze_to_silver"] == ([f"bronze.{t}" for t in tables], silver)
    assert names["dbt_build"][1] == [f"gold.{m}" for m in sorted(marts)] and len(marts) == 3
    # every table, and its tombstones: the incremental marts read them for deleted rows
    assert set(names["dbt_build"][0]) == {f"silver.{name}" for t in tables for name in (t, f"_tombstones_{t}")}
    assert names["serving_load"][1] == [f"serving.serving.{t}" for t in spec.task("serving_load").args["tables"]]
    for tid in ("crawl_silver", "source_freshness", "quality_gate", "publish_artifacts"):
        assert names[tid] == ([], []), tid
    one = assets.task_datasets(spec, spec.task("bronze_to_silver"), table="orders")
    assert [r.uri for r in one[1]] == ["edp://silver/orders", "edp://silver/_tombstones_orders"]


def test_the_dags_declare_them_and_the_gold_consumer_is_scheduled_on_gold(spec):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    dag = bag.dags[spec.pipeline.id]
    outlets = {t.task_id: sorted(a.name for a in t.outlets) for t in dag.tasks if t.outlets}
    assert outlets["dbt_build"] == [a.name for a in assets.gold_assets(spec)]
    assert outlets["bronze_to_silver"] == sorted(f"silver.{n}" for t in spec.table_names for n in (t, f"_tombstones_{t}"))
    assert set(outlets) == {"cdc_ingest", "bronze_to_silver", "dbt_build", "serving_load"}
    consumer = bag.dags[f"{spec.pipeline.id}_on_gold"]
    condition = consumer.timetable.asset_condition  # all of them (AssetAll), not any one
    assert type(condition).__name__ == "AssetAll"
    assert {a.name for a in condition.objects} == {a.name for a in assets.gold_assets(spec)}
    # at max_active_runs an asset-triggered DAG loses the events that arrive meanwhile (apache/airflow#56050)
    assert consumer.max_active_runs > 1


def test_a_bad_assets_file_is_named(tmp_path):
    spec_file = tmp_path / "pipeline.yaml"
    (tmp_path / assets.ASSETS_FILE).write_text('{"gold": ["daily_revenue"]}')
    with pytest.raises(assets.AssetsFileError, match="assets.json: expected"):
        assets.gold_models(str(spec_file))
    (tmp_path / assets.ASSETS_FILE).write_text("{")
    assets.gold_models.cache_clear()
    with pytest.raises(assets.AssetsFileError, match="not JSON"):
        assets.gold_models(str(spec_file))


def test_manifest_marts_are_the_tables_with_their_silver_sources():
    manifest = {"nodes": {
        "model.edp.stg_orders": {"name": "stg_orders", "resource_type": "model", "config": {"materialized": "view"},
                                 "depends_on": {"nodes": ["source.edp.silver.orders"]}},
        "model.edp.rev": {"name": "rev", "resource_type": "model", "config": {"materialized": "table"},
                          "depends_on": {"nodes": ["model.edp.stg_orders", "source.edp.silver.items",
                                                   "source.edp.silver.gone"]}},
        "test.edp.t": {"name": "t", "resource_type": "test", "config": {"materialized": "test"}}},
        "sources": {"source.edp.silver.gone": {"name": "gone", "identifier": "_tombstones_orders"}}}
    # a source that renames its table is named by the table (its identifier)
    assert assets.manifest_gold(manifest) == {"rev": ["_tombstones_orders", "items", "orders"]}


@pytest.mark.integration
def test_assets_file_is_fresh_from_dbts_manifest():
    """dbt parse (no database) against the committed file: a new or renamed mart fails here."""
    from edp_dev import dbt_assets

    assert dbt_assets.is_fresh(), "dags/assets.json is stale: run `edp assets render`"
