"""The AWS DMS S3-target parquet layout, reproduced so local Bronze has the shape DMS writes on AWS.

DMS writes `<folder>/<schema>/<table>/LOAD00000001.parquet` ... for the full
load, then CDC files named by time (`20261123-020000123.parquet`) in date folders
(`DatePartitionEnabled` with the `YYYYMMDD` sequence and `/` delimiter, the ingestion
module's setting: `2026/11/23/20261123-020000123.parquet`), so a reader finds new
changes under the latest folders rather than among every file ever written.  CDC rows
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
import re
from collections.abc import Iterable
from datetime import UTC, datetime
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

BEFORE_IMAGE_PREFIX = "BI_"  # DMS's add-before-image-columns rule (pk-only): a CDC row's key before the change

# PostgreSQL type OIDs -> how a value is typed in Bronze (docs/design.md, "PostgreSQL types in Bronze")
_BOOL, _BYTEA, _INT8, _INT2, _INT4, _FLOAT4, _FLOAT8 = 16, 17, 20, 21, 23, 700, 701
_NUMERIC, _DATE, _TIMESTAMP, _TIMESTAMPTZ = 1700, 1082, 1114, 1184
MAX_DECIMAL_PRECISION = 38  # DMS: NUMERIC(p,s) with p <= 38 is a decimal; wider, or unconstrained, is a string
# PostgreSQL's and DuckDB's own encoding of +-infinity: the extreme values of the storage integer
DATE_INFINITY, TIMESTAMP_INFINITY = 2**31 - 1, 2**63 - 1
_DATETIME = re.compile(
    r"^(\d{4,})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?)?"
    r"(?:([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?)?( BC)?$")


def arrow_type(type_oid: int, typmod: int = -1) -> pa.DataType:
    """The Bronze type of a PostgreSQL column, as DMS writes it to Parquet (with MapUnboundedNumericAsString)."""
    simple = {_BOOL: pa.bool_(), _INT2: pa.int32(), _INT4: pa.int32(), _INT8: pa.int64(), _FLOAT4: pa.float64(),
              _FLOAT8: pa.float64(), _BYTEA: pa.binary(), _DATE: pa.date32(), _TIMESTAMP: pa.timestamp("us"),
              _TIMESTAMPTZ: pa.timestamp("us", tz="UTC")}
    if type_oid in simple:
        return simple[type_oid]
    if type_oid == _NUMERIC and typmod >= 4:
        precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
        if precision <= MAX_DECIMAL_PRECISION:
            return pa.decimal128(precision, scale)
    # text, varchar, char, uuid, json(b), arrays, time(tz), interval, enums, wide or unconstrained numeric:
    # PostgreSQL's own text output, which loses nothing
    return pa.string()


def to_arrow(texts: list[str | None], dtype: pa.DataType) -> pa.Array:
    """Values as PostgreSQL prints them (pgoutput, or `::text` in the full load) into an array of `dtype`.

    One conversion for both paths, so a full-load row and a CDC row of the same value are equal in Bronze."""
    if pa.types.is_string(dtype):
        return pa.array(texts, pa.string())
    if pa.types.is_binary(dtype):
        return pa.array([None if t is None else bytes.fromhex(t[2:]) for t in texts], pa.binary())
    if pa.types.is_boolean(dtype):
        # pgoutput prints t/f (the output function); `::text` in the full load prints true/false
        return pa.array([None if t is None else t in ("t", "true") for t in texts], pa.bool_())
    if pa.types.is_decimal(dtype):  # NaN has no decimal: NULL, as DMS writes it
        return pa.array([None if t is None or t == "NaN" else t for t in texts], pa.string()).cast(dtype)
    if pa.types.is_date(dtype):
        return pa.array([None if t is None else _days(t) for t in texts], pa.int32()).cast(dtype)
    if pa.types.is_timestamp(dtype):
        return pa.array([None if t is None else _micros(t) for t in texts], pa.int64()).cast(dtype)
    return pa.array(texts, pa.string()).cast(dtype)  # integers and floats (NaN, Infinity) cast exactly


def from_text(text: str | None, type_oid: int, typmod: int = -1) -> Any:
    """One value as PostgreSQL prints it into the Python value Bronze holds (dates and times inside Python's range)."""
    return to_arrow([text], arrow_type(type_oid, typmod))[0].as_py()


def _days(text: str) -> int:
    """Days since 1970-01-01 of a PostgreSQL date: BC dates and years past 9999 included, +-infinity encoded."""
    if text.endswith("infinity"):
        return -DATE_INFINITY if text.startswith("-") else DATE_INFINITY
    return _parse(text)[0]


def _micros(text: str) -> int:
    """Microseconds since the epoch (UTC) of a PostgreSQL timestamp or timestamptz, +-infinity encoded."""
    if text.endswith("infinity"):
        return -TIMESTAMP_INFINITY if text.startswith("-") else TIMESTAMP_INFINITY
    days, seconds, micros = _parse(text)
    value = (days * 86400 + seconds) * 1_000_000 + micros
    # PostgreSQL counts from 2000 and reaches the year 294276; from 1970 the 64 bits end in 294247: the last
    # 29 years read as infinity, as no epoch-microsecond reader (Spark, DuckDB, Athena) can hold them
    return max(-TIMESTAMP_INFINITY, min(TIMESTAMP_INFINITY, value))


def _parse(text: str) -> tuple[int, int, int]:
    """(days since the epoch, seconds into the day in UTC, microseconds) of an ISO-style PostgreSQL value."""
    found = _DATETIME.match(text)
    if not found:
        raise ValueError(f"not a PostgreSQL date or timestamp in ISO style: {text!r}")
    year, month, day, hh, mm, ss, frac, sign, oh, om, osec, bc = found.groups()
    astronomical = 1 - int(year) if bc else int(year)  # 1 BC is year 0
    seconds = int(hh or 0) * 3600 + int(mm or 0) * 60 + int(ss or 0)
    if sign:
        offset = int(oh) * 3600 + int(om or 0) * 60 + int(osec or 0)
        seconds -= offset if sign == "+" else -offset
    days = days_from_civil(astronomical, int(month), int(day)) + seconds // 86400
    return days, seconds % 86400, int((frac or "0").ljust(6, "0"))


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to a proleptic Gregorian date of any (astronomical) year (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


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


def cdc_file_path(moment: datetime) -> str:
    """A CDC file's path under its table folder: the date folder of its (UTC) time, then its name."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return moment.strftime("%Y/%m/%d/") + cdc_file_name(moment)


def table_files(folder: Path) -> list[Path]:
    """Every Bronze parquet file of a table: the load files at its root and the change files in date folders."""
    return sorted(folder.rglob("*.parquet")) if folder.exists() else []


def latest_file(folder: Path) -> Path | None:
    """The table's newest Bronze file, found by walking down the latest date folder (not the whole history):
    the newest change file, or a load file when no change came after it."""
    candidates = [p for p in folder.glob("*.parquet")] if folder.exists() else []
    dated = folder
    while True:
        digits = sorted((d for d in dated.iterdir() if d.is_dir() and d.name.isdigit()), key=lambda d: d.name) \
            if dated.exists() else []
        if not digits:
            break
        dated = digits[-1]
    if dated != folder:
        candidates += list(dated.glob("*.parquet"))
    return max(candidates, key=lambda p: p.stat().st_mtime, default=None)


def is_load_file(name: str) -> bool:
    return name.startswith(LOAD_PREFIX) and name.endswith(".parquet")


def bronze_schema(columns: Iterable[tuple[str, pa.DataType]], *, cdc: bool,
                  key: Iterable[tuple[str, pa.DataType]] = ()) -> pa.Schema:
    """Op first on CDC rows, DMS's timestamp and change sequence, the table's columns, then (CDC only) the
    before image of the key columns (`BI_<column>`), which tells a key update apart from an insert."""
    fields = [pa.field(OP_COLUMN, pa.string())] if cdc else []
    fields += [pa.field(TIMESTAMP_COLUMN, pa.string()), pa.field(SEQ_COLUMN, pa.string())]
    fields += [pa.field(name, dtype) for name, dtype in columns]
    if cdc:
        fields += [pa.field(BEFORE_IMAGE_PREFIX + name, dtype) for name, dtype in key]
    return pa.schema(fields)


def build_text_table(schema: pa.Schema, rows: list[dict[str, Any]], text_columns: Iterable[str]) -> pa.Table:
    """Rows whose `text_columns` hold PostgreSQL text (the others Python values) into an arrow table of `schema`."""
    text = set(text_columns)
    arrays = [to_arrow([r.get(f.name) for r in rows], f.type) if f.name in text
              else pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


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
