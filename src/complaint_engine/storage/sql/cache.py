"""The document cache of a SQL repository, and what a save needs to write."""

from __future__ import annotations

from complaint_engine.model import Complaint
from complaint_engine.storage.dbapi import Row, Value
from complaint_engine.storage.schema import next_due_us
from complaint_engine.storage.sql.statements import ALL_UNINDEXED, INDEXED_AT, VERSION_AT

__all__ = ["DocumentCache", "columns_to_set"]


def columns_to_set(row: Row, before: Complaint | None, before_row: Row | None) -> tuple[int, ...]:
    """Which columns a save sets. Every column in SET costs a bound parameter and its share of the new record,
    and an index entry is rewritten whenever its column is in SET, even to the same value: with the stored
    row at hand, set only what changed (the version always does); with only the stored object, only the
    indexed columns that changed and everything else; with neither, everything but the id, office and
    received instant (which no verb changes)."""
    if before_row is not None:
        return tuple(i for i in range(2, len(row)) if row[i] != before_row[i] or i == VERSION_AT)
    if before is None:
        return (*INDEXED_AT, *ALL_UNINDEXED)
    old = (before.status._value_, before.serial, next_due_us(before))
    return (*(i for i, was in zip(INDEXED_AT, old, strict=True) if row[i] != was), *ALL_UNINDEXED)


class DocumentCache:
    """Committed complaints by id, each with the stored (packed) document it was read from or written as (and its
    stored row when this process wrote it), checked against the stored row on every read.

    Parsing a document costs more than the rest of a desk verb, reading its text far less. A cached object is
    served only when the stored version **and** the stored document are the ones it came from: a
    correction made out of band (another program, a repair by hand) that kept the version is read afresh,
    never served stale and overwritten. Only committed content is cached: reads of rows this transaction
    wrote are not, and saved objects enter the cache only when their transaction commits.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._items: dict[str, tuple[Complaint, Row | None, Value]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def get(self, key: str, version: int, doc: Value) -> Complaint | None:
        """The cached complaint when the stored ``version`` and stored document ``doc`` are its own."""
        found = self._items.get(key)
        return found[0] if found is not None and found[0].version == version and found[2] == doc else None

    def entry(self, key: str, version: int) -> tuple[Complaint, Row | None] | None:
        """The cached complaint at ``version`` with its stored row (None when it was read, not written, here);
        for a save, whose versioned update is refused when the stored row moved on."""
        found = self._items.get(key)
        return (found[0], found[1]) if found is not None and found[0].version == version else None

    def put(self, complaint: Complaint, doc: Value, row: Row | None = None) -> None:
        if len(self._items) >= self._size:
            self._items.pop(next(iter(self._items)))
        self._items[complaint.id] = (complaint, row, doc)
