"""What the SQL backends share: rows, documents and the repository operations on one connection.

Both SQLite and PostgreSQL take the same statements; the dialect supplies the placeholder and the
driver's integrity error. The caller owns the transaction (see each backend's unit of work).
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import threading
from collections.abc import Callable, Iterable
from typing import Any, Concatenate, NoReturn, ParamSpec, TypeVar

import attrs

from complaint_engine.clock import aware, aware_or_none
from complaint_engine.errors import ConcurrencyError, ConnectionLost, NotFound, StorageError, ValidationError
from complaint_engine.facts import NAMES, columns, from_us, to_us
from complaint_engine.model import Announcement, CAPAReport, Complaint, Status, Transition, replace
from complaint_engine.period import Period
from complaint_engine.serialization import from_document, to_document
from complaint_engine.storage.readonly import ReadOnly
from complaint_engine.storage.schema import (
    COMPLAINT_COLUMNS,
    INDEXED,
    INSERT_COMPLAINT,
    INSERT_TRANSITION,
    LIVE,
    STILL_OPEN,
    TRANSITION_COLUMNS,
    complaint_row,
    next_due_us,
    transition_of,
    transition_rows,
)

__all__ = ["Dialect", "SQLRepository", "SQLSnapshot", "SQLTransaction", "SQLUnit"]

P = ParamSpec("P")
R = TypeVar("R")


@attrs.frozen
class Dialect:
    """How one driver spells things: its placeholder, its integrity-error class and its base error class."""

    placeholder: str
    integrity_error: type[BaseException]
    driver_error: type[BaseException]
    # UPDATE inside WITH (PostgreSQL, not SQLite): a save and its transition row go as one statement
    writes_in_with: bool = False
    # "column is one of a query's values", spelled so that the planner ranges over an index once for each
    # value: PostgreSQL plans ``IN (query)`` as a join that reads the whole index, ``= ANY(ARRAY(query))``
    # as one index scan over the values
    one_of: str = "IN ({})"
    # after a text column in ORDER BY: order by code point, as Python and SQLite do (a PostgreSQL database's
    # collation may order "X1" before "x0" or not, "a b" before "B" or not)
    by_code_point: str = ""

    def sql(self, statement: str) -> str:
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)


Row = tuple[Any, ...]  # a complaint's row, in COMPLAINT_COLUMNS order
_VERSION_AT = COMPLAINT_COLUMNS.index("version")  # version, doc and the facts follow
_INDEXED_AT = tuple(COMPLAINT_COLUMNS.index(name) for name in INDEXED)
_SERIAL_AT = COMPLAINT_COLUMNS.index("serial")
_INSERT_COMPLAINT_ONCE = INSERT_COMPLAINT + " ON CONFLICT DO NOTHING"  # see SQLUnit.add
_IN_LIST = 500  # values per ``IN (…)`` list (the histories of many complaints, the ids of a refused batch)
_HISTORY_SQL = ("SELECT complaint_id, event, source, target, actor, role, office, at, note FROM transitions "
                "WHERE complaint_id IN ({ids}) ORDER BY complaint_id, seq")
# The register's offices, one probe of the (office, received_us) index an office: a skip scan, where
# DISTINCT reads every entry. Queries by received instant without an office name their offices with it, so
# they range over that index office by office instead of reading the whole table (the index leads with the
# office; neither SQLite without statistics nor PostgreSQL skips along it on its own).
_OFFICES_SQL = ("WITH RECURSIVE o(office) AS (SELECT min(office) FROM complaints UNION ALL "
                "SELECT (SELECT min(office) FROM complaints WHERE office > o.office) FROM o "
                "WHERE o.office IS NOT NULL) SELECT office FROM o WHERE office IS NOT NULL")


def _office_terms(office: str | None, args: list[Any], dialect: Dialect, *, by_receipt: bool) -> list[str]:
    """The WHERE terms naming the office: the office given; in a query by instant of receipt without one,
    every office of the register, so that it ranges over the office index office by office."""
    if office is not None:
        args.append(office)
        return ["office = ?"]
    return [f"office {dialect.one_of.format(_OFFICES_SQL)}"] if by_receipt else []


@functools.lru_cache(maxsize=1024)
def _update_statement(columns: tuple[int, ...]) -> str:
    """The optimistic UPDATE of a complaint row setting the given columns (positions in COMPLAINT_COLUMNS).
    One that sets the serial matches no row while another complaint holds that serial (parameters: the serial
    and the id again): a refusal the unit of work survives, where the unique index's error would abort a
    PostgreSQL transaction whole."""
    sets = ", ".join(f"{COMPLAINT_COLUMNS[i]} = ?" for i in columns)
    guard = (" AND NOT EXISTS (SELECT 1 FROM complaints AS holder WHERE holder.serial = ? AND holder.id <> ?)"
             if _SERIAL_AT in columns else "")
    return f"UPDATE complaints SET {sets} WHERE id = ? AND version = ?{guard}"


@functools.lru_cache(maxsize=1024)
def _logged_update_statement(columns: tuple[int, ...]) -> str:
    """The optimistic UPDATE and the transition row it logs, in one statement (one round trip to a server):
    the row is inserted only when the update matched, so the statement's row count says which happened."""
    return (f"WITH updated AS ({_update_statement(columns)} RETURNING id) "
            f"INSERT INTO transitions ({', '.join(TRANSITION_COLUMNS)}) "
            f"SELECT updated.id, {', '.join('?' for _ in TRANSITION_COLUMNS[1:])} FROM updated")


