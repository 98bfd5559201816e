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
"""

from __future__ import annotations

import json
import logging
import shutil
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edp.settings import ConfigError
from edp_dev.local import dms_format as dms
from edp_dev.local.pgoutput import Decoder, Transaction
from edp_dev.local.postgres import Connection

log = logging.getLogger(__name__)

SLOT = "edp_dms_slot"
JOURNAL = "_dms_journal"
ARCHIVE = "_archive"


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
        with self._connect() as conn:
            conn.autocommit = True
            self._require_publication(conn)
            self.recover(conn)
            if self._slot_lsn(conn) is None or not self._has_load():
                return self.full_load(conn)
            return self.capture(conn)

    def require_source(self) -> None:
        """Fail now, with the reason, if the source cannot be replicated (not seeded, no publication)."""
        with self._connect() as conn:
            self._require_publication(conn)

    def drop_slot(self) -> bool:
        """Release the slot so PostgreSQL stops retaining WAL for it (session teardown)."""
        with self._connect() as conn:
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
        repl = psycopg2.connect(self.conn_info.dsn(), connection_factory=psycopg2.extras.LogicalReplicationConnection)
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
                        columns = self._columns(cur, table)
                        schema = dms.bronze_schema([(n, dms.arrow_type(o, m)) for n, o, m in columns], cdc=False)
                        cur.execute(f'SELECT * FROM "{self.schema}"."{table}"')
                        names = [d[0] for d in cur.description]
                        rows = [dict(zip(names, r, strict=True), **{dms.TIMESTAMP_COLUMN: transfer_ts}) for r in cur.fetchall()]
                        rel = self._rel(table, dms.load_file_name(1))
                        dms.write_in_progress(dms.build_table(schema, rows), self.bronze / rel)
                        result.files.append(rel)
                        result.rows[table] = len(rows)
                    cur.execute("COMMIT")
        finally:
            repl.close()
        self._commit({"kind": "full_load", "end_lsn": consistent_point, "files": result.files, "rows": result.rows})
        return result

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
            decoder = Decoder()
            transactions = [t for t in (decoder.feed(row[0]) for row in cur) if t is not None]
        result = IngestResult(mode="cdc", end_lsn=upto)
        per_table = self._rows_by_table(transactions)
        if per_table:
            moment = datetime.now(UTC)
            for table, (schema, rows) in per_table.items():
                rel = self._rel(table, self._cdc_name(table, moment))
                dms.write_in_progress(dms.build_table(schema, rows), self.bronze / rel)
                result.files.append(rel)
                result.rows[table] = len(rows)
            self._commit({"kind": "cdc", "end_lsn": upto, "files": result.files, "rows": result.rows})
        with conn.cursor() as cur:  # also moves past WAL that held no changes for us
            cur.execute("SELECT pg_replication_slot_advance(%s, %s::pg_lsn)", (self.slot, upto))
        return result

    def _rows_by_table(self, transactions: list[Transaction]) -> dict:
        out: dict[str, tuple] = {}
        for txn in transactions:
            ts = dms.format_timestamp(txn.commit_time)
            for ordinal, change in enumerate(txn.changes):
                rel = change.relation
                if rel.schema != self.schema or rel.name not in self.tables:
                    continue
                if rel.name not in out:
                    cols = [(c.name, dms.arrow_type(c.type_oid, c.typmod)) for c in rel.columns]
                    out[rel.name] = (dms.bronze_schema(cols, cdc=True), [])
                row = {c.name: dms.from_text(change.values[c.name], c.type_oid) for c in rel.columns}
                row[dms.OP_COLUMN] = change.op
                row[dms.TIMESTAMP_COLUMN] = ts
                row[dms.SEQ_COLUMN] = dms.change_seq(txn.commit_lsn, ordinal)
                out[rel.name][1].append(row)
        return out

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
    def _connect(self):
        import psycopg2

        return closing(psycopg2.connect(self.conn_info.dsn()))

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
            (f'"{self.schema}"."{table}"',),
        )
        return [(n, int(o), int(m)) for n, o, m in cur.fetchall()]

    def _rel(self, table: str, name: str) -> str:
        return str(dms.table_dir(Path(""), self.schema, table) / name)

    def _cdc_name(self, table: str, moment: datetime) -> str:
        """DMS names CDC files by time; step a millisecond on the rare clash so nothing is overwritten."""
        folder = dms.table_dir(self.bronze, self.schema, table)
        while True:
            name = dms.cdc_file_name(moment)
            if not (folder / name).exists() and not (folder / (name + dms.IN_PROGRESS)).exists():
                return name
            moment += timedelta(milliseconds=1)
