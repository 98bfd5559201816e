"""Where the local target's layers live, for OpenLineage (`edp.lineage.Locations`): the embedded PostgreSQL
(its host and port, never its credentials), the lake's folders, the DuckDB warehouse's gold schema and the
serving schema in the embedded PostgreSQL. `[openlineage]` is set in `edp_dev.airflow_run.airflow_env`."""

from __future__ import annotations

from edp.lineage import Locations
from edp.settings import local_paths
from edp.spec import load_spec


def locations() -> Locations:
    from edp_dev.local.postgres import EmbeddedPostgres
    from edp_dev.local.quality import WAREHOUSE_FILE

    paths = local_paths()
    conn = EmbeddedPostgres(paths.pg).connection()
    postgres = f"postgres://{conn.host}:{conn.port}"
    schema = load_spec().source_schema
    return Locations(source=(postgres, conn.dbname), bronze=("file", str(paths.bronze / schema)),
                     silver=("file", str(paths.silver)), gold=(f"duckdb://{paths.warehouse / WAREHOUSE_FILE}", "gold"),
                     serving=(postgres, conn.dbname))


def lineage_config() -> dict[str, str]:
    """`[openlineage]` for every Airflow process on the state folder: one JSON file per event under
    `<state>/lineage/` (a 0700 folder: an event names hosts, ports and paths), our extractor for the
    pipeline's TaskFlow tasks."""
    import json

    from edp_dev.private_files import private_dir

    folder = private_dir(local_paths().root / "lineage")
    return {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(folder / "event"),
                                                       "append": False}),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "edp-local",
        "AIRFLOW__OPENLINEAGE__EXTRACTORS": "edp.lineage.TaskListExtractor",
    }
