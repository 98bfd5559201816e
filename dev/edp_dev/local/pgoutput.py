"""A decoder for PostgreSQL's built-in `pgoutput` logical replication protocol (version 1).

We read the slot through `pg_logical_slot_peek_binary_changes`, which yields the
same messages a walsender streams.  Decoding them ourselves keeps the column
names and type OIDs that the Relation message carries, so Bronze files get
exact types instead of text parsed back from `test_decoding`.

Message layouts: https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from edp.settings import PermanentError

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Column:
    name: str
    type_oid: int
    typmod: int
    is_key: bool


@dataclass(frozen=True)
class Relation:
    relid: int
    schema: str
    name: str
    columns: tuple[Column, ...]


UNCHANGED = object()  # an unchanged TOAST value the message leaves out (no old image to take it from)


@dataclass
class Change:
    """One row change: `op` is I, U, D, or T (a TRUNCATE of `relation`, with no values); values are text as
    PostgreSQL sent them (None for NULL, UNCHANGED for a large value the update did not touch). `old_key` is
    the key before an update that changed it (pgoutput sends it then), else None."""

    op: str
    relation: Relation
    values: dict[str, object]
    old_key: dict[str, str | None] | None = None

    @property
    def unchanged(self) -> list[str]:
        return [name for name, value in self.values.items() if value is UNCHANGED]


@dataclass
class Transaction:
    xid: int
    commit_lsn: int = 0
    end_lsn: int = 0
    commit_time: datetime | None = None
    changes: list[Change] = field(default_factory=list)


class DecodeError(ValueError, PermanentError):
    """A message we cannot turn into row changes; the slot is left where it was (retrying reads it again)."""


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return value

    def byte(self) -> str:
        value = chr(self.data[self.pos])
        self.pos += 1
        return value

    def string(self) -> str:
        end = self.data.index(b"\0", self.pos)
        value = self.data[self.pos:end].decode()
        self.pos = end + 1
        return value

    def raw(self, size: int) -> bytes:
        value = self.data[self.pos:self.pos + size]
        self.pos += size
        return value


def pg_time(micros: int) -> datetime:
    return PG_EPOCH + timedelta(microseconds=micros)


class Decoder:
    """Feeds messages in order; yields complete transactions at their Commit."""

    def __init__(self) -> None:
        self.relations: dict[int, Relation] = {}
        self.current: Transaction | None = None

    def feed(self, data: bytes) -> Transaction | None:
        r = _Reader(bytes(data))
        handler = self._handlers.get(r.byte())
        # 'O' (origin), 'Y' (type) and 'M' (message) carry nothing we store.
        return handler(self, r) if handler else None

    def _begin(self, r: _Reader) -> None:
        r.take(">q")  # final lsn
        commit_time = pg_time(r.take(">q"))
        self.current = Transaction(xid=r.take(">I"), commit_time=commit_time)

    def _commit(self, r: _Reader) -> Transaction:
        txn = self._txn("Commit")
        r.take(">b")
        txn.commit_lsn = r.take(">Q")
        txn.end_lsn = r.take(">Q")
        txn.commit_time = pg_time(r.take(">q"))
        self.current = None
        return txn

    def _relation_message(self, r: _Reader) -> None:
        relid = r.take(">I")
        schema, name = r.string(), r.string()
        r.byte()  # replica identity setting
        cols = []
        for _ in range(r.take(">h")):
            flags = r.take(">b")
            cols.append(Column(name=r.string(), type_oid=r.take(">I"), typmod=r.take(">i"), is_key=bool(flags & 1)))
        self.relations[relid] = Relation(relid, schema, name, tuple(cols))

    def _insert(self, r: _Reader) -> None:
        rel = self._relation(r.take(">I"))
        if r.byte() != "N":
            raise DecodeError(f"{rel.schema}.{rel.name}: Insert without a new tuple")
        self._txn("Insert").changes.append(Change("I", rel, self._tuple(r, rel)))

    def _update(self, r: _Reader) -> None:
        rel = self._relation(r.take(">I"))
        marker = r.byte()
        old, full_old = None, False
        if marker in ("K", "O"):
            old, full_old = self._tuple(r, rel), marker == "O"  # K: the key columns only, others NULL
            marker = r.byte()
        if marker != "N":
            raise DecodeError(f"{rel.schema}.{rel.name}: Update without a new tuple")
        new = self._tuple(r, rel, old if full_old else None)
        # 'K' comes only when the key changed; with REPLICA IDENTITY FULL ('O') compare the key columns
        keys = [c.name for c in rel.columns if c.is_key]
        moved = old is not None and any(old.get(k) != new.get(k) for k in keys)
        old_key = {k: old[k] for k in keys} if moved and old is not None else None
        self._txn("Update").changes.append(Change("U", rel, new, old_key))

    def _delete(self, r: _Reader) -> None:
        rel = self._relation(r.take(">I"))
        if r.byte() not in ("K", "O"):
            raise DecodeError(f"{rel.schema}.{rel.name}: Delete without key or old tuple")
        self._txn("Delete").changes.append(Change("D", rel, self._tuple(r, rel)))

    def _truncate(self, r: _Reader) -> None:
        """A TRUNCATE has no row changes to send: it becomes a T change per table, which the capture turns
        into a reload of that table."""
        count = r.take(">i")
        r.take(">b")
        txn = self._txn("Truncate")
        for _ in range(count):
            txn.changes.append(Change("T", self._relation(r.take(">I")), {}))

    _handlers = {"B": _begin, "C": _commit, "R": _relation_message, "I": _insert, "U": _update, "D": _delete,
                 "T": _truncate}

    def _txn(self, what: str) -> Transaction:
        if self.current is None:
            raise DecodeError(f"{what} message outside a transaction")
        return self.current

    def _relation(self, relid: int) -> Relation:
        try:
            return self.relations[relid]
        except KeyError:
            raise DecodeError(f"change for relation {relid} before its Relation message") from None

    @staticmethod
    def _tuple(r: _Reader, rel: Relation, fallback: dict | None = None) -> dict:
        count = r.take(">h")
        if count != len(rel.columns):
            raise DecodeError(f"{rel.schema}.{rel.name}: tuple has {count} columns, relation has {len(rel.columns)}")
        values: dict[str, object] = {}
        for col in rel.columns:
            kind = r.byte()
            if kind == "n":
                values[col.name] = None
            elif kind == "t":
                values[col.name] = r.raw(r.take(">i")).decode()
            elif kind == "u":  # unchanged TOAST value: from the old image when there is one, else looked up later
                values[col.name] = fallback[col.name] if fallback is not None and col.name in fallback else UNCHANGED
            else:
                raise DecodeError(f"{rel.schema}.{rel.name}.{col.name}: unsupported tuple value kind {kind!r}")
        return values