_ALL_UNINDEXED = tuple(range(_VERSION_AT, len(COMPLAINT_COLUMNS)))


def _assembled(docs: Iterable[tuple[str, str]], history_rows: Iterable[tuple[Any, ...]]) -> list[Complaint]:
    """Complaints of (id, document) rows, each with its history from the rows ``_HISTORY_SQL`` reads."""
    histories: dict[str, list[Transition]] = {}
    for key, *fields in history_rows:
        histories.setdefault(key, []).append(transition_of(*fields))
    return [from_document(doc, Complaint, key=key, history=tuple(histories.get(key, ()))) for key, doc in docs]


def _columns_to_set(row: Row, before: Complaint | None, before_row: Row | None) -> tuple[int, ...]:
    """Which columns a save sets. Every column in SET costs a bound parameter and its share of the new record,
    and an index entry is rewritten whenever its column is in SET, even to the same value: with the stored
    row at hand, set only what changed (the version always does); with only the stored object, only the
    indexed columns that changed and everything else; with neither, everything but the id, office and
    received instant (which no verb changes)."""
    if before_row is not None:
        return tuple(i for i in range(2, len(row)) if row[i] != before_row[i] or i == _VERSION_AT)
    if before is None:
        return (*_INDEXED_AT, *_ALL_UNINDEXED)
    old = (before.status._value_, before.serial, next_due_us(before))
    return (*(i for i, was in zip(_INDEXED_AT, old, strict=True) if row[i] != was), *_ALL_UNINDEXED)


