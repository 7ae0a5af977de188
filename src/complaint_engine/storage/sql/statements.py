"""The statement text both SQL backends share, how a driver spells it (:class:`Dialect`), and the typed shape
of a DB-API connection the units work on."""

from __future__ import annotations

import functools

import attrs

from complaint_engine.errors import StorageError
from complaint_engine.messages import Message
from complaint_engine.storage.dbapi import Value
from complaint_engine.storage.schema import (
    COMPLAINT_COLUMNS,
    INDEXED,
    INSERT_COMPLAINT,
    TRANSITION_COLUMNS,
)

__all__ = [
    "ALL_UNINDEXED",
    "HISTORY_SQL",
    "INDEXED_AT",
    "INSERT_COMPLAINT_ONCE",
    "IN_LIST",
    "OFFICES_SQL",
    "SERIAL_AT",
    "VERSION_AT",
    "Dialect",
    "as_int",
    "as_str",
    "logged_update_statement",
    "office_terms",
    "update_statement",
]



def as_int(value: Value) -> int:
    """A column that holds an integer (a version, a count, microseconds)."""
    if isinstance(value, int):
        return value
    raise StorageError(Message("the database returned {value!r} where an integer is stored", value=value))


def as_str(value: Value) -> str:
    """A column that holds text (an id, a document)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8")
    raise StorageError(Message("the database returned {value!r} where text is stored", value=value))


@attrs.frozen
class Dialect:
    """How one driver spells things: its placeholder, its integrity-error class and its base error class."""

    placeholder: str
    integrity_error: type[Exception]
    driver_error: type[Exception]
    # "column is one of a query's values", spelled so that the planner ranges over an index once for each
    # value: PostgreSQL plans ``IN (query)`` as a join that reads the whole index, ``= ANY(ARRAY(query))``
    # as one index scan over the values
    one_of: str = "IN ({})"
    # after a text column in ORDER BY: order by code point, as Python and SQLite do (a PostgreSQL database's
    # collation may order "X1" before "x0" or not, "a b" before "B" or not)
    by_code_point: str = ""

    def sql(self, statement: str) -> str:
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)


VERSION_AT = COMPLAINT_COLUMNS.index("version")  # version, doc and the facts follow
INDEXED_AT = tuple(COMPLAINT_COLUMNS.index(name) for name in INDEXED)
SERIAL_AT = COMPLAINT_COLUMNS.index("serial")
ALL_UNINDEXED = tuple(range(VERSION_AT, len(COMPLAINT_COLUMNS)))
INSERT_COMPLAINT_ONCE = INSERT_COMPLAINT + " ON CONFLICT DO NOTHING"  # see SQLUnit.add
IN_LIST = 500  # values per ``IN (…)`` list (the histories of many complaints, the ids of a refused batch)
HISTORY_SQL = (f"SELECT {', '.join(TRANSITION_COLUMNS[:1] + TRANSITION_COLUMNS[2:])} "
               "FROM transitions WHERE complaint_id IN ({ids}) ORDER BY complaint_id, seq")
# The register's offices, one probe of the (office, received_us) index an office: a skip scan, where
# DISTINCT reads every entry. Queries by received instant without an office name their offices with it, so
# they range over that index office by office instead of reading the whole table (the index leads with the
# office; neither SQLite without statistics nor PostgreSQL skips along it on its own).
OFFICES_SQL = ("WITH RECURSIVE o(office) AS (SELECT min(office) FROM complaints UNION ALL "
               "SELECT (SELECT min(office) FROM complaints WHERE office > o.office) FROM o "
               "WHERE o.office IS NOT NULL) SELECT office FROM o WHERE office IS NOT NULL")


def office_terms(office: str | None, args: list[Value], dialect: Dialect, *, by_receipt: bool) -> list[str]:
    """The WHERE terms naming the office: the office given; in a query by instant of receipt without one,
    every office of the register, so that it ranges over the office index office by office."""
    if office is not None:
        args.append(office)
        return ["office = ?"]
    return [f"office {dialect.one_of.format(OFFICES_SQL)}"] if by_receipt else []


@functools.lru_cache(maxsize=1024)
def update_statement(columns: tuple[int, ...]) -> str:
    """The optimistic UPDATE of a complaint row setting the given columns (positions in COMPLAINT_COLUMNS).
    Parameters: the values set, then id, version and office. One that sets the serial matches no row while
    another complaint holds that serial (parameters: the serial and the id again): a refusal the unit of work
    survives, where the unique index's error would abort a PostgreSQL transaction whole."""
    sets = ", ".join(f"{COMPLAINT_COLUMNS[i]} = ?" for i in columns)
    guard = (" AND NOT EXISTS (SELECT 1 FROM complaints AS holder WHERE holder.serial = ? AND holder.id <> ?)"
             if SERIAL_AT in columns else "")
    # the office in the condition: a save that moves a complaint to another office matches no row, and is refused
    return f"UPDATE complaints SET {sets} WHERE id = ? AND version = ? AND office = ?{guard}"


@functools.lru_cache(maxsize=1024)
def logged_update_statement(columns: tuple[int, ...]) -> str:
    """The optimistic UPDATE and the transition row it logs, in one statement (one round trip to a server):
    the row is inserted only when the update matched, so the statement's row count says which happened."""
    return (f"WITH updated AS ({update_statement(columns)} RETURNING id) "
            f"INSERT INTO transitions ({', '.join(TRANSITION_COLUMNS)}) "
            f"SELECT updated.id, {', '.join('?' for _ in TRANSITION_COLUMNS[1:])} FROM updated")
