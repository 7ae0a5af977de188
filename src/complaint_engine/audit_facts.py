"""The audit's check of the analysis columns: each stored fact row must be the one the stored document gives.

The periodic analysis, the KPIs and the what-if replay read the fact columns, not the documents; a column edited
behind the desk (a breach cleared, a satisfaction raised) changes every report without touching a document or a
transition. The audit keeps a digest of the facts each document gives as it reads it (a few bytes a
complaint), then reads the stored columns once and names the columns that differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from complaint_engine.facts import FACT_COLUMNS, NULL_US, FactRow, facts_of
from complaint_engine.model import Complaint

__all__ = ["FactDigests"]

_KINDS = tuple(kind for _, kind in FACT_COLUMNS)
_NAMES = tuple(name for name, _ in FACT_COLUMNS)


def _canonical(row: FactRow) -> tuple[object, ...]:
    """Text as str, instants as int µs (None when absent), counts and flags as int (a columnar read gives 0 for
    a flag the row leaves NULL)."""
    return tuple(int(v or 0) if kind == "int" else None if v is None else str(v) if kind == "text" else int(v)
                 for v, kind in zip(row, _KINDS, strict=True))


def _digest(row: FactRow) -> bytes:
    return hashlib.blake2b(repr(_canonical(row)).encode(), digest_size=12).digest()


_CHUNK = 10_000  # rows turned into Python values at a time: the audit's memory stays that of the columns


def _stored_rows(frame: Mapping[str, Any]) -> Iterator[tuple[str, FactRow]]:
    """The rows of a store's columnar read, as fact rows (instants as int µs, NaT as None), a chunk at a time."""
    for start in range(0, len(frame["id"]), _CHUNK):
        part = slice(start, start + _CHUNK)
        columns = []
        for name, kind in FACT_COLUMNS:
            values = frame[name][part]
            if kind == "us":  # NaT's int64 reading is the minimum: one comparison for the whole chunk
                ints = values.astype("datetime64[us]").view(np.int64)
                columns.append([None if missing else i for i, missing in
                                zip(ints.tolist(), (ints == NULL_US).tolist(), strict=True)])
            else:
                columns.append(values.tolist())
        for k, cid in enumerate(frame["id"][part].tolist()):
            yield str(cid), tuple(col[k] for col in columns)


class FactDigests:
    """The digest of each document's facts, and the stored columns compared with them."""

    def __init__(self) -> None:
        self.digests: dict[str, bytes] = {}

    def read(self, c: Complaint) -> None:
        self.digests[c.id] = _digest(facts_of(c))

    def differences(self, frame: Mapping[str, Any], get: Any) -> Iterator[tuple[str, list[str]]]:
        """(complaint id, differing column names) for every stored fact row that is not its document's;
        ``get`` reads a complaint again to name the columns (only for the rows that differ)."""
        for cid, row in _stored_rows(frame):
            expected = self.digests.get(cid)
            if expected is None or _digest(row) == expected:
                continue  # a row whose document the audit could not read is reported as unreadable already
            document = _canonical(facts_of(get(cid)))
            stored = _canonical(row)
            yield cid, [name for name, a, b in zip(_NAMES, document, stored, strict=True) if a != b]
