"""What the audit reads of a SQL store as it is stored: the digests of the documents, the transition rows."""

from __future__ import annotations

from complaint_engine.storage.dbapi import Cursor, Params, Row
from complaint_engine.storage.lean import document_text
from complaint_engine.storage.schema import TRANSITION_COLUMNS, document_digest, transition_of, transition_row
from complaint_engine.storage.sql.statements import IN_LIST, as_int

__all__ = ["StoredRecords"]


class StoredRecords:
    """Mixed into :class:`~complaint_engine.storage.sql.unit.SQLUnit`, which provides ``_execute``."""

    def _execute(self, statement: str, args: Params = ()) -> Cursor:
        raise NotImplementedError  # the unit's

    def document_digests(self, ids: list[str]) -> dict[str, str]:
        """The digest of each stored document's text (for the audit: what its last link must carry)."""
        out: dict[str, str] = {}
        for i in range(0, len(ids), IN_LIST):
            chunk = ids[i:i + IN_LIST]
            marks = ", ".join("?" for _ in chunk)
            for cid, doc in self._execute(f"SELECT id, doc FROM complaints WHERE id IN ({marks})", chunk).fetchall():
                out[str(cid)] = document_digest(document_text(doc, str(cid)))
        return out

    def history(self, complaint_id: str) -> list[Row]:
        """The append-only transition rows of a complaint, in order, in their text form: (seq, event, source,
        target, actor, role, at, note, office, recorded_at, hash)."""
        out: list[Row] = []
        for row in self._execute(f"SELECT {', '.join(TRANSITION_COLUMNS[1:])} FROM transitions "
                                 "WHERE complaint_id = ? ORDER BY seq", (complaint_id,)).fetchall():
            t = transition_of(row[1:])
            _cid, seq, event, source, target, actor, role, office, at, note, recorded = transition_row(
                complaint_id, as_int(row[0]), t)
            out.append((seq, event, source, target, actor, role, at, note, office, recorded, t.hash))
        return out
