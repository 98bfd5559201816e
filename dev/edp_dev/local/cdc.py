"""The local stand-in for DMS: full load plus CDC from a PostgreSQL logical replication slot into Bronze.

Exactly-once, across crashes, is the point of the design:

1. Full load reads every table inside the snapshot exported when the slot was
   created, so the load and the changes after it meet with no gap and no overlap.
2. A batch of changes is *peeked* (the slot does not move), written as
   `*.parquet.inprogress` files and fsynced.
3. A journal entry naming those files and the batch's end LSN is written
   atomically: this is the commit point.
4. The files are renamed to their final names, then the slot is advanced.

On start, `recover()` finishes any committed batch (renames, slot advance) and
deletes in-progress files no journal names, so a crash at any step neither
loses nor duplicates a committed change.  A slot that has gone (session
teardown dropped it) means WAL was not retained: the next run archives the
old Bronze generation and starts with a fresh full load, as DMS would.

Some changes cannot be carried as row changes: a TRUNCATE, and a column added
with a default or NOT NULL (PostgreSQL fills the existing rows without writing
them to WAL). The batch that sees one reloads that table (DMS's table reload):
its Bronze folder moves to the archive and a new full-load file is read in a
snapshot taken after the batch. The journal entry of the batch names the tables
to reload, so a crash before the reload finishes is finished by `recover()`.

Every connection uses fixed output settings (UTC, ISO dates, ISO 8601
intervals, exact floats, hex bytea), so the full load's `::text` values and
pgoutput's are the same text, converted once (`dms_format.to_arrow`). A source
that stops answering fails the task after EDP_SOURCE_TIMEOUT_SECONDS (60) of
silence instead of hanging until the task's timeout.
"""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from edp.settings import ConfigError
from edp_dev.local import dms_format as dms
from edp_dev.local.cdc_batch import Batch, TableBatch
from edp_dev.local.pgoutput import UNCHANGED, Decoder
from edp_dev.local.postgres import Connection

log = logging.getLogger(__name__)

SLOT = "edp_dms_slot"
JOURNAL = "_dms_journal"
ARCHIVE = "_archive"
# the session settings every source connection uses: PostgreSQL's text output is then the same on every path
OUTPUT_SETTINGS = "-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=iso_8601 -c extra_float_digits=3 -c bytea_output=hex"
TIMEOUT_ENV = "EDP_SOURCE_TIMEOUT_SECONDS"


class SourceUnresponsive(RuntimeError):
    """The source database stopped answering: the task fails now, naming it, instead of hanging."""


