"""The codes of a SQL store's coded fact texts (``facts.CODED``): each distinct text once in its ``names`` table,
the complaint rows holding its integer code."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NoReturn

from complaint_engine.errors import StorageError
from complaint_engine.facts import FactValue
from complaint_engine.messages import Message
from complaint_engine.storage.dbapi import Cursor, Params, Row
from complaint_engine.storage.sql.statements import as_int, as_str

__all__ = ["NAMES_SQL", "NameCodes", "labels_of"]


class NameCodes:
    """Mixed into :class:`~complaint_engine.storage.sql.unit.SQLUnit`, which provides ``_execute``, ``location``
    and the two maps of codes: ``_names``, those known committed (shared by the repository's units), and
    ``_new_names``, those this unit entered or read first — they join the shared ones when it commits (a code
    entered by a unit that rolls back may be given to another text)."""

    location: str | None
    _names: dict[str, int]
    _new_names: dict[str, int]

    def _execute(self, statement: str, args: Params = ()) -> Cursor:
        raise NotImplementedError  # the unit's

    def _codes(self, texts: Sequence[FactValue]) -> list[int | None]:
        """The store's codes of coded facts' texts (facts.CODED), the new ones entered in its ``names`` — all in
        one statement: a verb bringing a text never stored before waits for a server once more, once."""
        known, new = self._names, self._new_names
        missing = sorted({str(t) for t in texts if t is not None and t not in known and t not in new})
        if missing:
            marks = ", ".join("(?)" for _ in missing)
            for code, name in self._execute(f"INSERT INTO names (name) VALUES {marks} ON CONFLICT (name) DO NOTHING "
                                            "RETURNING code, name", missing).fetchall():
                new[as_str(name)] = as_int(code)
            left = [name for name in missing if name not in new]
            if left:  # entered meanwhile by another unit
                found = self._execute(f"SELECT code, name FROM names WHERE name IN ({', '.join('?' for _ in left)})",
                                      left).fetchall()
                new.update((as_str(name), as_int(code)) for code, name in found)
                if len(found) < len(left):
                    self._no_code()
        return [None if t is None else known.get(str(t)) or new[str(t)] for t in texts]

    def _no_code(self) -> NoReturn:
        raise StorageError(Message("the database {location} gave no code for a name", location=self.location),
                           location=self.location)

    def _labels(self) -> list[str | None]:
        """The store's names by code (None where no name has the code, and at 0, which a read gives for NULL)."""
        return labels_of(self._execute(NAMES_SQL).fetchall())


NAMES_SQL = "SELECT code, name FROM names"


def labels_of(rows: Iterable[Row]) -> list[str | None]:
    """Names by code from the rows of :data:`NAMES_SQL` (None where no name has the code, and at 0)."""
    named = [(as_int(code), as_str(name)) for code, name in rows]
    labels: list[str | None] = [None] * (max((code for code, _ in named), default=0) + 1)
    for code, name in named:
        labels[code] = name
    return labels
