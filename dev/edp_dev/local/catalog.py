"""The local Glue crawler: infers each Silver table's schema from its parquet files and catalogs it.

The catalog is a DuckDB database (`<state>/catalog/catalog.duckdb`) with one
schema per lake layer and one view per table over the table's files, the role
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

from edp.settings import PermanentError

CATALOG_FILE = "catalog.duckdb"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def crawl(layer_root: Path, catalog_dir: Path, layer: str, tables: tuple[str, ...]) -> dict:
    """(Re)create the catalog entries of `tables` from the files under `layer_root`; returns what changed."""
    import duckdb

    started = time.monotonic()
    catalog_dir.mkdir(parents=True, exist_ok=True)
    schemas: dict[str, list[dict]] = {}
    missing = []
    for table in tables:
        files = sorted((layer_root / table).glob("*.parquet"))
        if not files:
            missing.append(table)
            continue
        schema = pq.read_schema(files[0])
        schemas[table] = [{"name": f.name, "type": str(f.type)} for f in schema]
    if missing:  # retrying cannot make them appear
        raise PermanentError(f"crawler found no {layer} parquet files for table(s) {', '.join(missing)} under {layer_root}")
    con = duckdb.connect(str(catalog_dir / CATALOG_FILE))
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(layer)}")
        for table, columns in schemas.items():
            glob = str((layer_root / table).resolve() / "*.parquet").replace("'", "''")
            cols = ", ".join(_quote(c["name"]) for c in columns)
            con.execute(
                f"CREATE OR REPLACE VIEW {_quote(layer)}.{_quote(table)} AS SELECT {cols} FROM read_parquet('{glob}')"
            )
    finally:
        con.close()
    previous = _read_json(catalog_dir / f"{layer}.json")
    changed = sorted(t for t in schemas if previous.get(t) != schemas[t])
    tmp = catalog_dir / f"{layer}.json.tmp"
    tmp.write_text(json.dumps({**previous, **schemas}, indent=1))
    tmp.replace(catalog_dir / f"{layer}.json")
    return {"layer": layer, "tables": sorted(schemas), "schema_changes": changed,
            "seconds": round(time.monotonic() - started, 3)}


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}
