"""Where the aws target's layers live, for OpenLineage (`edp.lineage.Locations`), from the published outputs.

The names follow OpenLineage's conventions and match what the amazon provider's own operators emit, so the
chain joins up with their events (Athena's queries name the tables they read): the source is the ingestion
session's RDS PostgreSQL (`postgres://host:port`, `db.schema.table`, as locally); Bronze is DMS's objects
(`s3://<bronze bucket>`, `<schema>/<table>`: locally the same `<schema>/<table>` under the Bronze folder);
Silver and Gold are tables of the Glue Data Catalog as Athena names them
(`awsathena://athena.<region>.amazonaws.com`, `AwsDataCatalog.<layer database>.<table>`): Silver is an
Iceberg table there, which dbt reads through Athena; serving is the serving session's Redshift Serverless
workgroup (`redshift://host:port`, `database.schema.table`). A layer whose session is off has no location:
asking for it is a `LineageError`, and the extractor leaves that task's datasets out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edp.lineage import Locations

if TYPE_CHECKING:
    from edp.aws.names import Platform

ATHENA_CATALOG = "AwsDataCatalog"


def athena_namespace(region: str) -> str:
    return f"awsathena://athena.{region}.amazonaws.com"


def aws_locations(platform: Platform, source_schema: str, region: str) -> Locations:
    """The layers' locations in one deployment (its foundation and running session) and region."""
    buckets = platform.foundation.get("bucket_names") or {}
    databases = platform.foundation.get("glue_database_names") or {}
    session = platform.session or {}
    ingestion: dict[str, Any] = session.get("ingestion") or {}
    serving: dict[str, Any] = session.get("serving") or {}
    athena = athena_namespace(region)

    def table_in(layer: str) -> tuple[str, str] | None:
        return (athena, f"{ATHENA_CATALOG}.{databases[layer]}") if databases.get(layer) else None

    return Locations(
        source=(f"postgres://{ingestion['db_address']}:{ingestion['db_port']}", str(ingestion["db_name"]))
        if ingestion.get("db_address") else None,
        bronze=(f"s3://{buckets['bronze']}", source_schema) if buckets.get("bronze") else None,
        silver=table_in("silver"),
        gold=table_in("gold"),
        serving=(f"redshift://{serving['endpoint_address']}:{serving['endpoint_port']}", str(serving["database_name"]))
        if serving.get("endpoint_address") else None)


def locations() -> Locations:
    """`edp.lineage.LOCATIONS["aws"]`: this deployment's, read when a task's lineage is extracted on a worker."""
    import boto3

    from edp.aws.names import Platform
    from edp.lineage import LineageError
    from edp.spec import load_spec

    region = boto3.session.Session().region_name
    if not region:
        raise LineageError("no AWS region configured (AWS_DEFAULT_REGION): the Athena and Glue dataset names need it")
    return aws_locations(Platform.load(), load_spec().source_schema, region)
