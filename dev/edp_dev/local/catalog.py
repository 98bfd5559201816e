"""The local Glue crawler: catalogs each Silver Iceberg table's committed snapshot.

The catalog is a DuckDB database (`<state>/catalog/catalog.duckdb`) with one
schema per lake layer and one view per table over the data files of the table's
current Iceberg snapshot less the rows its position deletes name (files a running
merge is writing are in none), the role
the Glue Data Catalog plays for Athena.  dbt attaches it read-only, so the
models read `lake.silver.<table>` locally and `awsdatacatalog.<db>.<table>` on
Athena through the same `source()` call.  A JSON copy of the inferred schemas
sits beside it for people and reports.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyarrow.parquet as pq

from edp.assets import TOMBSTONES_PREFIX
from edp.settings import PermanentError
from edp_dev.local import iceberg

CATALOG_FILE = "catalog.duckdb"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def crawl(layer_root: Path, catalog_dir: Path, layer: str, tables: tuple[str, ...]) -> dict:
    """(Re)create the catalog entries of `tables` from the files under `layer_root`; returns what changed."""
    import duckdb

    started = time.monotonic()
    catalog_dir.mkdir(parents=True, exist_ok=True)
    schemas: dict[str, list[dict]] = {}
    files: dict[str, iceberg.SnapshotFiles] = {}
    missing = []
    # each table's tombstones (deleted keys with their rows' last values), catalogued beside it as the job
    # registers them on Glue
    tombstones = [TOMBSTONES_PREFIX + t for t in tables if iceberg.exists(layer_root / (TOMBSTONES_PREFIX + t))]
    for table in (*tables, *tombstones):
        if not iceberg.exists(layer_root / table):
            missing.append(table)
            continue
        schema = iceberg.schema(layer_root / table)
        files[table] = iceberg.snapshot_files(layer_root / table)
        if not files[table].data:
            empty = _empty_file(catalog_dir, layer, table, schema)
            files[table] = iceberg.SnapshotFiles({empty: str(empty)}, {})
        schemas[table] = [{"name": f.name, "type": str(f.type)} for f in schema]
    if missing:  # retrying cannot make them appear
        raise PermanentError(f"crawler found no committed {layer} table(s) {', '.join(missing)} under {layer_root}")
    con = duckdb.connect(str(catalog_dir / CATALOG_FILE))
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(layer)}")
        for table, columns in schemas.items():
            query = iceberg.duckdb_select(files[table], [c["name"] for c in columns])
            con.execute(f"CREATE OR REPLACE VIEW {_quote(layer)}.{_quote(table)} AS {query}")
    finally:
        con.close()
    previous = _read_json(catalog_dir / f"{layer}.json")
    changed = sorted(t for t in schemas if previous.get(t) != schemas[t])
    tmp = catalog_dir / f"{layer}.json.tmp"
    tmp.write_text(json.dumps({**previous, **schemas}, indent=1))
    tmp.replace(catalog_dir / f"{layer}.json")
    return {"layer": layer, "tables": sorted(t for t in schemas if t in tables), "tombstones": len(tombstones),
            "schema_changes": changed,
            "seconds": round(time.monotonic() - started, 3)}


def _empty_file(catalog_dir: Path, layer: str, table: str, schema) -> Path:
    """A snapshot without rows has no data files; the view reads an empty file of the table's schema instead."""
    path = catalog_dir / "empty" / layer / f"{table}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(schema.empty_table(), path)
    return path


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}
