"""The repository's operations on one connection (SQLite and PostgreSQL alike); the caller owns the
transaction (see ``storage/sql/repository.py``)."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import NoReturn, TypeVar

from complaint_engine.clock import aware, aware_or_none
from complaint_engine.errors import ConcurrencyError, NotFound, StorageError, ValidationError, office_changed
from complaint_engine.events import DomainEvent
from complaint_engine.facts import SELECTED, FactColumns, columns
from complaint_engine.instants import from_us, to_us
from complaint_engine.messages import Message
from complaint_engine.model import Complaint, Status, Transition, replace
from complaint_engine.period import Period
from complaint_engine.serialization import from_document, to_document
from complaint_engine.storage.damaged import Found, damage_of
from complaint_engine.storage.dbapi import Connection, Cursor, Params, Row, Value
from complaint_engine.storage.lean import document_text
from complaint_engine.storage.query import Filters, Page
from complaint_engine.storage.schema import (
    EVENT_COLUMNS,
    IMPORTED,
    INSERT_EVENT,
    INSERT_TRANSITION,
    LIVE,
    STILL_OPEN,
    complaint_row,
    event_of,
    event_row,
    transition_of,
    transition_rows,
)
from complaint_engine.storage.sql.cache import DocumentCache, columns_to_set
from complaint_engine.storage.sql.names import NameCodes
from complaint_engine.storage.sql.records import RecordStatements
from complaint_engine.storage.sql.statements import (
    HISTORY_SQL,
    IN_LIST,
    INSERT_COMPLAINT_ONCE,
    OFFICES_SQL,
    SERIAL_AT,
    VERSION_AT,
    Dialect,
    as_int,
    as_str,
    office_terms,
    update_statement,
)
from complaint_engine.storage.sql.stored import StoredRecords

__all__ = ["SQLUnit", "assembled"]

T = TypeVar("T")
U = TypeVar("U")

DOC_AT = VERSION_AT + 1  # the packed document follows the version in a complaint's row


def assembled(docs: Iterable[Row], history_rows: Iterable[Row], *, skip_damaged: bool = True) -> Found[Complaint]:
    """Complaints of (id, document) rows, each with its history from the rows ``HISTORY_SQL`` reads; a document
    that cannot be read is skipped and listed in ``damaged`` (with ``skip_damaged=False``, it raises)."""
    histories: dict[str, list[Transition]] = {}
    for row in history_rows:
        histories.setdefault(as_str(row[0]), []).append(transition_of(row[1:]))
    out = []
    damaged = []
    for key, doc in docs:
        cid = as_str(key)
        try:
            out.append(from_document(document_text(doc, cid), Complaint, key=cid,
                                     history=tuple(histories.get(cid, ()))))
        except ValidationError as exc:
            if not skip_damaged:
                raise
            damaged.append(damage_of(cid, exc))
    return Found(out, damaged)


class SQLUnit(RecordStatements, NameCodes, StoredRecords):
    """The repository's operations on one connection; the caller owns the transaction."""

    location: str | None = None

    def __init__(self, conn: Connection, dialect: Dialect, cache: DocumentCache | None = None,
                 names: dict[str, int] | None = None) -> None:
        self._conn = conn
        self._dialect = dialect
        self._cache = cache or DocumentCache()
        self._written: dict[str, tuple[Complaint, Row]] = {}  # saved in this transaction; cached on commit
        self._names = {} if names is None else names  # see NameCodes
        self._new_names: dict[str, int] = {}

    # ----------------------------------------------------------------------------- statements
    def _execute(self, statement: str, args: Params = ()) -> Cursor:
        return self._run(self._conn.execute, statement, tuple(args))

    def _executemany(self, statement: str, rows: list[Row]) -> None:
        if rows:
            self._run(self._conn.cursor().executemany, statement, rows)

    def _run(self, call: Callable[[str, T], U], statement: str, args: T) -> U:
        try:
            return call(self._dialect.sql(statement), args)
        except self._dialect.integrity_error:
            raise  # translated by the callers that expect it (a repeated id or number)
        except self._dialect.driver_error as exc:
            raise self._failure(exc, statement) from exc

    def _streamed(self, statement: str, args: Params = ()) -> Iterator[Row]:
        """The rows of a query as the driver hands them over (a reader converts a chunk at a time instead of
        holding every row), a driver's error translated as :meth:`_run` does."""
        cursor = self._execute(statement, args)
        try:
            yield from cursor
        except self._dialect.driver_error as exc:
            raise self._failure(exc, statement) from exc

    def _failure(self, exc: BaseException, statement: str) -> StorageError:
        """What a driver's error becomes: a ``StorageError`` naming the store and the kind of statement (a full
        disk, a damaged file, a statement timeout…), never its parameters (they hold owners' personal data)."""
        # what the statement does ("UPDATE complaints"), the inner statement's for one inside WITH
        kind = " ".join((statement.split("(", 1)[1] if statement.startswith("WITH") else statement).split()[:2])
        return StorageError(Message("the database {location} failed a statement ({kind} …): {0}; the unit of work in "
                                    "progress is not committed",
                                    str(exc).strip(), location=self.location, kind=kind), location=self.location)

    def run(self, statement: str, args: Params = ()) -> Cursor:
        """A statement of the backend's own (a migration step, maintenance) inside this unit, with ``?``
        placeholders."""
        return self._execute(statement, args)

    def run_many(self, statement: str, rows: list[Row]) -> None:
        """A statement of the backend's own for each row, inside this unit."""
        self._executemany(statement, rows)

    def _fetch_each(self, statements: list[tuple[str, Params]]) -> list[list[Row]]:
        """The rows of each statement. (A server's unit of work sends them together: one round trip.)"""
        return [self._execute(statement, args).fetchall() for statement, args in statements]

    # ----------------------------------------------------------------------------- complaints
    # A refused add must leave the unit of work usable, as on every backend: the caller may go on and commit
    # the rest. So single rows are inserted ON CONFLICT DO NOTHING and the refusal read from the row count —
    # an integrity error would abort a PostgreSQL transaction whole (and its COMMIT would quietly roll back).
    def add(self, complaint: Complaint) -> Complaint:
        doc = to_document(complaint)
        row = complaint_row(complaint, self._codes, doc)
        if self._execute(INSERT_COMPLAINT_ONCE, row).rowcount == 0:
            if self._execute("SELECT 1 FROM complaints WHERE id = ?", (complaint.id,)).fetchone():
                raise ValidationError.of("complaint id", complaint.id, "an id not already stored")
            self._serial_taken(complaint)
        self._executemany(INSERT_TRANSITION, transition_rows(complaint, 0, doc))
        self._written[complaint.id] = (complaint, row)
        return complaint

    def add_many(self, complaints: Iterable[Complaint]) -> int:
        """All of them or, when an id or serial is already stored or repeated, none (inside a savepoint: the
        unit of work goes on without them)."""
        rows: list[Row] = []
        transitions: list[Row] = []
        for c in complaints:
            doc = to_document(c)
            rows.append(complaint_row(c, self._codes, doc))
            transitions.extend(transition_rows(c, 0, doc))
        if not rows:
            return 0
        self._execute("SAVEPOINT add_many")
        try:
            self._insert_all("complaints", rows)
        except self._dialect.integrity_error:
            self._execute("ROLLBACK TO SAVEPOINT add_many")
            self._execute("RELEASE SAVEPOINT add_many")
            raise self._first_taken(rows) from None
        self._insert_all("transitions", transitions)
        self._execute("RELEASE SAVEPOINT add_many")
        return len(rows)

    def _insert_all(self, table: str, rows: list[Row]) -> None:
        """Rows of an import into ``table``, in the order of its :data:`IMPORTED` columns (a backend may have a
        faster way than prepared inserts)."""
        self._executemany(IMPORTED[table][1], rows)

    def _first_taken(self, rows: list[Row]) -> ValidationError:
        """Why a batch was refused, naming the first id or serial repeated in it or already stored."""
        for at, name in ((0, "id"), (SERIAL_AT, "serial")):
            values = [row[at] for row in rows if row[at] is not None]
            seen: set[Value] = set()
            for value in values:
                if value in seen:
                    return ValidationError.of(Message("complaint {0}", name), value,
                                              Message("a {0} not repeated in the batch", name))
                seen.add(value)
            for i in range(0, len(values), IN_LIST):
                chunk = values[i:i + IN_LIST]
                found = self._execute(f"SELECT {name} FROM complaints WHERE {name} IN "
                                      f"({', '.join('?' for _ in chunk)})", chunk).fetchone()
                if found is not None:
                    return ValidationError.of(Message("complaint {0}", name), found[0],
                                              Message("a {0} not already stored", name))
        return ValidationError.of("complaints", f"{len(rows)} rows", "rows the store's constraints accept")

    def get(self, complaint_id: str) -> Complaint:
        if complaint_id in self._written:
            return self._written[complaint_id][0]
        cached = self.read_cached(complaint_id)
        return cached if cached is not None else self.read_whole(complaint_id)

    def id_of_serial(self, serial: str) -> str | None:
        staged = next((cid for cid, (c, *_rest) in self._written.items() if c.serial == serial), None)
        if staged is not None:
            return staged
        row = self._execute("SELECT id FROM complaints WHERE serial = ?", (serial,)).fetchone()
        return None if row is None else str(row[0])

    def read_cached(self, complaint_id: str) -> Complaint | None:
        """The cached object of the stored version, when there is one: one statement, no parsing (and no
        statement when nothing of the complaint is cached)."""
        if complaint_id not in self._cache:
            return None
        row = self._execute("SELECT version, doc FROM complaints WHERE id = ?", (complaint_id,)).fetchone()
        if row is None:
            raise NotFound("complaint", complaint_id)
        return self._cache.get(complaint_id, as_int(row[0]), row[1])

    def read_whole(self, complaint_id: str) -> Complaint:
        """The stored complaint read whole (document and transition rows, sent together) and parsed; cached as
        committed content (it was read, not written, by this unit)."""
        docs, rows = self._fetch_each([("SELECT id, doc FROM complaints WHERE id = ?", (complaint_id,)),
                                       (HISTORY_SQL.format(ids="?"), (complaint_id,))])
        if not docs:
            raise NotFound("complaint", complaint_id)
        [complaint] = assembled(docs, rows, skip_damaged=False)
        self._cache.put(complaint, docs[0][1])
        return complaint

    def _complaints(self, rows: list[Row]) -> Found[Complaint]:
        """Complaints of (id, doc) rows, each with its history read by their ids."""
        ids = [row[0] for row in rows]
        history_rows: list[Row] = []
        for i in range(0, len(ids), IN_LIST):
            chunk = ids[i:i + IN_LIST]
            history_rows += self._execute(HISTORY_SQL.format(ids=", ".join("?" for _ in chunk)), chunk).fetchall()
        return assembled(rows, history_rows)

    def _stored(self, complaint_id: str, version: int) -> tuple[Complaint | None, Row | None]:
        """The stored content of a complaint at ``version``, and its row, as far as this unit already holds
        them (no query)."""
        written = self._written.get(complaint_id)
        if written is not None:
            return written if written[0].version == version else (None, None)
        return self._cache.entry(complaint_id, version) or (None, None)

    def save(self, complaint: Complaint) -> Complaint:
        saved = replace(complaint, {"version": complaint.version + 1})
        doc = to_document(saved)
        row = complaint_row(saved, self._codes, doc)
        before, before_row = self._stored(complaint.id, complaint.version)
        if before is not None and before.office != complaint.office:
            raise office_changed(complaint.id, complaint.office, before.office)
        columns = columns_to_set(row, before, before_row)
        sets = (*(row[i] for i in columns), complaint.id, complaint.version, complaint.office,
                *((saved.serial, saved.id) if SERIAL_AT in columns else ()))
        rows = None if before is None else transition_rows(saved, len(before.history), doc)
        if rows is not None and len(rows) == 1 and self._save_with_its_transition(columns, sets, rows[0], saved):
            self._written[saved.id] = (saved, row)
            return saved
        self._update(update_statement(columns), sets, saved)
        if rows is None:
            found = self._execute("SELECT count(*) FROM transitions WHERE complaint_id = ?", (complaint.id,)).fetchone()
            rows = transition_rows(saved, as_int(found[0]) if found else 0, doc)
        if len(rows) == 1:  # one verb, one transition: execute skips executemany's cursor set-up
            self._execute(INSERT_TRANSITION, rows[0])
        else:
            self._executemany(INSERT_TRANSITION, rows)
        self._written[saved.id] = (saved, row)
        return saved

    def _save_with_its_transition(self, columns: tuple[int, ...], sets: Row, transition: Row, saved: Complaint) -> bool:
        """A backend that can send the save and its one transition row as one statement does so and says True
        (PostgreSQL: one round trip); here they go as two statements."""
        return False

    def _update(self, statement: str, args: Params, saved: Complaint) -> None:
        """The optimistic update of a save: a stale copy, a complaint that is gone or a serial another
        complaint holds match no row, and are told apart afterwards."""
        try:
            matched = self._execute(statement, args).rowcount
        except self._dialect.integrity_error:  # another unit took the serial meanwhile (a server's race)
            self._serial_taken(saved)
        if matched == 0:
            self._not_saved(saved)

    def _not_saved(self, saved: Complaint) -> NoReturn:
        """A save that matched no row: the complaint is gone, was saved meanwhile from another copy, names
        another office than the one it is stored under, or the serial it sets is another complaint's."""
        found = self._execute("SELECT version, office FROM complaints WHERE id = ?", (saved.id,)).fetchone()
        if found is None:
            raise NotFound("complaint", saved.id)
        if as_int(found[0]) != saved.version - 1:
            raise ConcurrencyError(saved.id, expected=saved.version - 1, actual=as_int(found[0]))
        if found[1] != saved.office:
            raise office_changed(saved.id, saved.office, str(found[1]))
        self._serial_taken(saved)

    @staticmethod
    def _serial_taken(complaint: Complaint) -> NoReturn:
        raise ValidationError.of("complaint serial", complaint.serial,
                                 Message("a serial not already stored (complaint {id})", id=complaint.id))

    def commit(self) -> None:
        """Statements outside a transaction commit on their own: a unit of work's transaction commits it."""
        raise StorageError("nothing to commit: these reads run outside a unit of work", location=self.location)

    def _committed(self) -> None:
        for complaint, row in self._written.values():
            self._cache.put(complaint, row[DOC_AT], row)
        self._written = {}
        self._names.update(self._new_names)
        self._new_names = {}

    # ----------------------------------------------------------------------------- reads
    def frame(self, *, period: str | Period | None = None, office: str | None = None,
              tz: str = "Asia/Shanghai") -> FactColumns:
        """The fact columns (numpy) of complaints received in ``period`` (local time in ``tz``) and ``office``,
        read straight from the fact columns of the complaint rows."""
        args: list[Value] = []
        where = office_terms(office, args, self._dialect, by_receipt=period is not None)
        if period is not None:
            start, end = Period.parse(period).bounds(tz)
            where.append("received_us >= ? AND received_us < ?")
            args.extend((to_us(start), to_us(end)))
        sql = f"SELECT {', '.join(SELECTED)} FROM complaints"
        sql += (" WHERE " + " AND ".join(where) if where else "")
        sql += f" ORDER BY received_us, id{self._dialect.by_code_point}"
        return columns(self._streamed(sql, args), self._labels)

    def find(self, *, office: str | None = None, status: Status | None = None,
             due_before: dt.datetime | None = None, received_from: dt.datetime | None = None,
             received_before: dt.datetime | None = None, filters: Filters | None = None,
             limit: int | None = None, after: Page | None = None) -> Found[Complaint]:
        due_before, received_from, received_before = (
            aware_or_none("due_before", due_before), aware_or_none("received_from", received_from),
            aware_or_none("received_before", received_before))
        args: list[Value] = []
        by_receipt = received_from is not None or received_before is not None
        where = office_terms(office, args, self._dialect, by_receipt=by_receipt)
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
        if filters is not None:
            where += filters.sql_terms(args)
        order = f"ORDER BY received_us, id{self._dialect.by_code_point}"
        if after is not None:
            where.append(after.sql_term(args, self._dialect.by_code_point))
        found = "FROM complaints" + (" WHERE " + " AND ".join(where) if where else "")
        if limit is not None:  # one page: the histories of the page's ids
            found = f"FROM complaints WHERE id IN (SELECT id {found} {order} LIMIT {int(limit)})"
        # the histories by the same condition, not by the ids found: sent together, one round trip to a server
        docs, rows = self._fetch_each([(f"SELECT id, doc {found} {order}", tuple(args)),
                                       (HISTORY_SQL.format(ids=f"SELECT id {found}"), tuple(args))])
        return assembled(docs, rows)

    def due_ids(self, due_before: dt.datetime, *, office: str | None = None) -> list[str]:
        """Ids of open complaints with a running clock due before the instant: the indexed overdue query,
        without reading documents."""
        sql = f"SELECT id FROM complaints WHERE next_due_us < ? AND {STILL_OPEN} AND {LIVE}"
        args: list[Value] = [to_us(aware("due_before", due_before))]
        if office is not None:
            sql += " AND office = ?"
            args.append(office)
        return [as_str(row[0]) for row in self._execute(sql, args).fetchall()]

    def claim_overdue(self, due_before: dt.datetime, *, office: str | None = None, limit: int | None = 100,
                      ids: Sequence[str] | None = None) -> Found[Complaint]:
        """Open complaints with a running clock due before the instant, most overdue first (a plain query: a
        SQLite unit of work holds the write lock; PostgreSQL locks the rows, see its repository)."""
        return self._complaints(self._execute(*self._claim_statement(due_before, office, limit, "", ids)).fetchall())

    def _claim_statement(self, due_before: dt.datetime, office: str | None, limit: int | None,
                         lock: str, ids: Sequence[str] | None = None) -> tuple[str, list[Value]]:
        sql = f"SELECT id, doc FROM complaints WHERE next_due_us < ? AND {STILL_OPEN} AND {LIVE}"
        args: list[Value] = [to_us(aware("due_before", due_before))]
        if ids is not None:
            chosen = list(ids)[:IN_LIST]
            sql += f" AND id IN ({', '.join('?' for _ in chosen)})" if chosen else " AND 1 = 0"
            args.extend(chosen)
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
        return sorted(as_str(row[0]) for row in self._execute(OFFICES_SQL).fetchall())

    def received_span(self, *, office: str | None = None) -> tuple[dt.datetime, dt.datetime] | None:
        args: tuple[str, ...] = ()
        if office is not None:  # both ends of the office's part of the office index
            sql, args = "SELECT min(received_us), max(received_us) FROM complaints WHERE office = ?", (office,)
        else:  # both ends of each office's part
            sql = ("SELECT min(first), max(last) FROM (SELECT "
                   "(SELECT min(received_us) FROM complaints WHERE office = offices.office) AS first, "
                   "(SELECT max(received_us) FROM complaints WHERE office = offices.office) AS last "
                   f"FROM ({OFFICES_SQL}) AS offices) AS spans")
        found = self._execute(sql, args).fetchone()
        if found is None or found[0] is None:
            return None
        return from_us(as_int(found[0])), from_us(as_int(found[1]))

    def next_number(self, sequence: str) -> int:
        row = self._execute(
            "INSERT INTO sequences (name, value) VALUES (?, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value", (sequence,)).fetchone()
        if row is None:
            raise StorageError(Message("the database {location} allocated no number for {sequence!r}",
                                       location=self.location, sequence=sequence),
                               location=self.location)
        return as_int(row[0])

    def current_number(self, sequence: str) -> int:
        row = self._execute("SELECT value FROM sequences WHERE name = ?", (sequence,)).fetchone()
        return 0 if row is None else as_int(row[0])

    # ----------------------------------------------------------------------------- the outbox
    def append_events(self, events: Iterable[DomainEvent]) -> None:
        # positions are committed in order here: a SQLite unit of work holds the write lock (PostgreSQL's unit
        # orders its writers of events itself)
        rows = [event_row(e) for e in events]
        if rows:
            self._executemany(INSERT_EVENT, rows) if len(rows) > 1 else self._execute(INSERT_EVENT, rows[0])

    def events(self, after: int = 0, *, office: str | None = None, kinds: Collection[str] | None = None,
               limit: int = 1000) -> list[DomainEvent]:
        sql = f"SELECT position, {', '.join(EVENT_COLUMNS)} FROM events WHERE position > ?"
        args: list[Value] = [after]
        if office is not None:
            sql += " AND office = ?"
            args.append(office)
        if kinds is not None:
            chosen = sorted(kinds)
            sql += f" AND kind IN ({', '.join('?' for _ in chosen)})" if chosen else " AND 1 = 0"
            args.extend(chosen)
        sql += " ORDER BY position LIMIT ?"
        args.append(limit)
        rows = self._execute(sql, args).fetchall()
        # a read of many events makes as many objects, which have no cycles: the cyclic collector rescanning the
        # growing heap would cost more than building them
        collecting = gc.isenabled()
        gc.disable()
        try:
            return [event_of(row) for row in rows]
        finally:
            if collecting:
                gc.enable()

    def cursor(self, name: str) -> int:
        row = self._execute("SELECT position FROM subscriptions WHERE name = ?", (name,)).fetchone()
        return 0 if row is None else as_int(row[0])

    def set_cursor(self, name: str, position: int) -> None:
        self._execute("INSERT INTO subscriptions (name, position) VALUES (?, ?) "
                      "ON CONFLICT (name) DO UPDATE SET position = excluded.position", (name, position))
