"""PostgresRepository: the shared store for many management offices (psycopg 3, extra ``[postgres]``).

The same schema and behaviour as SQLite (see ``storage/sqlite.py``), with PostgreSQL's locks:

* a serial is allocated by ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` on the sequence row, whose
  row lock is held until the registering transaction ends: concurrent desks queue on it, and a
  rollback returns the number, so sequences stay gap-free;
* ``claim_overdue`` selects due complaints ``FOR UPDATE SKIP LOCKED``, so several workers can sweep
  at once without taking the same complaint;
* the transition table's trigger refuses UPDATE and DELETE (the quality record, P-7);
* schema migrations run under an advisory lock inside one transaction; a newer schema is refused.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from typing import Any, Self

from complaint_engine.errors import ConnectionLost, StorageError, ValidationError
from complaint_engine.events import DomainEvent
from complaint_engine.messages import Message, Verbatim
from complaint_engine.model import Complaint
from complaint_engine.storage.damaged import Found
from complaint_engine.storage.dbapi import Cursor, Params, Row
from complaint_engine.storage.lean import sync_codes
from complaint_engine.storage.schema import (
    EVENT_COLUMNS,
    IMPORTED,
    event_row,
    facts_ddl,
    move_to_version_3,
    move_to_version_6,
    version_3_ddl,
    version_4_ddl,
    version_5_ddl,
    version_6_ddl,
)
from complaint_engine.storage.sql import Dialect, SQLRepository, SQLSnapshot, SQLTransaction, SQLUnit
from complaint_engine.storage.sql.names import NAMES_SQL, labels_of
from complaint_engine.storage.sql.statements import logged_update_statement
from complaint_engine.storage.tallied import tallies_of, tally_statements
from complaint_engine.storage.version7 import move_to_version_7, recode_postgres, version_7_ddl
from complaint_engine.tallies import Tallies, TallyRequest

try:
    import psycopg
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("PostgresRepository needs psycopg: pip install 'complaint_engine[postgres]'") from exc

__all__ = ["SCHEMA_VERSION", "PostgresRepository"]

APPEND_ONLY_TRIGGER = """CREATE TRIGGER transitions_append_only BEFORE UPDATE OR DELETE ON transitions
            FOR EACH ROW EXECUTE FUNCTION complaint_engine_refuse_change()"""
MIGRATIONS: Sequence[Sequence[str]] = (
    (  # version 1
        """CREATE TABLE complaints (
            id TEXT PRIMARY KEY, office TEXT NOT NULL, status TEXT NOT NULL, serial TEXT,
            received_us BIGINT NOT NULL, next_due_us BIGINT, version INTEGER NOT NULL, doc TEXT NOT NULL)""",
        "CREATE INDEX complaints_office_status ON complaints (office, status)",
        "CREATE INDEX complaints_office_received ON complaints (office, received_us)",
        "CREATE INDEX complaints_next_due ON complaints (next_due_us) WHERE next_due_us IS NOT NULL",
        "CREATE UNIQUE INDEX complaints_serial ON complaints (serial) WHERE serial IS NOT NULL",
        """CREATE TABLE transitions (
            complaint_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, source TEXT, target TEXT NOT NULL,
            actor TEXT NOT NULL, role TEXT NOT NULL, at TEXT NOT NULL, note TEXT, PRIMARY KEY (complaint_id, seq))""",
        """CREATE FUNCTION complaint_engine_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'transitions are append-only quality records'; END $$""",
        APPEND_ONLY_TRIGGER,
        "CREATE TABLE sequences (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
        "CREATE TABLE capas (number TEXT PRIMARY KEY, office TEXT NOT NULL, version INTEGER NOT NULL, "
        "doc TEXT NOT NULL)",
        "CREATE TABLE announcements (number TEXT PRIMARY KEY, office TEXT NOT NULL, doc TEXT NOT NULL)",
    ),
)
MIGRATIONS = (
    *MIGRATIONS,
    tuple(facts_ddl("BIGINT")),  # version 2: the facts table
    (  # version 3: facts into the complaint row, history out of the documents (see storage/schema.py)
        *version_3_ddl("BIGINT"),
        "ALTER TABLE transitions DISABLE TRIGGER transitions_append_only",  # on again in the same transaction
    ),
    tuple(version_4_ddl("BIGINT")),  # version 4: the facts of the acknowledge, start and update clocks
    tuple(version_5_ddl("BIGINT", "BIGSERIAL PRIMARY KEY")),  # version 5: the outbox and subscriptions
    tuple(version_6_ddl("BIGINT")),  # version 6: the location and measure-count facts
    # version 7: packed documents, compact transition rows, coded facts
    tuple(version_7_ddl("BIGINT", "BYTEA", "BIGSERIAL PRIMARY KEY")),
)
SCHEMA_VERSION = len(MIGRATIONS)
CHANNEL = "complaint_engine_events"
OUTBOX_LOCK_KEY = 0x6F757462  # advisory lock id that orders the writers of events ("outb")
OUTBOX_CHUNK = 1000  # events per statement: 10,000 parameters, far below the protocol's 65,535
POSTGRES = Dialect(placeholder="%s", integrity_error=psycopg.errors.IntegrityError, driver_error=psycopg.Error,
                   one_of="= ANY(ARRAY({}))", by_code_point=' COLLATE "C"')
LOCK_KEY = 0x636F6D70  # advisory lock id for migrations ("comp")


def _safe_dsn(dsn: str) -> str:
    """The DSN without its password, for error messages."""
    try:
        parts = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparsable DSN>"
    parts.pop("password", None)
    return " ".join(f"{k}={v}" for k, v in parts.items())


@functools.lru_cache(maxsize=64)
def _outbox_sql(n: int) -> str:
    cols = ", ".join(EVENT_COLUMNS)
    row = "(" + ", ".join("?" for _ in EVENT_COLUMNS) + ")"
    # A sequence hands out positions as rows are inserted, but transactions commit in their own order: a reader
    # could see position 7 committed before 6, move on, and never read 6. So the writers of events take one lock,
    # held to the end of their transaction, before their rows take positions — as mature event stores do
    # (eventsourcing's PostgreSQL recorder locks the table). Here it is an advisory lock taken by the statement
    # itself: its one-time filter runs before the first row is made, and so before the first position is drawn.
    # pg_notify wakes a subscription's wait when the transaction commits (the same payload is sent once).
    return (f"INSERT INTO events ({cols}) SELECT * FROM (VALUES {', '.join(row for _ in range(n))}) AS v ({cols}) "
            f"WHERE (SELECT pg_advisory_xact_lock({OUTBOX_LOCK_KEY})::text) = '' "
            f"RETURNING pg_notify('{CHANNEL}', '')")


def outbox_statements(rows: list[Row]) -> list[tuple[str, Params]]:
    """The statements that record these event rows, each taking the lock that orders positions and notifying
    listeners: one statement per :data:`OUTBOX_CHUNK` rows (one round trip's worth of work for a verb)."""
    out: list[tuple[str, Params]] = []
    for start in range(0, len(rows), OUTBOX_CHUNK):
        chunk = rows[start:start + OUTBOX_CHUNK]
        out.append((_outbox_sql(len(chunk)), tuple(value for row in chunk for value in row)))
    return out


COPY_FROM = 64  # rows from which an import streams them with COPY


class _PgUnit(SQLUnit):
    """PostgreSQL's versions of the shared operations."""

    def claim_overdue(self, due_before: dt.datetime, *, office: str | None = None, limit: int | None = 100,
                      ids: Sequence[str] | None = None) -> Found[Complaint]:
        """Open complaints with a running clock due before the instant, locked for this transaction; rows locked
        by another worker are skipped, so concurrent sweeps share the work."""
        sql, args = self._claim_statement(due_before, office, limit, " FOR UPDATE SKIP LOCKED", ids)
        return self._complaints(self._execute(sql, args).fetchall())

    def _save_with_its_transition(self, columns: tuple[int, ...], sets: Row, transition: Row, saved: Complaint) -> bool:
        # a desk verb on a server: the save and its one transition row in one statement, one round trip
        self._update(logged_update_statement(columns), (*sets, *transition[1:]), saved)
        return True

    def append_events(self, events: Iterable[DomainEvent]) -> None:
        for statement, args in outbox_statements([event_row(e) for e in events]):
            self._execute(statement, args)

    def _failure(self, exc: BaseException, statement: str) -> StorageError:
        if isinstance(self._conn, psycopg.Connection) and self._conn.broken:
            return ConnectionLost(Message("the connection to the database was lost: {0}; nothing of the unit of work "
                                          "in progress was committed (if it was lost during the commit, the server "
                                          "may have committed it); the next call connects again", str(exc).strip()),
                                  location=self.location)
        return super()._failure(exc, statement)


class _PgTransaction(SQLTransaction, _PgUnit):
    """A PostgreSQL unit of work. A round trip to a server costs as much as a statement: with pipelines
    (libpq 14 or later) BEGIN waits for the unit's first statement and goes with it, and reads sent together
    share one round trip."""

    def __init__(self, repo: SQLRepository) -> None:
        super().__init__(repo)
        assert isinstance(repo, PostgresRepository)  # the transaction class of no other repository
        self._pg = repo
        self._begin_pending = False  # BEGIN is to go with the unit's first statement
        self._outbox: list[Row] = []  # events, sent with COMMIT

    def __enter__(self) -> Self:
        if not self._pg.begins_with_first_statement:
            super().__enter__()
            return self
        self._pg.lock.acquire()  # held from now on all the same
        self._conn = self._pg.connection
        self._begin_pending = True
        return self

    def append_events(self, events: Iterable[DomainEvent]) -> None:
        # kept for the commit: the outbox's statement and COMMIT go in one round trip, and the lock that orders
        # positions (see _outbox_sql) is held only for the time the commit takes
        self._outbox.extend(event_row(e) for e in events)

    def tallies(self, request: TallyRequest) -> Tallies:
        """The counts of the periodic analysis, aggregated by the server (see storage/tallied.py); the names
        are read last, so they hold every code the counts name."""
        *results, names = self._fetch_each([*tally_statements(request, self._dialect), (NAMES_SQL, ())])
        return tallies_of(results, request, labels_of(names))

    def commit(self) -> None:
        if self._outbox:
            if not self._begin_pending and self._pg.unit_failed():
                super().commit()  # refuses, saying why
            statements = [*outbox_statements(self._outbox), ("COMMIT", ())]
            self._pipelined(statements)
            self._outbox = []
            self.committed = True
            self._committed()
            return
        if self._begin_pending:  # a unit that sent nothing has nothing to commit
            self.committed = True
            self._committed()
            return
        super().commit()

    def _execute(self, statement: str, args: Params = ()) -> Cursor:
        if self._begin_pending:
            return self._pipelined([(statement, tuple(args))])[0]
        return super()._execute(statement, args)

    def _executemany(self, statement: str, rows: list[Row]) -> None:
        if self._begin_pending and rows:
            self._execute("SELECT 1")  # begins the unit: one round trip, as BEGIN alone would be
        super()._executemany(statement, rows)

    def _insert_all(self, table: str, rows: list[Row]) -> None:
        """An import's rows through ``COPY … FROM STDIN``: one stream, not a statement a row (a few rows go as
        prepared inserts)."""
        conn = self._conn
        if len(rows) < COPY_FROM or not isinstance(conn, psycopg.Connection):
            super()._insert_all(table, rows)
            return
        if self._begin_pending:
            self._execute("SELECT 1")  # begins the unit, as the inserts' first statement would
        statement = f"COPY {table} ({', '.join(IMPORTED[table][0])}) FROM STDIN"
        try:
            with conn.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except self._dialect.integrity_error:
            raise  # the caller names the repeated id or serial
        except self._dialect.driver_error as exc:
            raise self._failure(exc, statement) from exc

    def _fetch_each(self, statements: list[tuple[str, Params]]) -> list[list[Row]]:
        if not self._pg.begins_with_first_statement:
            return super()._fetch_each(statements)
        return [cursor.fetchall() for cursor in self._pipelined(statements)]

    def _pipelined(self, statements: list[tuple[str, Params]]) -> list[Cursor]:
        """Statements sent together in one pipeline (one round trip), after BEGIN when the unit has not begun.
        When the server had closed the connection before the unit began, nothing of the unit has reached it
        yet, so all of it goes again on a new connection."""
        begin, self._begin_pending = self._begin_pending, False
        sql = [(self._dialect.sql(statement), args) for statement, args in statements]

        def send() -> list[Cursor]:
            conn = self._pg.pg_connection
            with conn.pipeline():  # leaving it waits for every result: the cursors then hold their rows
                if begin:
                    conn.execute(self.begin)
                cursors: list[Cursor] = [conn.execute(statement, args) for statement, args in sql]
            return cursors

        def first_send(_statement: str, _args: Params) -> list[Cursor]:
            try:
                return send()
            except self._dialect.driver_error:
                if not begin or not self._pg.reconnect():  # a unit under way, or the statements' own error
                    raise
                self._conn = self._pg.connection
                return send()

        return self._run(first_send, statements[0][0], ())


class _PgSnapshot(SQLSnapshot, _PgTransaction):
    """A read-only PostgreSQL transaction (REPEATABLE READ, READ ONLY: one snapshot for the whole view)."""


def _milliseconds(name: str, seconds: object) -> str:
    """A timeout argument in seconds as PostgreSQL's setting (whole milliseconds; "0" is none)."""
    if (not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 <= seconds <= 86_400):
        raise ValidationError.of(name, seconds, "a number of seconds in 0..86400 (0: no timeout)")
    return str(round(seconds * 1000))


class PostgresRepository(SQLRepository):
    """A complaint store in a PostgreSQL database, shared by many desks and offices.

    Calls made directly commit at once; ``unit_of_work()`` groups calls and rolls back unless committed.
    """

    unit_class = _PgUnit
    transaction_class = _PgTransaction
    snapshot_class = _PgSnapshot
    begins_with_first_statement = psycopg.Pipeline.is_supported()  # libpq 14 or later
    snapshot_statement = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"  # one snapshot for the whole view

    def __init__(self, dsn: str, *, connect_timeout: int = 10, create: bool = True, lock_timeout: float = 30.0,
                 statement_timeout: float = 300.0) -> None:
        """Connect and bring the schema up to date; ``create=False`` refuses a database that holds no
        complaint register instead of creating one in it (for tools that read). ``lock_timeout`` and
        ``statement_timeout`` (seconds, 0 for none) bound how long a statement waits for a lock and runs: a
        frozen client holding an office's sequence row then blocks others' registrations for at most
        ``lock_timeout``, and they fail with a StorageError instead of hanging."""
        self.location = _safe_dsn(dsn)
        self._timeouts = (_milliseconds("lock_timeout", lock_timeout),
                          _milliseconds("statement_timeout", statement_timeout))
        self._dsn, self._connect_timeout = dsn, connect_timeout  # to connect again when the server closed it
        try:
            self.pg_connection = self._connect()
        except psycopg.Error as exc:
            raise StorageError(Message("cannot connect to PostgreSQL ({0}): {1}", Verbatim(self.location),
                                       Verbatim(str(exc).strip())),
                               location=self.location) from exc
        super().__init__(self.pg_connection, POSTGRES)
        try:
            self._migrate(create)
        except BaseException:
            self.pg_connection.close()
            raise

    def _migrate(self, create: bool) -> None:
        with self.unit_of_work() as uow:
            # through the unit, which begins the transaction with its first statement; the rest follow in it
            uow.run("SELECT pg_advisory_xact_lock(?)", (LOCK_KEY,))
            conn = self.pg_connection
            if not create and conn.execute("SELECT to_regclass('complaint_engine_schema')").fetchone() == (None,):
                raise StorageError(Message("database ({location}) holds no complaint register; open it with "
                                           "create=True to make one", location=self.location), location=self.location)
            conn.execute("CREATE TABLE IF NOT EXISTS complaint_engine_schema (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM complaint_engine_schema").fetchone()
            current = 0 if row is None else int(row[0])
            if current > SCHEMA_VERSION:
                raise StorageError(Message("database {0} has schema version {1}; this library supports up to {2} — "
                                           "upgrade complaint_engine", Verbatim(f"({self.location})"), current,
                                           SCHEMA_VERSION), location=self.location)
            for version in range(current, SCHEMA_VERSION):
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                if version == 6:
                    recode_postgres(uow.run)
                    move_to_version_7(uow.run, uow.run_many, document_type="BYTEA")
                    for statement in ("DROP TABLE transitions", "ALTER TABLE transitions_v7 RENAME TO transitions",
                                      APPEND_ONLY_TRIGGER):
                        conn.execute(statement)
                if version == 5:
                    move_to_version_6(uow.run, uow.run_many)
                if version == 2:
                    move_to_version_3(uow.run, uow.run_many)
                    conn.execute("ALTER TABLE transitions ENABLE TRIGGER transitions_append_only")
                    conn.execute("DROP TABLE complaint_facts")
            sync_codes(uow.run)
            if current == 0:
                conn.execute("INSERT INTO complaint_engine_schema VALUES (%s)", (SCHEMA_VERSION,))
            elif current < SCHEMA_VERSION:
                conn.execute("UPDATE complaint_engine_schema SET version = %s", (SCHEMA_VERSION,))
            uow.commit()

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=self._connect_timeout)
        # session settings, once per connection (a set_config, not libpq options, keeps the DSN's own options)
        conn.execute("SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false)",
                     self._timeouts)
        return conn

    def wait_for_events(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for a commit that recorded events (``LISTEN``; no polling)."""
        try:
            with psycopg.connect(self._dsn, autocommit=True, connect_timeout=self._connect_timeout) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                for _ in conn.notifies(timeout=timeout, stop_after=1):
                    break
        except psycopg.Error as exc:
            raise StorageError(Message("cannot listen for events on PostgreSQL ({0}): {1}", Verbatim(self.location),
                                       Verbatim(str(exc).strip())),
                               location=self.location) from exc

    def missing_safeguards(self) -> list[str]:
        """The append-only trigger of the transition log, when it is missing or disabled (the audit reports it)."""
        with self.pg_connection.cursor() as cur:
            cur.execute("SELECT tgenabled FROM pg_trigger WHERE tgname = 'transitions_append_only' "
                        "AND tgrelid = 'transitions'::regclass")
            row = cur.fetchone()
        if self.pg_connection.info.transaction_status is psycopg.pq.TransactionStatus.INTRANS:
            self.pg_connection.rollback()  # the check read the catalog only
        return [] if row is not None and row[0] != "D" else ["transitions_append_only"]

    def in_transaction(self) -> bool:
        # UNKNOWN: the connection is gone, and its transaction with it (there is nothing to roll back)
        return self.pg_connection.info.transaction_status not in (psycopg.pq.TransactionStatus.IDLE,
                                                                  psycopg.pq.TransactionStatus.UNKNOWN)

    def unit_failed(self) -> bool:
        return bool(self.pg_connection.info.transaction_status == psycopg.pq.TransactionStatus.INERROR)

    def reconnect(self) -> bool:
        """A new connection in place of one the server closed (a restart, a failover, an idle timeout)."""
        if self.closed or not (self.pg_connection.broken or self.pg_connection.closed):
            return False
        try:
            self.pg_connection = self._connect()
        except psycopg.Error as exc:
            raise StorageError(Message("lost the connection to PostgreSQL ({0}) and cannot connect again: {1}",
                                       Verbatim(self.location), Verbatim(str(exc).strip())),
                               location=self.location) from exc
        self.connection = self.pg_connection
        return True

    @property
    def schema_version(self) -> int:
        row = self.pg_connection.execute("SELECT version FROM complaint_engine_schema").fetchone()
        return 0 if row is None else int(row[0])

    def drop_all_data_for_tests(self) -> None:
        """Empty every table (TRUNCATE does not fire the append-only row trigger). For test suites only."""
        self.pg_connection.execute("TRUNCATE complaints, transitions, sequences, capas, announcements, events, "
                                   "subscriptions RESTART IDENTITY")