def lsn_to_int(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def int_to_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


@dataclass
class IngestResult:
    mode: str  # "full_load" or "cdc"
    rows: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    end_lsn: str = ""


class LocalDms:
    """One replication task: a slot, a publication and the Bronze folder it writes."""

    def __init__(self, conn: Connection, bronze_root: Path, schema: str, tables: tuple[str, ...],
                 publication: str, slot: str = SLOT):
        self.conn_info = conn
        self.bronze = bronze_root
        self.schema = schema
        self.tables = tables
        self.publication = publication
        self.slot = slot
        self.journal = bronze_root / JOURNAL

    @classmethod
    def for_spec(cls, spec) -> LocalDms:
        """The replication task of the local target: the embedded source (started if need be), every
        source table of the task list, Bronze under the local state folder."""
        from edp.settings import local_paths
        from edp_dev.local.postgres import EmbeddedPostgres
        from edp_dev.shop import PUBLICATION

        paths = local_paths()
        return cls(EmbeddedPostgres(paths.pg).start(), paths.bronze, spec.source_schema, spec.table_names, PUBLICATION)

    # -- entry points ------------------------------------------------------------------
    def run(self) -> IngestResult:
        """Full load when there is no live slot with a committed load, else capture new changes."""
        self.bronze.mkdir(parents=True, exist_ok=True)
        with answers_in_time(), self._connect() as conn:
            conn.autocommit = True
            self._require_publication(conn)
            self.recover(conn)
            if self._slot_lsn(conn) is None or not self._has_load():
                return self.full_load(conn)
            return self.capture(conn)

    def require_source(self) -> None:
        """Fail now, with the reason, if the source cannot be replicated (not seeded, no publication)."""
        with answers_in_time(), self._connect() as conn:
            self._require_publication(conn)

    def drop_slot(self) -> bool:
        """Release the slot so PostgreSQL stops retaining WAL for it (session teardown)."""
        with answers_in_time(), self._connect() as conn:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s",
                            (self.slot,))
                return cur.rowcount > 0

    # -- recovery ----------------------------------------------------------------------
    def recover(self, conn) -> None:
        committed = self._journal_entries()
        named = set()
        for entry in committed:
            self._publish(entry)
            named.update(entry["files"])
        for tmp in self.bronze.rglob("*" + dms.IN_PROGRESS):
            rel = str(tmp.relative_to(self.bronze))[: -len(dms.IN_PROGRESS)]
            if rel not in named:
                log.warning("removing uncommitted Bronze file %s", tmp)
                tmp.unlink()
        for entry in committed:  # a batch that asked for reloads its crash interrupted
            for table in self._pending_reloads(entry, committed):
                self.reload_table(conn, table, entry["end_lsn"])
        slot_lsn = self._slot_lsn(conn)
        if committed and slot_lsn is not None:
            end = max(lsn_to_int(e["end_lsn"]) for e in committed)
            if slot_lsn < end:
                log.info("advancing slot %s to committed LSN %s", self.slot, int_to_lsn(end))
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_replication_slot_advance(%s, %s::pg_lsn)", (self.slot, int_to_lsn(end)))

    # -- full load ---------------------------------------------------------------------
    def full_load(self, conn) -> IngestResult:
        import psycopg2
        import psycopg2.extras

        self._archive_generation()
        with conn.cursor() as cur:
            cur.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s",
                        (self.slot,))
        repl = connect(self.conn_info, connection_factory=psycopg2.extras.LogicalReplicationConnection)
        try:
            with repl.cursor() as rcur:
                rcur.execute(f"CREATE_REPLICATION_SLOT {self.slot} LOGICAL pgoutput EXPORT_SNAPSHOT")
                _, consistent_point, snapshot, _ = rcur.fetchone()
            result = IngestResult(mode="full_load", end_lsn=consistent_point)
            transfer_ts = dms.format_timestamp(datetime.now(UTC))
            with self._connect() as snap:
                snap.autocommit = True  # the explicit BEGIN below sets isolation and snapshot
                with snap.cursor() as cur:
                    cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    cur.execute("SET TRANSACTION SNAPSHOT %s", (snapshot,))
                    cur.execute("SET LOCAL timezone = 'UTC'")
                    for table in self.tables:
                        rel, rows = self._load_file(cur, table, transfer_ts)
                        result.files.append(rel)
                        result.rows[table] = rows
                    cur.execute("COMMIT")
        finally:
            repl.close()
        self._commit({"kind": "full_load", "end_lsn": consistent_point, "files": result.files, "rows": result.rows})
        return result

    def _load_file(self, cur, table: str, transfer_ts: str) -> tuple[str, int]:
        """Write one table's full-load file from the open snapshot; returns (Bronze path, rows)."""
        columns = self._columns(cur, table)
        schema = dms.bronze_schema([(n, dms.arrow_type(o, m)) for n, o, m in columns], cdc=False)
        names = [n for n, _, _ in columns]
        cur.execute("SELECT " + ", ".join(f'{_quote(n)}::text' for n in names) + f" FROM {self._qualified(table)}")
        rows = [dict(zip(names, r, strict=True), **{dms.TIMESTAMP_COLUMN: transfer_ts}) for r in cur.fetchall()]
        rel = self._rel(table, dms.load_file_name(1))
        dms.write_in_progress(dms.build_text_table(schema, rows, names), self.bronze / rel)
        return rel, len(rows)

    def reload_table(self, conn, table: str, after_lsn: str) -> None:
        """DMS's table reload: the table's Bronze folder (load and changes) moves to the archive and a new
        full-load file is read in a snapshot taken now, after the batch that asked for it (which wrote no
        changes for the table: the snapshot holds them). Changes after the snapshot come in the next batch."""
        folder = dms.table_dir(self.bronze, self.schema, table)
        if folder.exists():
            dest = self.bronze / ARCHIVE / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") / self.schema / table
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(folder), str(dest))
        with self._connect() as snap:
            snap.autocommit = True
            with snap.cursor() as cur:
                cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                rel, rows = self._load_file(cur, table, dms.format_timestamp(datetime.now(UTC)))
                cur.execute("COMMIT")
        log.warning("reloaded %s.%s (%d rows): a TRUNCATE or a column added with a default", self.schema, table, rows)
        self._commit({"kind": f"reload-{table}", "table": table, "after": after_lsn, "end_lsn": after_lsn,
                      "files": [rel], "rows": {table: rows}})

    def _pending_reloads(self, entry: dict, committed: list[dict]) -> list[str]:
        done = {e["table"] for e in committed if e.get("after") == entry["end_lsn"] and "table" in e}
        return [t for t in entry.get("reload", []) if t not in done]

    # -- change capture -----------------------------------------------------------------
    def capture(self, conn) -> IngestResult:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_current_wal_lsn()::text")
            upto = cur.fetchone()[0]
            cur.execute(
                "SELECT data FROM pg_logical_slot_peek_binary_changes(%s, %s::pg_lsn, NULL, "
                "'proto_version', '1', 'publication_names', %s)",
                (self.slot, upto, self.publication),
            )
            decoder, batch = Decoder(), Batch(self.schema, self.tables)
            for row in cur:
                txn = decoder.feed(row[0])
                if txn is not None:
                    batch.add(txn)
        result = IngestResult(mode="cdc", end_lsn=upto)
        reload, new_columns = self._schema_changes(conn, batch)
        for name, table in batch.tables.items():
            self._look_up_unchanged(conn, name, table)
        files = {**new_columns, **batch.table_files()}
        files = {t: f for t, f in files.items() if t not in reload}
        if files or reload:
            moment = datetime.now(UTC)
            for table, data in files.items():
                rel = self._rel(table, self._cdc_name(table, moment))
                dms.write_in_progress(data, self.bronze / rel)
                result.files.append(rel)
                result.rows[table] = data.num_rows
            entry = {"kind": "cdc", "end_lsn": upto, "files": result.files, "rows": result.rows, "reload": reload}
            self._commit(entry)
            for table in reload:
                self.reload_table(conn, table, upto)
        with conn.cursor() as cur:  # also moves past WAL that held no changes for us
            cur.execute("SELECT pg_replication_slot_advance(%s, %s::pg_lsn)", (self.slot, upto))
        return result

    def _schema_changes(self, conn, batch: Batch) -> tuple[list[str], dict]:
        """Tables to reload, and empty change files that carry a new column to Silver.

        A column the catalog has and Bronze does not was added (the source's DDL, which DMS captures through
        its event trigger). With a default or NOT NULL, PostgreSQL filled the existing rows without writing
        them to WAL: only a reload gets them. A nullable column without a default is NULL in every existing
        row: when no row of the table changed in this batch, an empty change file with the new schema brings
        the column to Silver. A TRUNCATE reloads its table too."""
        with conn.cursor() as cur:
            cur.execute("SELECT c.relname, a.attname, a.atttypid::int, a.atttypmod, a.atthasdef OR a.attnotnull "
                        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON "
                        "n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = ANY(%s) AND a.attnum > 0 "
                        "AND NOT a.attisdropped ORDER BY c.relname, a.attnum", (self.schema, list(self.tables)))
            catalog: dict[str, list[tuple]] = {}
            for table, *column in cur.fetchall():
                catalog.setdefault(table, []).append(tuple(column))
        reload, new_columns = [], {}
        for table, columns in catalog.items():
            changed = batch.tables.get(table)
            known = self._bronze_columns(table)
            added = [c for c in columns if known is not None and c[0] not in known]
            if (changed is not None and changed.truncated) or any(filled for *_, filled in added):
                reload.append(table)
            elif added and (changed is None or not changed.rows):
                schema = dms.bronze_schema([(n, dms.arrow_type(o, m)) for n, o, m, _ in columns], cdc=True)
                new_columns[table] = schema.empty_table()
        return sorted(reload), new_columns

    def _bronze_columns(self, table: str) -> set[str] | None:
        latest = dms.latest_file(dms.table_dir(self.bronze, self.schema, table))
        return set(pq.read_schema(latest).names) if latest else None

    def _look_up_unchanged(self, conn, name: str, table: TableBatch) -> None:
        """Fill unchanged large values from the source row by key, as DMS does for LOB columns. The value
        read may be newer than the change; the newer change is in this or a later batch and wins the merge."""
        rows = table.unchanged_rows()
        if not rows:
            return
        wanted = sorted({c for row in rows for c, v in row.items() if v is UNCHANGED})
        keys = list(table.key)
        sql = (f"SELECT {', '.join(_quote(k) + '::text' for k in keys)}, {', '.join(_quote(c) + '::text' for c in wanted)} "
               f"FROM {self._qualified(name)} WHERE ({', '.join(_quote(k) + '::text' for k in keys)}) IN %s")
        with conn.cursor() as cur:
            cur.execute(sql, (tuple(tuple(row[k] for k in keys) for row in rows),))
            found = {tuple(r[:len(keys)]): dict(zip(wanted, r[len(keys):], strict=True)) for r in cur.fetchall()}
        for row in rows:
            current = found.get(tuple(row[k] for k in keys), {})
            for column in wanted:
                if row.get(column) is UNCHANGED:
                    row[column] = current.get(column)

    # -- journal -----------------------------------------------------------------------
    def _commit(self, entry: dict) -> None:
        self.journal.mkdir(parents=True, exist_ok=True)
        final = self.journal / f"{lsn_to_int(entry['end_lsn']):016X}-{entry['kind']}.json"
        tmp = final.with_suffix(".tmp")
        tmp.write_text(json.dumps({**entry, "committed_at": datetime.now(UTC).isoformat()}, indent=1))
        dms.fsync_path(tmp)
        tmp.replace(final)
        dms.fsync_path(self.journal)
        self._publish(entry)

    def _publish(self, entry: dict) -> None:
        dirs = set()
        for rel in entry["files"]:
            final = self.bronze / rel
            tmp = final.with_name(final.name + dms.IN_PROGRESS)
            if tmp.exists():
                tmp.replace(final)
                dirs.add(final.parent)
        for d in dirs:
            dms.fsync_path(d)

    def _journal_entries(self) -> list[dict]:
        if not self.journal.exists():
            return []
        return [json.loads(p.read_text()) for p in sorted(self.journal.glob("*.json"))]

    def _has_load(self) -> bool:
        return any(e["kind"] == "full_load" for e in self._journal_entries())

    def _archive_generation(self) -> None:
        """Move an earlier Bronze generation aside (never delete it) before a fresh full load."""
        old = [self.bronze / self.schema, self.journal]
        if not any(p.exists() for p in old):
            return
        dest = self.bronze / ARCHIVE / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        dest.mkdir(parents=True)
        for path in old:
            if path.exists():
                shutil.move(str(path), str(dest / path.name))
        log.warning("no live replication slot: archived the previous Bronze generation to %s", dest)

    # -- helpers -----------------------------------------------------------------------
    def _connect(self, **kwargs):
        return closing(connect(self.conn_info, **kwargs))

    def _require_publication(self, conn) -> None:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (self.publication,))
            if cur.fetchone() is None:
                raise ConfigError(
                    f"source database {self.conn_info.dbname} has no publication {self.publication!r}: "
                    "it has not been seeded (`edp seed`)"
                )

    def _slot_lsn(self, conn) -> int | None:
        with conn.cursor() as cur:
            cur.execute("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s", (self.slot,))
            row = cur.fetchone()
        return lsn_to_int(row[0]) if row and row[0] else None

    def _columns(self, cur, table: str) -> list[tuple[str, int, int]]:
        cur.execute(
            "SELECT attname, atttypid, atttypmod FROM pg_attribute WHERE attrelid = %s::regclass "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (self._qualified(table),),
        )
        return [(n, int(o), int(m)) for n, o, m in cur.fetchall()]

    def _qualified(self, table: str) -> str:
        return f"{_quote(self.schema)}.{_quote(table)}"

    def _rel(self, table: str, name: str) -> str:
        return str(dms.table_dir(Path(""), self.schema, table) / name)

    def _cdc_name(self, table: str, moment: datetime) -> str:
        """DMS names CDC files by time, in the date folder of that time; step a millisecond on the rare clash
        so nothing is overwritten."""
        folder = dms.table_dir(self.bronze, self.schema, table)
        while True:
            name = dms.cdc_file_path(moment)
            if not (folder / name).exists() and not (folder / (name + dms.IN_PROGRESS)).exists():
                return name
            moment += timedelta(milliseconds=1)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def connect(info: Connection, **kwargs):
    """A connection to the source with the output settings every path relies on."""
    import psycopg2

    return psycopg2.connect(info.dsn(), options=OUTPUT_SETTINGS, **kwargs)


