"""The local serving load: Gold tables copied from the DuckDB warehouse into a PostgreSQL schema.

On AWS the serving store is Redshift Serverless; it speaks PostgreSQL's protocol, so locally a schema of the
embedded PostgreSQL plays it. Each table is replaced, never appended to: it is loaded into `<table>__loading`
(columns typed from the Arrow schema DuckDB hands over, rows through COPY), then the old table is dropped and
the new one renamed into its place. Everything happens in one transaction, so readers see the old tables
until the commit and then all the new ones, and a failure leaves the previous load in place with no debris.

A table whose Gold rows have not changed since it was loaded is left as it is: each loaded table carries the
fingerprint of what it was loaded from (its columns, row count and an order-independent hash of its rows) as
its comment, written in the same transaction, and Gold's fingerprint is one DuckDB scan, where a copy is a
CSV round trip. A run with nothing new (or marts its changes left alone) copies nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Iterable
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.types as pat

from edp.settings import PermanentError

LOADING_SUFFIX = "__loading"
FINGERPRINT = "edp gold fingerprint: "  # the comment a loaded table carries
_INT_TYPES = {8: "smallint", 16: "smallint", 32: "integer", 64: "bigint"}
_UINT_TYPES = {8: "smallint", 16: "integer", 32: "bigint", 64: "numeric(20,0)"}


def pg_type(arrow_type: pa.DataType) -> str | None:
    """The PostgreSQL (and Redshift) column type holding every value of an Arrow type exactly, or None."""
    if pat.is_signed_integer(arrow_type):
        return _INT_TYPES[arrow_type.bit_width]
    if pat.is_unsigned_integer(arrow_type):  # one size up: PostgreSQL has no unsigned integers
        return _UINT_TYPES[arrow_type.bit_width]
    if pat.is_decimal(arrow_type):
        return f"numeric({arrow_type.precision},{arrow_type.scale})"
    if pat.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    simple = [(pat.is_float64, "double precision"), (pat.is_floating, "real"), (pat.is_date, "date"),
              (pat.is_time, "time"), (pat.is_boolean, "boolean"), (pat.is_null, "text"),
              (lambda t: pat.is_string(t) or pat.is_large_string(t) or pat.is_string_view(t), "text"),
              (lambda t: pat.is_binary(t) or pat.is_large_binary(t) or pat.is_fixed_size_binary(t), "bytea")]
    return next((name for test, name in simple if test(arrow_type)), None)


def column_types(table: str, schema: pa.Schema) -> list[tuple[str, str]]:
    """(column, PostgreSQL type) for every column, or a PermanentError naming those that have no mapping:
    the model should cast them (an interval or a nested type has no faithful column in Redshift either)."""
    typed = [(f.name, pg_type(f.type)) for f in schema]
    unmapped = [f"{f.name} ({f.type})" for f, (_, t) in zip(schema, typed, strict=True) if t is None]
    if unmapped:
        raise PermanentError(f"serving_load: gold.{table} has column(s) the serving store cannot type: "
                             f"{', '.join(unmapped)}; cast them in the model")
    return [(name, str(t)) for name, t in typed]


def csv_field(value: Any) -> str:
    """One value as a field of PostgreSQL's CSV COPY format: NULL is the empty unquoted field and every other
    value is quoted (so an empty string stays an empty string); PostgreSQL parses the text by column type."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime | date | dtime):
        text = value.isoformat()
    elif isinstance(value, bytes):
        text = "\\x" + value.hex()
    elif isinstance(value, float):
        text = repr(value)  # shortest exact form; nan and inf are accepted by PostgreSQL
    else:  # Decimal, int, str: their str() is PostgreSQL's input form
        text = str(value)
    return '"' + text.replace('"', '""') + '"'


def csv_rows(table: pa.Table, batch_rows: int = 10_000) -> Iterable[str]:
    """The table's rows as CSV lines, a batch at a time so a large table never becomes one Python list."""
    for batch in table.to_batches(max_chunksize=batch_rows):
        for row in zip(*(col.to_pylist() for col in batch.columns), strict=True):
            yield ",".join(csv_field(v) for v in row) + "\n"


def gold_tables(con) -> list[str]:
    """The tables and views dbt built in the warehouse's `gold` schema."""
    rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'gold' "
                       "AND table_catalog = current_database() ORDER BY table_name").fetchall()
    return [name for (name,) in rows]


def require_tables(tables: tuple[str, ...] | list[str], available: list[str]) -> None:
    """Refuse, before anything is loaded, a table list that is empty or names a table Gold does not have."""
    known = ", ".join(available) or "none"
    if not tables:
        raise PermanentError(f"serving_load names no tables; Gold has: {known}")
    unknown = [t for t in tables if t not in available]
    if unknown:
        raise PermanentError(f"serving_load: no Gold table {', '.join(unknown)} in the warehouse; Gold has: {known}")