class DocumentCache:
    """Committed complaints by id, checked against the stored version on every read, each with its stored row
    when this process wrote it.

    Parsing a document costs more than the rest of a desk verb. Objects are immutable and every change
    bumps the version, so a cached object whose version equals the stored one *is* the stored content —
    provided only committed content is cached: reads of rows this transaction wrote are not cached, and
    saved objects enter the cache only when their transaction commits.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._items: dict[str, tuple[Complaint, Row | None]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def get(self, key: str, version: int) -> Complaint | None:
        found = self.entry(key, version)
        return None if found is None else found[0]

    def entry(self, key: str, version: int) -> tuple[Complaint, Row | None] | None:
        """The cached complaint at ``version`` with its stored row (None when it was read, not written, here)."""
        found = self._items.get(key)
        return found if found is not None and found[0].version == version else None

    def put(self, complaint: Complaint, row: Row | None = None) -> None:
        if len(self._items) >= self._size:
            self._items.pop(next(iter(self._items)))
        self._items[complaint.id] = (complaint, row)


class SQLUnit:
    """The repository's operations on one connection; the caller owns the transaction."""

    def __init__(self, conn: Any, dialect: Dialect, cache: DocumentCache | None = None) -> None:
        self._conn = conn
        self._dialect = dialect
        self._cache = cache or DocumentCache()
        self._written: dict[str, tuple[Complaint, Row]] = {}  # saved in this transaction; cached on commit

    def _execute(self, statement: str, args: Iterable[Any] = ()) -> Any:
        return self._run(self._conn.execute, statement, tuple(args))

    def _executemany(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            self._run(self._conn.cursor().executemany, statement, rows)

    def _run(self, call: Callable[[str, Any], Any], statement: str, args: Any) -> Any:
        try:
            return call(self._dialect.sql(statement), args)
        except self._dialect.integrity_error:
            raise  # translated by the callers that expect it (a repeated id or number)
        except self._dialect.driver_error as exc:
            raise self._failure(exc, statement) from exc

    def _failure(self, exc: BaseException, statement: str) -> StorageError:
        """What a driver's error becomes: ``ConnectionLost`` when the server closed the connection, otherwise
        a ``StorageError`` naming the store and the kind of statement (a full disk, a damaged file, a
        statement timeout…), never its parameters (they hold owners' personal data)."""
        location = getattr(self, "location", None)
        if getattr(self._conn, "broken", False):  # psycopg's flag; a SQLite connection is never lost
            return ConnectionLost(f"the connection to the database was lost: {str(exc).strip()}; nothing of the "
                                  "unit of work in progress was committed (if it was lost during the commit, the "
                                  "server may have committed it); the next call connects again", location=location)
        # what the statement does ("UPDATE complaints"), the inner statement's for one inside WITH
        kind = " ".join((statement.split("(", 1)[1] if statement.startswith("WITH") else statement).split()[:2])
        return StorageError(f"the database {location} failed a statement ({kind} …): {str(exc).strip()}; the unit "
                            "of work in progress is not committed", location=location)

    # complaints
    # A refused add must leave the unit of work usable, as on every backend: the caller may go on and commit
    # the rest. So single rows are inserted ON CONFLICT DO NOTHING and the refusal read from the row count —
    # an integrity error would abort a PostgreSQL transaction whole (and its COMMIT would quietly roll back).
    def add(self, complaint: Complaint) -> Complaint:
        row = complaint_row(complaint)
        if self._execute(_INSERT_COMPLAINT_ONCE, row).rowcount == 0:
            if self._execute("SELECT 1 FROM complaints WHERE id = ?", (complaint.id,)).fetchone():
                raise ValidationError.of("complaint id", complaint.id, "an id not already stored")
            self._serial_taken(complaint)
        self._executemany(INSERT_TRANSITION, transition_rows(complaint, 0))
        self._written[complaint.id] = (complaint, row)
        return complaint

    def add_many(self, complaints: Iterable[Complaint]) -> int:
        """All of them or, when an id or serial is already stored or repeated, none (inside a savepoint: the
        unit of work goes on without them)."""
        rows, transitions = [], []
        for c in complaints:
            rows.append(complaint_row(c))
            transitions.extend(transition_rows(c, 0))
        if not rows:
            return 0
        self._execute("SAVEPOINT add_many")
        try:
            self._executemany(INSERT_COMPLAINT, rows)
        except self._dialect.integrity_error:
            self._execute("ROLLBACK TO SAVEPOINT add_many")
            self._execute("RELEASE SAVEPOINT add_many")
            raise self._first_taken(rows) from None
        self._executemany(INSERT_TRANSITION, transitions)
        self._execute("RELEASE SAVEPOINT add_many")
        return len(rows)

    def _first_taken(self, rows: list[Row]) -> ValidationError:
        """Why a batch was refused, naming the first id or serial repeated in it or already stored."""
        for at, name in ((0, "id"), (_SERIAL_AT, "serial")):
            values = [row[at] for row in rows if row[at] is not None]
            seen: set[Any] = set()
            for value in values:
                if value in seen:
                    return ValidationError.of(f"complaint {name}", value, f"a {name} not repeated in the batch")
                seen.add(value)
            for i in range(0, len(values), _IN_LIST):
                chunk = values[i:i + _IN_LIST]
                found = self._execute(f"SELECT {name} FROM complaints WHERE {name} IN "
                                      f"({', '.join('?' for _ in chunk)})", chunk).fetchone()
                if found is not None:
                    return ValidationError.of(f"complaint {name}", found[0], f"a {name} not already stored")
        return ValidationError.of("complaints", f"{len(rows)} rows", "rows the store's constraints accept")

    def get(self, complaint_id: str) -> Complaint:
        if complaint_id in self._written:
            return self._written[complaint_id][0]
        cached = self._cached(complaint_id)
        return cached if cached is not None else self._parsed(complaint_id)

    def _cached(self, complaint_id: str) -> Complaint | None:
        """The cached object of the stored version, when there is one: one statement, no parsing (and no
        statement when nothing of the complaint is cached)."""
        if complaint_id not in self._cache:
            return None
        row = self._execute("SELECT version FROM complaints WHERE id = ?", (complaint_id,)).fetchone()
        if row is None:
            raise NotFound("complaint", complaint_id)
        return self._cache.get(complaint_id, row[0])

    def _parsed(self, complaint_id: str) -> Complaint:
        """The stored complaint read whole (document and transition rows, sent together) and parsed; cached as
        committed content (it was read, not written, by this unit)."""
        docs, rows = self._fetch_each([("SELECT id, doc FROM complaints WHERE id = ?", (complaint_id,)),
                                       (_HISTORY_SQL.format(ids="?"), (complaint_id,))])
        if not docs:
            raise NotFound("complaint", complaint_id)
        [complaint] = _assembled(docs, rows)
        self._cache.put(complaint)
        return complaint

    def _fetch_each(self, statements: list[tuple[str, tuple[Any, ...]]]) -> list[list[tuple[Any, ...]]]:
        """The rows of each statement. (A server's unit of work sends them together: one round trip.)"""
        return [self._execute(statement, args).fetchall() for statement, args in statements]

    def _complaints(self, rows: list[tuple[str, str]]) -> list[Complaint]:
        """Complaints of (id, doc) rows, each with its history read by their ids."""
        ids = [key for key, _ in rows]
        history_rows: list[tuple[Any, ...]] = []
        for i in range(0, len(ids), _IN_LIST):
            chunk = ids[i:i + _IN_LIST]
            history_rows += self._execute(_HISTORY_SQL.format(ids=", ".join("?" for _ in chunk)), chunk).fetchall()
        return _assembled(rows, history_rows)

    def _stored(self, complaint_id: str, version: int) -> tuple[Complaint | None, Row | None]:
        """The stored content of a complaint at ``version``, and its row, as far as this unit already holds
        them (no query)."""
        written = self._written.get(complaint_id)
        if written is not None:
            return written if written[0].version == version else (None, None)
        return self._cache.entry(complaint_id, version) or (None, None)

    def save(self, complaint: Complaint) -> Complaint:
        saved = replace(complaint, {"version": complaint.version + 1})
        row = complaint_row(saved)
        before, before_row = self._stored(complaint.id, complaint.version)
        columns = _columns_to_set(row, before, before_row)
        sets = (*(row[i] for i in columns), complaint.id, complaint.version,
                *((saved.serial, saved.id) if _SERIAL_AT in columns else ()))
        rows = None if before is None else transition_rows(saved, len(before.history))
        if rows is not None and len(rows) == 1 and self._dialect.writes_in_with:
            # a desk verb on a server: the save and its one transition row in one round trip
            self._update(_logged_update_statement(columns), (*sets, *rows[0][1:]), saved)
            self._written[saved.id] = (saved, row)
            return saved
        self._update(_update_statement(columns), sets, saved)
        if rows is None:
            stored = self._execute("SELECT count(*) FROM transitions WHERE complaint_id = ?",
                                   (complaint.id,)).fetchone()[0]
            rows = transition_rows(saved, stored)
        if len(rows) == 1:  # one verb, one transition: execute skips executemany's cursor set-up
            self._execute(INSERT_TRANSITION, rows[0])
        else:
            self._executemany(INSERT_TRANSITION, rows)
        self._written[saved.id] = (saved, row)
        return saved

    def _update(self, statement: str, args: tuple[Any, ...], saved: Complaint) -> None:
        """The optimistic update of a save: a stale copy, a complaint that is gone or a serial another
        complaint holds match no row, and are told apart afterwards."""
        try:
            matched = self._execute(statement, args).rowcount
        except self._dialect.integrity_error:  # another unit took the serial meanwhile (a server's race)
            self._serial_taken(saved)
        if matched == 0:
            self._not_saved(saved)

    def _not_saved(self, saved: Complaint) -> NoReturn:
        """A save that matched no row: the complaint is gone, was saved meanwhile from another copy, or the
        serial it sets is another complaint's."""
        found = self._execute("SELECT version FROM complaints WHERE id = ?", (saved.id,)).fetchone()
        if found is None:
            raise NotFound("complaint", saved.id)
        if found[0] != saved.version - 1:
            raise ConcurrencyError(saved.id, expected=saved.version - 1, actual=found[0])
        self._serial_taken(saved)

    @staticmethod
    def _serial_taken(complaint: Complaint) -> NoReturn:
        raise ValidationError.of("complaint serial", complaint.serial,
                                 f"a serial not already stored (complaint {complaint.id})")

    def _committed(self) -> None:
        for complaint, row in self._written.values():
            self._cache.put(complaint, row)
        self._written = {}

    def frame(self, *, period: str | Period | None = None, office: str | None = None,
              tz: str = "Asia/Shanghai") -> dict[str, Any]:
        """The fact columns (numpy) of complaints received in ``period`` (local time in ``tz``) and ``office``,
        read straight from the fact columns of the complaint rows."""
        args: list[Any] = []
        where = _office_terms(office, args, self._dialect, by_receipt=period is not None)
        if period is not None:
            start, end = Period.parse(period).bounds(tz)
            where.append("received_us >= ? AND received_us < ?")
            args.extend((to_us(start), to_us(end)))
        sql = f"SELECT {', '.join(NAMES)} FROM complaints"
        sql += (" WHERE " + " AND ".join(where) if where else "")
        sql += f" ORDER BY received_us, id{self._dialect.by_code_point}"
        return columns(self._execute(sql, args).fetchall())

    def find(self, *, office: str | None = None, status: Status | None = None,
             due_before: dt.datetime | None = None, received_from: dt.datetime | None = None,
             received_before: dt.datetime | None = None) -> list[Complaint]:
        due_before, received_from, received_before = (
            aware_or_none("due_before", due_before), aware_or_none("received_from", received_from),
            aware_or_none("received_before", received_before))
        args: list[Any] = []
        by_receipt = received_from is not None or received_before is not None
        where = _office_terms(office, args, self._dialect, by_receipt=by_receipt)
        if received_from is not None:
            where.append("received_us >= ?")
            args.append(to_us(received_from))
        if received_before is not None:
            where.append("received_us < ?")
            args.append(to_us(received_before))
        if status is not None:
            where.append("status = ?")
            args.append(status.value)
        if due_before is not None:
            where.extend(("next_due_us < ?", STILL_OPEN))
            args.append(to_us(due_before))
        if due_before is not None or (status is not None and status is not Status.CLOSED):
            where.append(LIVE)  # implied by the terms above; spelled out so the planner uses the live index
        found = "FROM complaints" + (" WHERE " + " AND ".join(where) if where else "")
        # the histories by the same condition, not by the ids found: sent together, one round trip to a server
        order = f"ORDER BY received_us, id{self._dialect.by_code_point}"
        docs, rows = self._fetch_each([(f"SELECT id, doc {found} {order}", tuple(args)),
                                       (_HISTORY_SQL.format(ids=f"SELECT id {found}"), tuple(args))])
        return _assembled(docs, rows)

    def due_ids(self, due_before: dt.datetime, *, office: str | None = None) -> list[str]:
        """Ids of complaints with a running clock due before the instant: the indexed overdue query, without
        reading documents (a sweep then loads only those complaints)."""
        sql = f"SELECT id FROM complaints WHERE next_due_us < ? AND {STILL_OPEN} AND {LIVE}"
        args: list[Any] = [to_us(due_before)]
        if office is not None:
            sql += " AND office = ?"
            args.append(office)
        return [row[0] for row in self._execute(sql, args).fetchall()]

    def claim_overdue(self, due_before: dt.datetime, *, office: str | None = None,
                      limit: int | None = 100) -> list[Complaint]:
        """Open complaints with a running clock due before the instant, most overdue first (a plain query: a
        SQLite unit of work holds the write lock; PostgreSQL locks the rows, see its repository)."""
        return self._complaints(self._execute(*self._claim_statement(due_before, office, limit, "")).fetchall())

    def _claim_statement(self, due_before: dt.datetime, office: str | None, limit: int | None,
                         lock: str) -> tuple[str, list[object]]:
        sql = f"SELECT id, doc FROM complaints WHERE next_due_us < ? AND {STILL_OPEN} AND {LIVE}"
        args: list[object] = [to_us(aware("due_before", due_before))]
        if office is not None:
            sql += " AND office = ?"
            args.append(office)
        sql += f" ORDER BY next_due_us, id{self._dialect.by_code_point}"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return sql + lock, args

    def offices(self) -> list[str]:
        # sorted here: a server's collation may order text otherwise than every other backend
        return sorted(row[0] for row in self._execute(_OFFICES_SQL).fetchall())

    def received_span(self, *, office: str | None = None) -> tuple[dt.datetime, dt.datetime] | None:
        args: tuple[str, ...] = ()
        if office is not None:  # both ends of the office's part of the office index
            sql, args = "SELECT min(received_us), max(received_us) FROM complaints WHERE office = ?", (office,)
        else:  # both ends of each office's part
            sql = ("SELECT min(first), max(last) FROM (SELECT "
                   "(SELECT min(received_us) FROM complaints WHERE office = offices.office) AS first, "
                   "(SELECT max(received_us) FROM complaints WHERE office = offices.office) AS last "
                   f"FROM ({_OFFICES_SQL}) AS offices) AS spans")
        first, last = self._execute(sql, args).fetchone()
        return None if first is None else (from_us(first), from_us(last))

    def next_number(self, sequence: str) -> int:
        row = self._execute(
            "INSERT INTO sequences (name, value) VALUES (?, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value", (sequence,)).fetchone()
        return int(row[0])

    def history(self, complaint_id: str) -> list[tuple[Any, ...]]:
        """The append-only transition rows of a complaint, in order."""
        rows: list[tuple[Any, ...]] = self._execute(
            "SELECT seq, event, source, target, actor, role, at, note, office FROM transitions WHERE complaint_id = ? "
            "ORDER BY seq", (complaint_id,)).fetchall()
        return [tuple(r) for r in rows]

    # CAPA and announcements
    def add_capa(self, report: CAPAReport) -> CAPAReport:
        if self._execute("INSERT INTO capas VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                         (report.number, report.office, report.version, to_document(report))).rowcount == 0:
            raise ValidationError.of("CAPA number", report.number, "a number not already stored")
        return report

    def get_capa(self, number: str) -> CAPAReport:
        row = self._execute("SELECT doc FROM capas WHERE number = ?", (number,)).fetchone()
        if row is None:
            raise NotFound("CAPA report", number)
        return from_document(row[0], CAPAReport, key=number)

    def save_capa(self, report: CAPAReport) -> CAPAReport:
        saved = replace(report, {"version": report.version + 1})
        cur = self._execute("UPDATE capas SET version = ?, doc = ? WHERE number = ? AND version = ?",
                                 (saved.version, to_document(saved), report.number, report.version))
        if cur.rowcount == 0:
            found = self._execute("SELECT version FROM capas WHERE number = ?", (report.number,)).fetchone()
            if found is None:
                raise NotFound("CAPA report", report.number)
            raise ConcurrencyError(report.number, expected=report.version, actual=found[0])
        return saved

    def find_capas(self, *, office: str | None = None) -> list[CAPAReport]:
        sql = "SELECT number, doc FROM capas"
        args: tuple[str, ...] = ()
        if office is not None:
            sql, args = sql + " WHERE office = ?", (office,)
        return [from_document(doc, CAPAReport, key=k)
                for k, doc in self._execute(f"{sql} ORDER BY number{self._dialect.by_code_point}", args)]

    def add_announcement(self, announcement: Announcement) -> Announcement:
        if self._execute("INSERT INTO announcements VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                         (announcement.number, announcement.office, to_document(announcement))).rowcount == 0:
            raise ValidationError.of("announcement number", announcement.number, "a number not already stored")
        return announcement

    def find_announcements(self, *, office: str | None = None) -> list[Announcement]:
        sql = "SELECT number, doc FROM announcements"
        args: tuple[str, ...] = ()
        if office is not None:
            sql, args = sql + " WHERE office = ?", (office,)
        return [from_document(doc, Announcement, key=k)
                for k, doc in self._execute(f"{sql} ORDER BY number{self._dialect.by_code_point}", args)]

    def commit(self) -> None:
        raise NotImplementedError  # replaced by the transaction object




class SQLTransaction(SQLUnit):
    """A unit of work on a repository's connection: begun on enter (on a server, with its first statement),
    rolled back on exit unless committed.

    The repository's lock is held for the whole unit, so threads sharing a repository take turns.
    """

    def __init__(self, repo: SQLRepository) -> None:
        super().__init__(repo._conn, repo._dialect, repo._cache)
        self._repo = repo
        self._begin = repo.begin_statement
        self.location: str | None = repo.location
        self.committed = False
        self._begin_pending = False  # BEGIN is to go with the unit's first statement (see __enter__)

    def commit(self) -> None:
        if not self._begin_pending:  # a unit that sent nothing has nothing to commit
            if self._repo._unit_failed():  # never report a commit the server turned into a rollback
                raise StorageError(f"a statement of this unit of work failed on {self._repo.location}, so the "
                                   "server rolled the whole unit back: nothing of it is committed",
                                   location=self._repo.location)
            self._execute("COMMIT")
        self.committed = True
        self._committed()

    def _execute(self, statement: str, args: Iterable[Any] = ()) -> Any:
        if self._begin_pending:
            return self._fetch_or_cursors([(statement, tuple(args))], fetch=False)[0]
        return self._run(self._conn.execute, statement, tuple(args))  # SQLUnit._execute, inlined (hot)

    def _executemany(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        if self._begin_pending and rows:
            self._execute("SELECT 1")  # begins the unit: one round trip, as BEGIN alone would be
        super()._executemany(statement, rows)

    def _fetch_each(self, statements: list[tuple[str, tuple[Any, ...]]]) -> list[list[tuple[Any, ...]]]:
        if not self._repo.begins_with_first_statement:
            return super()._fetch_each(statements)
        return self._fetch_or_cursors(statements, fetch=True)

    def _fetch_or_cursors(self, statements: list[tuple[str, tuple[Any, ...]]], *, fetch: bool) -> list[Any]:
        """Statements sent together in one pipeline (one round trip), after BEGIN when the unit has not begun:
        their rows, or their cursors. When the server had closed the connection before the unit began,
        nothing of the unit has reached it yet, so all of it goes again on a new connection."""
        begin, self._begin_pending = self._begin_pending, False
        sql = [(self._dialect.sql(statement), args) for statement, args in statements]

        def send() -> list[Any]:
            with self._conn.pipeline():  # leaving it waits for every result: the cursors then hold their rows
                if begin:
                    self._conn.execute(self._begin)
                cursors = [self._conn.execute(statement, args) for statement, args in sql]
            return [cursor.fetchall() for cursor in cursors] if fetch else cursors

        def first_send() -> list[Any]:
            try:
                return send()
            except self._dialect.driver_error:
                if not begin or not self._repo._reconnect():  # a unit under way, or the statements' own error
                    raise
                self._conn = self._repo._conn
                return send()

        result: list[Any] = self._run(lambda _sql, _args: first_send(), statements[0][0], ())
        return result

    def __enter__(self) -> Any:
        self._repo._lock.acquire()
        if self._repo.begins_with_first_statement:
            # A round trip to a server costs as much as a statement: BEGIN waits for the unit's first statement
            # and goes with it (_fetch_or_cursors). The lock is held from now on all the same.
            self._conn = self._repo._conn
            self._begin_pending = True
            return self
        try:
            try:
                self._conn = self._repo._conn
                self._conn.execute(self._begin)
            except self._dialect.driver_error:
                if not self._repo._reconnect():  # the server closed the connection: nothing is lost yet
                    raise
                self._conn = self._repo._conn
                self._conn.execute(self._begin)
        except self._dialect.driver_error as exc:
            self._repo._lock.release()
            raise StorageError(f"cannot start a transaction on {self._repo.location}: {exc}",
                               location=self._repo.location) from exc
        except BaseException:  # an interrupt while beginning: leave no transaction and no lock behind
            try:
                if self._repo.in_transaction():
                    self._conn.execute("ROLLBACK")
            finally:
                self._repo._lock.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        # Ask the driver, not only our flag: an interrupt (Ctrl-C) can land after COMMIT finished and before
        # ``committed`` was set, and a ROLLBACK then would fail and hide the interrupt.
        try:
            if not self.committed and self._repo.in_transaction():
                self._conn.execute("ROLLBACK")
        finally:
            self._repo._lock.release()


class SQLSnapshot(ReadOnly, SQLTransaction):
    """A read-only transaction: the backend's ``snapshot_statement`` begins it (one consistent snapshot for
    all its reads) and it always rolls back; writes are refused before they reach the database."""

    def __init__(self, repo: SQLRepository, *, pinned: bool = True) -> None:
        super().__init__(repo)
        self._begin = repo.snapshot_statement
        self._pinned = pinned  # False: the snapshot is taken at the caller's first read, which comes at once

    def __enter__(self) -> Any:
        super().__enter__()
        if not self._pinned:
            return self
        try:  # a first read fixes the snapshot now (both databases take it at the first read, not at BEGIN)
            self._execute("SELECT 1 FROM complaints LIMIT 1").fetchall()
        except BaseException:
            self.__exit__()
            raise
        return self


def _locked(read: Callable[Concatenate[Any, P], R]) -> Callable[Concatenate[Any, P], R]:
    """A direct read that waits for the repository's lock: threads share one connection, and a read run while
    another thread's unit of work is open would see that unit's uncommitted rows."""

    def locked(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            return self._once_more_if_lost(lambda: read(self, *args, **kwargs))  # type: ignore[no-any-return]

    locked.__name__, locked.__qualname__, locked.__doc__ = read.__name__, read.__qualname__, read.__doc__
    return locked


class SQLRepository(SQLUnit):
    """What SQLite and PostgreSQL repositories share: direct calls (each its own committed transaction),
    batched imports, closing. A backend sets the connection, the dialect (with its driver's error classes),
    ``begin_statement``, ``snapshot_statement``, ``location`` and its transaction class, and runs its
    migrations."""

    begin_statement: str = "BEGIN"
    begins_with_first_statement: bool = False  # a server's pipelines: BEGIN sent with the first statement
    snapshot_statement: str = "BEGIN"  # a read transaction whose reads all see one snapshot
    transaction_class: type[SQLTransaction] = SQLTransaction
    location: str = "?"
    closed: bool = False  # by close(): a closed repository does not connect again

    def __init__(self, conn: Any, dialect: Dialect) -> None:
        super().__init__(conn, dialect)
        self._lock = threading.RLock()

    # single-statement reads (get and find, two statements, read in a snapshot below)
    frame = _locked(SQLUnit.frame)
    due_ids = _locked(SQLUnit.due_ids)
    offices = _locked(SQLUnit.offices)
    received_span = _locked(SQLUnit.received_span)
    history = _locked(SQLUnit.history)
    get_capa = _locked(SQLUnit.get_capa)
    find_capas = _locked(SQLUnit.find_capas)
    find_announcements = _locked(SQLUnit.find_announcements)

    def unit_of_work(self) -> Any:
        self._require_open()
        return self.transaction_class(self)

    def snapshot(self) -> Any:
        self._require_open()
        return SQLSnapshot(self)

    def _require_open(self) -> None:
        if self.closed:
            raise StorageError(f"the repository of {self.location} is closed; open a new one", location=self.location)

    def in_transaction(self) -> bool:
        """Whether the connection has a transaction open (each backend asks its driver)."""
        raise NotImplementedError

    def _reconnect(self) -> bool:
        """Replace a connection the server closed and say so; False when there was nothing to replace (a
        backend whose connection cannot be lost, a connection still open, a repository closed by its user)."""
        return False

    def _unit_failed(self) -> bool:
        """Whether the server has failed the transaction under way (after an error in it, a server such as
        PostgreSQL answers COMMIT by rolling back, silently); a failed statement leaves a SQLite one as it was."""
        return False

    def _once_more_if_lost(self, read: Callable[[], R]) -> R:
        """A direct read, run again once on a new connection when the server had closed the old one."""
        self._require_open()
        try:
            return read()
        except ConnectionLost:
            if not self._reconnect():
                raise
            return read()

    def close(self) -> None:
        self.closed = True
        self._conn.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _direct(self, name: str, *args: Any) -> Any:
        with self.unit_of_work() as uow:
            out = getattr(uow, name)(*args)
            uow.commit()
        return out

    # Direct reads of whole complaints take two statements (documents, then their transition rows); outside a
    # transaction each would see its own state of the store, and a desk committing between them would give a
    # complaint a history one step ahead of its document. They read in one snapshot instead.
    # (With the lock held, an open transaction is this thread's own unit of work: read inside it, as before.)
    def get(self, complaint_id: str) -> Complaint:
        self._require_open()
        with self._lock:
            if self.in_transaction():
                return super().get(complaint_id)
            return self._once_more_if_lost(lambda: self._cached(complaint_id) or self._parsed_in_snapshot(complaint_id))

    def _parsed_in_snapshot(self, complaint_id: str) -> Complaint:
        with SQLSnapshot(self, pinned=False) as view:  # its first read is the document's: no pinning read
            found: Complaint = view._parsed(complaint_id)
        return found

    def find(self, *, office: str | None = None, status: Status | None = None,
             due_before: dt.datetime | None = None, received_from: dt.datetime | None = None,
             received_before: dt.datetime | None = None) -> list[Complaint]:
        self._require_open()
        with self._lock:
            if self.in_transaction():
                return super().find(office=office, status=status, due_before=due_before,
                                    received_from=received_from, received_before=received_before)

            def read() -> list[Complaint]:
                with SQLSnapshot(self, pinned=False) as view:  # the documents' read comes first: no pinning read
                    found: list[Complaint] = view.find(office=office, status=status, due_before=due_before,
                                                       received_from=received_from, received_before=received_before)
                return found

            return self._once_more_if_lost(read)

    def add(self, complaint: Complaint) -> Complaint:
        result: Complaint = self._direct("add", complaint)
        return result

    def save(self, complaint: Complaint) -> Complaint:
        result: Complaint = self._direct("save", complaint)
        return result

    def next_number(self, sequence: str) -> int:
        return int(self._direct("next_number", sequence))

    def add_capa(self, report: CAPAReport) -> CAPAReport:
        result: CAPAReport = self._direct("add_capa", report)
        return result

    def save_capa(self, report: CAPAReport) -> CAPAReport:
        result: CAPAReport = self._direct("save_capa", report)
        return result

    def add_announcement(self, announcement: Announcement) -> Announcement:
        result: Announcement = self._direct("add_announcement", announcement)
        return result

    def add_many(self, complaints: Iterable[Complaint], *, batch: int = 50_000) -> int:
        """Import complaints in batched transactions (each batch lands whole or not at all); returns the count."""
        total, chunk = 0, []
        for c in complaints:
            chunk.append(c)
            if len(chunk) >= batch:
                total += self._add_chunk(chunk)
                chunk = []
        if chunk:
            total += self._add_chunk(chunk)
        return total

    def _add_chunk(self, chunk: list[Complaint]) -> int:
        # An import allocates millions of short-lived row tuples while the caller holds its complaints; the
        # cyclic collector would rescan that heap again and again (~10 % of the import). Rows have no cycles.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return int(self._direct("add_many", chunk))
        finally:
            if collecting:
                gc.enable()

    def commit(self) -> None:
        """Direct calls are already committed."""