@contextmanager
def answers_in_time():
    """While the local DMS works, every source connection fails after EDP_SOURCE_TIMEOUT_SECONDS without an
    answer (connecting, or waiting on a query) rather than hanging. psycopg2's wait callback is global to the
    process, and other work in it (a COPY into the serving schema) cannot run with one, so it is set for the
    DMS's own calls only."""
    import psycopg2.extensions

    previous = psycopg2.extensions.get_wait_callback()
    psycopg2.extensions.set_wait_callback(_wait_or_give_up)
    try:
        yield
    finally:
        psycopg2.extensions.set_wait_callback(previous)


def _wait_or_give_up(conn) -> None:
    """psycopg2's wait callback: poll the connection, and give up after the idle timeout. A stopped server
    still has its socket acknowledged by the kernel, so only the absence of an answer can tell."""
    import psycopg2.extensions as ext

    idle = float(os.environ.get(TIMEOUT_ENV, "60"))
    while True:
        state = conn.poll()
        if state == ext.POLL_OK:
            return
        reading = state == ext.POLL_READ
        ready = select.select([conn.fileno()] if reading else [], [] if reading else [conn.fileno()], [], idle)
        if not (ready[0] or ready[1]):
            params = conn.get_dsn_parameters()
            raise SourceUnresponsive(f"the source database {params.get('host')}:{params.get('port')}/"
                                     f"{params.get('dbname')} did not answer for {idle:.0f} s "
                                     f"({TIMEOUT_ENV}); is it running and reachable?")
