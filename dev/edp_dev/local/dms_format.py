"""The AWS DMS S3-target parquet layout, reproduced so local Bronze has the shape DMS writes on AWS.

DMS writes `<folder>/<schema>/<table>/LOAD00000001.parquet` ... for the full
load, then CDC files named by time (`20261123-020000123.parquet`).  CDC rows
carry `Op` (I/U/D) as the first column; with `TimestampColumnName` every row
also has a `yyyy-MM-dd HH:mm:ss.SSSSSS` string column (transfer time for full
load, commit time for CDC).  We add the change-sequence column that DMS
exposes as `$AR_H_CHANGE_SEQ` through a table-mapping `add-column` rule, so a
merge can order changes that commit within the same microsecond, and so a
full load (no sequence) always sorts before the changes captured after it.

The Glue script receives these column names as job arguments; a unit test
asserts its defaults equal the constants here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

OP_COLUMN = "Op"
TIMESTAMP_COLUMN = "dms_timestamp"
SEQ_COLUMN = "dms_change_seq"
LOAD_PREFIX = "LOAD"
OPS = ("I", "U", "D")
IN_PROGRESS = ".inprogress"

# PostgreSQL type OIDs -> how a value is typed in Bronze
_BOOL, _INT8, _INT2, _INT4, _FLOAT4, _FLOAT8 = 16, 20, 21, 23, 700, 701
_NUMERIC, _DATE, _TIMESTAMP, _TIMESTAMPTZ = 1700, 1082, 1114, 1184


def arrow_type(type_oid: int, typmod: int = -1) -> pa.DataType:
    if type_oid == _BOOL:
        return pa.bool_()
    if type_oid in (_INT2, _INT4):
        return pa.int32()
    if type_oid == _INT8:
        return pa.int64()
    if type_oid in (_FLOAT4, _FLOAT8):
        return pa.float64()
    if type_oid == _NUMERIC and typmod >= 4:
        precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
        return pa.decimal128(precision, scale)
    if type_oid == _DATE:
        return pa.date32()
    if type_oid == _TIMESTAMP:
        return pa.timestamp("us")
    if type_oid == _TIMESTAMPTZ:
        return pa.timestamp("us", tz="UTC")
    return pa.string()  # text, varchar, unconstrained numeric, uuid, json: lossless as text


def from_text(text: str | None, type_oid: int) -> Any:
    """Turn a value as PostgreSQL prints it (pgoutput text format) into a Python value."""
    if text is None:
        return None
    if type_oid == _BOOL:
        return text == "t"
    if type_oid in (_INT2, _INT4, _INT8):
        return int(text)
    if type_oid in (_FLOAT4, _FLOAT8):
        return float(text)
    if type_oid == _NUMERIC:
        return Decimal(text)
    if type_oid == _DATE:
        return date.fromisoformat(text)
    if type_oid in (_TIMESTAMP, _TIMESTAMPTZ):
        return datetime.fromisoformat(text)
    return text


def format_timestamp(moment: datetime) -> str:
    """DMS's TimestampColumnName format, always in UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def change_seq(commit_lsn: int, ordinal: int) -> str:
    """A string that sorts in commit order, then in order within the transaction."""
    return f"{commit_lsn:016X}{ordinal:010d}"


def table_dir(bronze_root: Path, schema: str, table: str) -> Path:
    return bronze_root / schema / table


def load_file_name(number: int) -> str:
    return f"{LOAD_PREFIX}{number:08d}.parquet"


def cdc_file_name(moment: datetime) -> str:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return moment.strftime("%Y%m%d-%H%M%S") + f"{moment.microsecond // 1000:03d}.parquet"


def is_load_file(name: str) -> bool:
    return name.startswith(LOAD_PREFIX) and name.endswith(".parquet")


def bronze_schema(columns: Iterable[tuple[str, pa.DataType]], *, cdc: bool) -> pa.Schema:
    fields = [pa.field(OP_COLUMN, pa.string())] if cdc else []
    fields += [pa.field(TIMESTAMP_COLUMN, pa.string()), pa.field(SEQ_COLUMN, pa.string())]
    fields += [pa.field(name, dtype) for name, dtype in columns]
    return pa.schema(fields)


def build_table(schema: pa.Schema, rows: list[dict[str, Any]]) -> pa.Table:
    """Rows (dicts keyed by every column of `schema`) into an arrow table of exactly that schema."""
    return pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema}, schema=schema)


def write_in_progress(table: pa.Table, final_path: Path) -> Path:
    """Write a parquet file under a name readers ignore and flush it to disk; the caller renames it."""
    final_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = final_path.with_name(final_path.name + IN_PROGRESS)
    pq.write_table(table, tmp, compression="snappy")
    fsync_path(tmp)
    return tmp


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
