"""Silver's Iceberg tables as readers outside Spark see them: the committed snapshot only.

A merge writes its data files and manifests first and commits last, by creating the table's next
`metadata/vN.metadata.json` (the path catalog's atomic step; `version-hint.text` is only a hint). Files a
running or crashed merge left beside the table are in no committed snapshot, so reading the newest metadata
file's current snapshot never sees them. DuckDB 2.0 has no Iceberg extension, so the snapshot's files come from
pyiceberg and DuckDB reads them (`duckdb_select`): the data files, less the rows the position-delete files of
Silver's merge-on-read merges name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class SnapshotFiles:
    """The current snapshot's data files, and its position deletes: data file (as Iceberg names it, the way the
    delete files name it) -> the delete files that apply to it."""

    data: dict[Path, str]
    deletes: dict[str, list[Path]]


def snapshot_files(table_dir: Path) -> SnapshotFiles:
    from pyiceberg.manifest import DataFileContent

    data: dict[Path, str] = {}
    deletes: dict[str, list[Path]] = {}
    for task in _table(table_dir).scan().plan_files():
        data[_local(task.file.file_path)] = task.file.file_path
        for delete in task.delete_files:
            if delete.content != DataFileContent.POSITION_DELETES:  # Silver's merges write none
                raise PermanentError(f"{table_dir}: the snapshot has equality deletes, which readers here cannot apply")
            deletes.setdefault(task.file.file_path, []).append(_local(delete.file_path))
    return SnapshotFiles(data, deletes)


def duckdb_select(files: SnapshotFiles, columns: Sequence[str]) -> str:
    """A DuckDB query of `columns` over a snapshot (at least one data file): every data file's rows (files
    written before a column was added read it as NULL) less those a position delete names by (file, row)."""
    listed = _sql_list(files.data)
    cols = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    if not files.deletes:
        return f"SELECT {cols} FROM read_parquet([{listed}], union_by_name = true)"
    names = ", ".join(f"({_sql_str(str(path))}, {_sql_str(files.data[path])})" for path in files.data
                      if files.data[path] in files.deletes)
    delete_files = _sql_list(sorted({p for paths in files.deletes.values() for p in paths}))
    return (f"SELECT {cols} FROM read_parquet([{listed}], union_by_name = true, filename = true, "
            f"file_row_number = true) AS t ANTI JOIN ("
            f"SELECT n.local_path, d.pos FROM read_parquet([{delete_files}]) AS d "
            f"JOIN (VALUES {names}) AS n(local_path, iceberg_path) ON d.file_path = n.iceberg_path) AS gone "
            f"ON t.filename = gone.local_path AND t.file_row_number = gone.pos")


def _local(file_path: str) -> Path:
    return Path(unquote(urlparse(file_path).path))


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_list(paths) -> str:
    return ", ".join(_sql_str(str(p)) for p in paths)


def schema(table_dir: Path) -> pa.Schema:
    return _table(table_dir).schema().as_arrow()


def read(table_dir: Path) -> pa.Table:
    """The current snapshot's rows, columns as the table's schema has them now."""
    return _table(table_dir).scan().to_arrow()


def row_count(table_dir: Path) -> int:
    """The current snapshot's rows from its summary: the data files' rows less those position deletes hide."""
    snapshot = _table(table_dir).current_snapshot()
    if not snapshot or not snapshot.summary:
        return 0
    summary = snapshot.summary
    return int(summary["total-records"]) - int(summary.get("total-position-deletes") or 0)
