"""Silver's Iceberg tables as readers outside Spark see them: the committed snapshot only.

A merge writes its data files and manifests first and commits last, by creating the table's next
`metadata/vN.metadata.json` (the path catalog's atomic step; `version-hint.text` is only a hint). Files a
running or crashed merge left beside the table are in no committed snapshot, so reading the newest metadata
file's current snapshot never sees them. DuckDB 2.0 has no Iceberg extension, so the snapshot's file list comes
from pyiceberg and DuckDB reads those files.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa

from edp.settings import PermanentError

_VERSION = re.compile(r"v(\d+)\.metadata\.json")


def metadata_file(table_dir: Path) -> Path | None:
    """The table's newest committed metadata file, or None when the table was never committed."""
    versions = [(int(m.group(1)), p) for p in (table_dir / "metadata").glob("v*.metadata.json")
                if (m := _VERSION.fullmatch(p.name))]
    return max(versions)[1] if versions else None


def exists(table_dir: Path) -> bool:
    return metadata_file(table_dir) is not None


def _table(table_dir: Path):
    from pyiceberg.table import StaticTable

    metadata = metadata_file(table_dir)
    if metadata is None:
        raise PermanentError(f"no committed Iceberg table at {table_dir}")
    return StaticTable.from_metadata(metadata.as_uri())


def data_files(table_dir: Path) -> list[Path]:
    """The parquet files of the current snapshot. Silver's merges copy on write, so no delete files apply."""
    files = []
    for task in _table(table_dir).scan().plan_files():
        if task.delete_files:
            raise PermanentError(f"{table_dir}: the snapshot has delete files, which a file list cannot apply")
        files.append(Path(unquote(urlparse(task.file.file_path).path)))
    return files


def schema(table_dir: Path) -> pa.Schema:
    return _table(table_dir).schema().as_arrow()


def read(table_dir: Path) -> pa.Table:
    """The current snapshot's rows, columns as the table's schema has them now."""
    return _table(table_dir).scan().to_arrow()


def row_count(table_dir: Path) -> int:
    snapshot = _table(table_dir).current_snapshot()
    return int(snapshot.summary["total-records"]) if snapshot and snapshot.summary else 0