def fingerprint(con, table: str) -> tuple[str, int]:
    """Gold table `table`'s fingerprint (its columns with their types, row count and the sum of its rows'
    hashes: equal fingerprints mean the same rows, as a multiset, in the same columns) and its row count."""
    columns = con.execute(f"DESCRIBE gold.{_quote(table)}").fetchall()
    [(count, total)] = con.execute(f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) "
                                   f"FROM gold.{_quote(table)} AS t").fetchall()
    digest = hashlib.sha256(json.dumps([[c[0], c[1]] for c in columns]).encode()).hexdigest()[:16]
    return f"{digest} {count} {total}", int(count)


def loaded_fingerprints(conn_dsn: str, schema: str, tables: Iterable[str]) -> dict[str, str]:
    """The fingerprint each serving table was loaded with (none for a table loaded before fingerprints or not
    loaded at all)."""
    import psycopg2

    pg = psycopg2.connect(conn_dsn)
    try:
        with pg.cursor() as cur:
            cur.execute("SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = %s AND c.relname = ANY(%s) AND c.relkind = 'r'", (schema, list(tables)))
            return {name: comment.removeprefix(FINGERPRINT) for name, comment in cur.fetchall()
                    if comment and comment.startswith(FINGERPRINT)}
    finally:
        pg.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def replace_table(cur, schema: str, name: str, data: pa.Table, fingerprint: str) -> None:
    """Within the caller's transaction: load `<name>__loading`, drop `<name>`, rename the new one into place
    with the fingerprint of what it holds."""
    from psycopg2 import sql

    loading = sql.Identifier(schema, name + LOADING_SUFFIX)
    columns = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t))
                                 for c, t in column_types(name, data.schema))
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(loading))
    cur.execute(sql.SQL("CREATE TABLE {} ({})").format(loading, columns))
    copy = sql.SQL("COPY {} FROM STDIN WITH (FORMAT csv)").format(loading).as_string(cur)
    cur.copy_expert(copy, _Lines(csv_rows(data)))
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(schema, name)))
    cur.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(loading, sql.Identifier(name)))
    cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(sql.Identifier(schema, name),
                                                           sql.Literal(FINGERPRINT + fingerprint)))


class _Lines(io.RawIOBase):
    """A file-like reader over generated lines, so COPY streams the rows instead of one giant string."""

    def __init__(self, lines: Iterable[str]):
        self._lines = iter(lines)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._pending) < size:
            line = next(self._lines, None)
            if line is None:
                break
            self._pending += line.encode()
        size = len(self._pending) if size < 0 else size
        out, self._pending = self._pending[:size], self._pending[size:]
        return out


def load(conn_dsn: str, schema: str, data: dict[str, pa.Table], fingerprints: dict[str, str]) -> None:
    """Replace every table of `data` in `schema` (created if missing) in one transaction."""
    import psycopg2
    from psycopg2 import sql

    pg = psycopg2.connect(conn_dsn, options="-c TimeZone=UTC")
    try:
        with pg, pg.cursor() as cur:  # `with pg` commits, or rolls back on any error
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            for name, table in data.items():
                replace_table(cur, schema, name, table, fingerprints[name])
    finally:
        pg.close()


def serving_load(tables: tuple[str, ...] | list[str], schema: str, warehouse_path: Path, catalog_path: Path,
                 conn_dsn: str) -> dict:
    """Gold's named tables into the serving schema, those unchanged since their last load left alone; the
    metrics the task reports (rows per table, loaded or not, and which were unchanged)."""
    from edp_dev.local.quality import connect

    started = time.monotonic()
    # one read-only session, the catalog attached (a Gold view over Silver needs it)
    con = connect(warehouse_path, catalog_path)
    try:
        require_tables(tables, gold_tables(con))
        found = {t: fingerprint(con, t) for t in tables}
        prints = {t: text for t, (text, _) in found.items()}
        loaded = loaded_fingerprints(conn_dsn, schema, tables)
        data = {t: con.sql(f"SELECT * FROM gold.{_quote(t)}").to_arrow_table() for t in tables
                if loaded.get(t) != prints[t]}
    finally:
        con.close()
    if data:
        load(conn_dsn, schema, data, prints)
    return {"schema": schema, "tables": {t: rows for t, (_, rows) in found.items()},
            "unchanged": [t for t in tables if t not in data], "seconds": round(time.monotonic() - started, 3)}
