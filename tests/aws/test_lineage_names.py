"""The aws target's OpenLineage dataset names (edp.aws.lineage): each task's datasets named from one
deployment's published outputs, the same names (and the same relative paths) as the local target's where the
storage allows, and the extractor naming them for the provider's operators (Glue job, crawler, ECS, our DMS)."""

from __future__ import annotations

import pytest

from edp import lineage
from edp.aws.lineage import aws_locations
from edp.aws.names import Platform
from edp.lineage import LineageError, Locations, lineage_datasets

REGION = "eu-central-1"
ATHENA = f"awsathena://athena.{REGION}.amazonaws.com"
FOUNDATION = {"name_prefix": "edp-dev", "bucket_names": {"bronze": "edp-dev-bronze", "silver": "edp-dev-silver"},
              "glue_database_names": {"bronze": "edp_dev_bronze", "silver": "edp_dev_silver", "gold": "edp_dev_gold"}}
SESSION = {"ingestion": {"db_address": "edp-dev-source.abc.eu-central-1.rds.amazonaws.com", "db_port": 5432,
                         "db_name": "shop"},
           "serving": {"endpoint_address": "edp-dev.123456789012.eu-central-1.redshift-serverless.amazonaws.com",
                       "endpoint_port": 5439, "database_name": "dev"}}
POSTGRES = "postgres://edp-dev-source.abc.eu-central-1.rds.amazonaws.com:5432"
REDSHIFT = "redshift://edp-dev.123456789012.eu-central-1.redshift-serverless.amazonaws.com:5439"


def dev_locations() -> Locations:
    return aws_locations(Platform("dev", FOUNDATION, SESSION), "public", REGION)


def names(spec, task_id: str, table: str | None = None, where: Locations | None = None):
    inputs, outputs = lineage_datasets(spec, spec.task(task_id), table=table)
    where = where or dev_locations()
    return sorted(where.dataset(r) for r in inputs), sorted(where.dataset(r) for r in outputs)


def test_each_aws_task_names_its_datasets(spec):
    ins, outs = names(spec, "cdc_ingest")
    assert (POSTGRES, "shop.public.orders") in ins and len(ins) == len(spec.table_names)
    assert ("s3://edp-dev-bronze", "public/orders") in outs  # DMS's objects: <schema>/<table>
    # the table and its tombstones (deleted keys with their last values), both Iceberg tables in Silver's database
    assert names(spec, "bronze_to_silver", "orders") == ([("s3://edp-dev-bronze", "public/orders")],
                                                         [(ATHENA, "AwsDataCatalog.edp_dev_silver._tombstones_orders"),
                                                          (ATHENA, "AwsDataCatalog.edp_dev_silver.orders")])
    crawled, catalogued = names(spec, "crawl_silver")
    assert (ATHENA, "AwsDataCatalog.edp_dev_silver.orders") in crawled and catalogued == []
    ins, outs = names(spec, "dbt_build")
    assert (ATHENA, "AwsDataCatalog.edp_dev_silver.orders") in ins
    assert (ATHENA, "AwsDataCatalog.edp_dev_gold.daily_revenue") in outs and len(outs) == 3
    ins, outs = names(spec, "serving_load")
    assert (ATHENA, "AwsDataCatalog.edp_dev_gold.daily_revenue") in ins
    assert (REDSHIFT, "dev.serving.daily_revenue") in outs


def test_the_names_are_the_local_targets_where_the_storage_allows(spec):
    local = Locations(source=("postgres://127.0.0.1:5433", "shop"), bronze=("file", "/state/lake/bronze/public"),
                      silver=("file", "/state/lake/silver"), gold=("duckdb:///state/warehouse.duckdb", "gold"),
                      serving=("postgres://127.0.0.1:5433", "shop"))
    for task_id in ("cdc_ingest", "bronze_to_silver", "crawl_silver", "dbt_build", "serving_load"):
        aws_in, aws_out = names(spec, task_id)
        local_in, local_out = names(spec, task_id, where=local)
        assert len(aws_in) == len(local_in) and len(aws_out) == len(local_out), task_id
    # the same tables by name: the source's and serving's `db.schema.table`, Bronze's `<schema>/<table>` path
    assert [n for _, n in names(spec, "cdc_ingest")[0]] == [n for _, n in names(spec, "cdc_ingest", where=local)[0]]
    assert all(local_name.endswith("/" + aws_name) for (_, aws_name), (_, local_name)
               in zip(names(spec, "cdc_ingest")[1], names(spec, "cdc_ingest", where=local)[1], strict=True))
    assert [n.rsplit(".", 1)[-1] for _, n in names(spec, "dbt_build")[1]] == \
           [n.rsplit(".", 1)[-1] for _, n in names(spec, "dbt_build", where=local)[1]]


def test_a_layer_whose_session_is_off_has_no_name(spec):
    where = aws_locations(Platform("dev", FOUNDATION, None), "public", REGION)
    with pytest.raises(LineageError, match="no location for the source layer here, so no name for source.public.customers"):
        names(spec, "cdc_ingest", where=where)
    assert (ATHENA, "AwsDataCatalog.edp_dev_silver.orders") in names(spec, "bronze_to_silver", "orders", where=where)[1]


def test_the_extractor_names_the_provider_operators_datasets(spec, monkeypatch):
    """The aws DAG's real operators through the extractor the provider's listener calls; the published outputs
    (SSM, an AWS data plane) are this file's dev deployment."""
    from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
    from airflow.sdk import DAG

    from edp.dag_factory import build_dag

    monkeypatch.setenv("EDP_TARGET", "aws")
    monkeypatch.setitem(lineage.LOCATIONS, "aws", f"{__name__}:dev_locations")
    lineage.locations.cache_clear()
    try:
        dag = build_dag(spec, target="aws")
        assert type(dag.get_task("crawl_silver")).__name__ in lineage.OPERATOR_CLASSES
        crawl = lineage.TaskListExtractor(dag.get_task("crawl_silver")).extract_on_complete(None)
        assert ("AwsDataCatalog.edp_dev_silver.orders") in {d.name for d in crawl.inputs}
        dbt = lineage.TaskListExtractor(dag.get_task("dbt_build")).extract_on_complete(None)
        assert type(dag.get_task("dbt_build")).__name__ == "EcsRunTaskOperator"
        assert {d.name for d in dbt.outputs} >= {"AwsDataCatalog.edp_dev_gold.daily_revenue"}
        cdc = lineage.TaskListExtractor(dag.get_task("cdc_ingest")).extract_on_complete(None)
        assert {(d.namespace, d.name) for d in cdc.outputs} >= {("s3://edp-dev-bronze", "public/orders")}
        with DAG(spec.pipeline.id, schedule=None):  # one mapped run of the Glue job, as the worker holds it
            bronze_to_silver = GlueJobOperator(task_id="bronze_to_silver", job_name="edp-dev-bronze-to-silver",
                                  script_args={"--table": "orders", "--primary_key": "order_id"})
        glue = lineage.TaskListExtractor(bronze_to_silver).extract_on_complete(None)
        assert [(d.namespace, d.name) for d in glue.inputs] == [("s3://edp-dev-bronze", "public/orders")]
        assert [(d.namespace, d.name) for d in glue.outputs] == [(ATHENA, "AwsDataCatalog.edp_dev_silver.orders"),
                                                                 (ATHENA, "AwsDataCatalog.edp_dev_silver._tombstones_orders")]
    finally:
        lineage.locations.cache_clear()
