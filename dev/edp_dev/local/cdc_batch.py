"""One captured batch of changes, arranged the way DMS writes them to Bronze: one file per table.

A batch can span schema changes (an ALTER TABLE between two transactions sends a new Relation message), so a
table's columns are the union of every version seen, in source order, each with its latest type; rows of an
older version carry NULL in columns it did not have yet. A change carries the before image of the key
columns (`BI_<key>`, DMS's `add-before-image-columns` rule): on an update that moved a row to a new key they
hold the old key, which the merge deletes. Large values the update did not touch (unchanged TOAST values,
which PostgreSQL does not write to WAL) are looked up in the source table by key, as DMS does for LOB
columns; a TRUNCATE marks its table for a reload.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from edp_dev.local import dms_format as dms
from edp_dev.local.pgoutput import UNCHANGED, Change, Relation, Transaction


@dataclass
class TableBatch:
    """The changes of one table in one batch."""

    columns: dict[str, pa.DataType] = field(default_factory=dict)  # name -> type, source order
    key: tuple[str, ...] = ()
    rows: list[dict] = field(default_factory=list)
    truncated: bool = False

    def schema(self) -> pa.Schema:
        key = [(k, self.columns[k]) for k in self.key]
        return dms.bronze_schema(self.columns.items(), cdc=True, key=key)

    def text_columns(self) -> list[str]:
        return [*self.columns, *(dms.BEFORE_IMAGE_PREFIX + k for k in self.key)]

    def add_relation(self, rel: Relation) -> None:
        for col in rel.columns:
            self.columns[col.name] = dms.arrow_type(col.type_oid, col.typmod)  # a later version's type wins
        self.key = tuple(c.name for c in rel.columns if c.is_key) or self.key

    def unchanged_rows(self) -> list[dict]:
        return [row for row in self.rows if any(v is UNCHANGED for v in row.values())]


class Batch:
    """Changes of the replicated tables in one batch, grouped per table."""

    def __init__(self, schema: str, tables: tuple[str, ...]):
        self.schema = schema
        self.wanted = set(tables)
        self.tables: dict[str, TableBatch] = {}

    def add(self, txn: Transaction) -> None:
        ts = dms.format_timestamp(txn.commit_time) if txn.commit_time else ""
        for ordinal, change in enumerate(txn.changes):
            rel = change.relation
            if rel.schema != self.schema or rel.name not in self.wanted:
                continue
            table = self.tables.setdefault(rel.name, TableBatch())
            table.add_relation(rel)
            if change.op == "T":
                table.truncated = True
                continue
            table.rows.append(self._row(change, ts, dms.change_seq(txn.commit_lsn, ordinal)))

    @staticmethod
    def _row(change: Change, ts: str, seq: str) -> dict:
        row = dict(change.values)
        row.update({dms.OP_COLUMN: change.op, dms.TIMESTAMP_COLUMN: ts, dms.SEQ_COLUMN: seq})
        keys = [c.name for c in change.relation.columns if c.is_key]
        if change.op == "U":  # the key before the change: the old one when it moved, else the same
            before = change.old_key or {k: change.values[k] for k in keys}
            row.update({dms.BEFORE_IMAGE_PREFIX + k: before[k] for k in keys})
        return row

    def table_files(self) -> dict[str, pa.Table]:
        """Each table's changes as the Arrow table of its Bronze CDC file (tables with rows only)."""
        out = {}
        for name, table in self.tables.items():
            if table.rows:
                out[name] = dms.build_text_table(table.schema(), table.rows, table.text_columns())
        return out
