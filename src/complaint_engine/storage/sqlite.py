"""SQLiteRepository: the embedded default store, one file, several processes.

* WAL journal and ``synchronous=FULL`` by default: a committed transition survives a crash.
* A busy timeout, so several processes (several desks) can share the file.
* The schema is versioned with ``PRAGMA user_version``; migrations run forward inside one transaction,
  so a failed one leaves no partial schema. A file of a newer version is refused.
* Queried fields are indexed columns: office with received_at, serial (unique), and status with the
  next due instant in one small index of live complaints (``storage/schema.py``); the complaint itself
  is a JSON document (``serialization.to_document``), stored packed (``storage/lean.py``), next to its fact
  columns (``complaint_engine.facts``) in the same row.
* The transition history is the append-only ``transitions`` table, whose triggers refuse UPDATE and
  DELETE: the quality record (P-7). Documents do not repeat it.
* A unit of work reads outside any transaction until its first write, then is ``BEGIN IMMEDIATE`` …
  ``COMMIT``: the write lock is held for the writes and the commit only, serials allocated inside are gap-free
  across processes, and a rollback returns them. Saves are conditional on the version read (``ConcurrencyError``
  when another desk saved the complaint meanwhile; the desk then runs the verb again).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from complaint_engine.errors import StorageError, ValidationError
from complaint_engine.messages import Message, Verbatim
from complaint_engine.model import Complaint
from complaint_engine.storage.damaged import Found
from complaint_engine.storage.dbapi import Connection, Cursor, Params, Row
from complaint_engine.storage.lean import sync_codes
from complaint_engine.storage.schema import (
    facts_ddl,
    move_to_version_3,
    move_to_version_6,
    version_3_ddl,
    version_4_ddl,
    version_5_ddl,
    version_6_ddl,
)
from complaint_engine.storage.sql import Dialect, SQLRepository
from complaint_engine.storage.sql.repository import SQLTransaction
from complaint_engine.storage.turns import Turns, turns_for
from complaint_engine.storage.version7 import move_to_version_7, recode_sqlite, version_7_ddl

__all__ = ["SCHEMA_VERSION", "SQLiteRepository"]

NO_UPDATE_TRIGGER = """CREATE TRIGGER transitions_no_update BEFORE UPDATE ON transitions
        BEGIN SELECT RAISE(ABORT, 'transitions are append-only quality records'); END"""
NO_DELETE_TRIGGER = """CREATE TRIGGER transitions_no_delete BEFORE DELETE ON transitions
        BEGIN SELECT RAISE(ABORT, 'transitions are append-only quality records'); END"""
MIGRATIONS: Sequence[str] = (
    # version 1
    f"""
    CREATE TABLE complaints (
        id TEXT PRIMARY KEY,
        office TEXT NOT NULL,
        status TEXT NOT NULL,
        serial TEXT,
        received_us INTEGER NOT NULL,
        next_due_us INTEGER,
        version INTEGER NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX complaints_office_status ON complaints (office, status);
    CREATE INDEX complaints_office_received ON complaints (office, received_us);
    CREATE INDEX complaints_next_due ON complaints (next_due_us) WHERE next_due_us IS NOT NULL;
    CREATE UNIQUE INDEX complaints_serial ON complaints (serial) WHERE serial IS NOT NULL;
    CREATE TABLE transitions (
        complaint_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        event TEXT NOT NULL,
        source TEXT,
        target TEXT NOT NULL,
        actor TEXT NOT NULL,
        role TEXT NOT NULL,
        at TEXT NOT NULL,
        note TEXT,
        PRIMARY KEY (complaint_id, seq)
    ) WITHOUT ROWID;
    {NO_UPDATE_TRIGGER};
    {NO_DELETE_TRIGGER};
    CREATE TABLE sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE capas (number TEXT PRIMARY KEY, office TEXT NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL);
    CREATE TABLE announcements (number TEXT PRIMARY KEY, office TEXT NOT NULL, doc TEXT NOT NULL);
    """,
)
# version 2 created a facts table (see _migrate); version 3 moves the facts into the complaint row and the
# history out of the documents (storage/schema.py)
SCHEMA_VERSION = 7
APPLICATION_ID = 0x43454E47  # "CENG", in the file header (PRAGMA application_id): a complaint register
SQLITE = Dialect(placeholder="?", integrity_error=sqlite3.IntegrityError, driver_error=sqlite3.Error)


_READS = ("SELECT", "WITH RECURSIVE")  # statements a unit runs before its first write without beginning


class _SQLiteTransaction(SQLTransaction):
    """A SQLite unit of work that reads outside any transaction until its first write, which begins it
    (``BEGIN IMMEDIATE``, after this file's turn). The write lock is then held for the writes and the commit,
    not for the reading and deciding before them, so the desks of several processes overlap their work instead
    of taking turns for all of it. What was read stays safe to act on: each save is conditional on the version
    it read (a complaint another desk saved meanwhile is refused with ``ConcurrencyError``, which the desk
    answers by running the verb again), and reads after the first write see the transaction's own state."""

    def __enter__(self) -> Self:
        self.repository.lock.acquire()
        self._conn = self.repository.connection
        self._begun = False
        return self

    def _hold_lock(self) -> None:
        """Begin the write transaction, unless this unit has: before its first write (or a read that must hold
        the lock)."""
        if not self._begun:
            self._begun = True
            self._run(lambda statement, _args: self.repository.begin_unit(self._conn, statement), self.begin, ())

    def _execute(self, statement: str, args: Params = ()) -> Cursor:
        if not statement.startswith(_READS):
            self._hold_lock()
        return super()._execute(statement, args)

    def _executemany(self, statement: str, rows: list[Row]) -> None:
        if rows:
            self._hold_lock()
        super()._executemany(statement, rows)

    # Reads that decide what another row may hold take the lock first, as a write would: the sweep's claim (two
    # sweeps never take the same overdue complaint), and the register's control rows — a sequence's number and a
    # closed year's mark — so that closing a year and an entry dated in it never pass each other.
    def claim_overdue(self, due_before: dt.datetime, *, office: str | None = None, limit: int | None = 100,
                      ids: Sequence[str] | None = None) -> Found[Complaint]:
        self._hold_lock()
        return super().claim_overdue(due_before, office=office, limit=limit, ids=ids)

    def cursor(self, name: str) -> int:
        self._hold_lock()
        return super().cursor(name)

    def current_number(self, sequence: str) -> int:
        self._hold_lock()
        return super().current_number(sequence)

    def commit(self) -> None:
        if not self._begun:  # a unit that wrote nothing has nothing to commit
            self.committed = True
            self._committed()
            return
        super().commit()


class SQLiteRepository(SQLRepository):
    """A complaint store in one SQLite file (``":memory:"`` for a private in-memory database).

    Calls made directly commit at once; ``unit_of_work()`` groups calls and rolls back unless committed.
    """

    transaction_class = _SQLiteTransaction
    begin_statement = "BEGIN IMMEDIATE"  # at a unit's first write: serials allocated inside stay gap-free
    snapshot_statement = "BEGIN DEFERRED"  # no lock: in WAL mode its first read fixes the snapshot it sees

    def __init__(self, path: str | Path, *, synchronous: str = "FULL", busy_timeout_ms: int = 30_000,
                 create: bool = True, read_only: bool = False) -> None:
        """Open (or, with ``create``, make) the store in the file at ``path``. ``create=False`` opens only a
        file that already holds a complaint register (its ``application_id``, or a register written before it
        had one) and changes nothing in any other file — for tools that read, so a mistyped path never turns
        another program's database into a register. ``read_only=True`` (implies ``create=False``) opens the file
        for reading only: no write lock is ever taken, so an audit or a report runs beside a busy desk and on
        read-only media; every write is refused with ``StorageError``."""
        self.path = str(path)
        self.location = self.path
        self._busy_ms = int(busy_timeout_ms)
        self._turns: Turns | None = None
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValidationError.of("synchronous", synchronous, "'OFF', 'NORMAL', 'FULL' or 'EXTRA'")
        if self.path != ":memory:":
            p = Path(self.path)
            if p.is_dir():
                raise StorageError(Message("database path {path!r} is a directory; give a file path",
                                           path=self.path), location=self.path)
            if not p.parent.exists():
                raise StorageError(Message("database folder {0!r} does not exist", str(p.parent)), location=self.path)
            if (not create or read_only) and not p.is_file():
                raise StorageError(Message("database {path!r} does not exist", path=self.path), location=self.path)
        self.read_only = read_only
        if self.path != ":memory:" and Path(self.path).is_file() and Path(self.path).stat().st_size > 0:
            # read through a read-only probe first: a file that is not to become a register keeps every byte
            self._refuse_unless_a_register(any_register_file=create and not read_only)
        try:
            if read_only:
                conn = sqlite3.connect(f"{Path(self.path).resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                                       check_same_thread=False, cached_statements=512, timeout=busy_timeout_ms / 1000)
                conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                if version != SCHEMA_VERSION:
                    conn.close()
                    raise StorageError(Message("database {path!r} is at schema version {version}; read-only opens "
                                               "read version {SCHEMA_VERSION} — open it once for writing to migrate it",
                                               path=self.path, version=version, SCHEMA_VERSION=SCHEMA_VERSION),
                                       location=self.path)
                super().__init__(conn, SQLITE)
                self._conn = conn
                return
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, cached_statements=512,
                                   timeout=busy_timeout_ms / 1000)
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
            conn.execute("PRAGMA foreign_keys = ON")
            # deleted and rewritten content is overwritten with zeros, so an erased person's data does not stay
            # in free space or unused parts of pages (docs/privacy.md)
            conn.execute("PRAGMA secure_delete = ON")
        except sqlite3.Error as exc:
            raise StorageError(Message("cannot open database {path!r}: {exc}",
                                       path=self.path, exc=exc), location=self.path) from exc
        super().__init__(conn, SQLITE)
        self._conn = conn
        self._migrate()
        self._turns = turns_for(self.path)  # only a store that writes waits for its turn

    def _refuse_unless_a_register(self, *, any_register_file: bool) -> None:
        """A file that holds another application's database (its ``application_id``) is refused, and — unless
        ``any_register_file`` (an open that may make a register in a plain SQLite file) — one that holds no
        complaint register; read through a read-only connection (no journal mode switched, no lock, no write)."""
        try:
            probe = sqlite3.connect(f"{Path(self.path).resolve().as_uri()}?mode=ro", uri=True)
            try:
                app, version = (int(probe.execute(f"PRAGMA {name}").fetchone()[0])
                                for name in ("application_id", "user_version"))
                tables = {str(r[0]) for r in probe.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            finally:
                probe.close()
        except sqlite3.Error as exc:
            raise StorageError(Message("cannot read database {path!r}: {exc}",
                                       path=self.path, exc=exc), location=self.path) from exc
        # a register of this library: its application id, or (written before it had one) a schema version and
        # the tables of a register
        if app == APPLICATION_ID or (app == 0 and version > 0 and {"complaints", "transitions"} <= tables):
            return
        if any_register_file and app == 0:
            return
        refused = (Message("database {path!r} holds another application's database (application_id {app:#x}); "
                           "nothing was changed", path=self.path, app=app) if app
                   else Message("database {path!r} holds no complaint register; nothing was changed", path=self.path))
        raise StorageError(refused, location=self.path)

    def _migrate(self) -> None:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StorageError(self._cannot_begin(exc), location=self.path) from exc
        try:
            current = self._conn.execute("PRAGMA user_version").fetchone()[0]
            app = int(self._conn.execute("PRAGMA application_id").fetchone()[0])
            if app not in (0, APPLICATION_ID):
                raise StorageError(Message("database {path!r} holds another application's database (application_id "
                                           "{app:#x}); nothing was changed",
                                           path=self.path, app=app), location=self.path)
            if app == 0:  # this library's mark, in the file's header: a tool tells a register from other files
                self._conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            if current > SCHEMA_VERSION:
                raise StorageError(Message("database {0} has schema version {1}; this library supports up to {2} — "
                                           "upgrade complaint_engine", Verbatim(repr(self.path)), current,
                                           SCHEMA_VERSION), location=self.path)
            for version in range(current, SCHEMA_VERSION):
                if version == 0:
                    for statement in MIGRATIONS[version].split(";\n"):
                        if statement.strip():
                            self._conn.execute(statement)
                elif version == 1:
                    # WITHOUT ROWID: the rows lived in the id's B-tree (one tree per upsert, not table + index)
                    for statement in facts_ddl("INTEGER", " WITHOUT ROWID"):
                        self._conn.execute(statement)
                elif version == 2:
                    self._migrate_to_version_3()
                elif version == 3:
                    for statement in version_4_ddl("INTEGER"):
                        self._conn.execute(statement)
                elif version == 4:
                    for statement in version_5_ddl("INTEGER", "INTEGER PRIMARY KEY"):
                        self._conn.execute(statement)
                elif version == 5:
                    for statement in version_6_ddl("INTEGER"):
                        self._conn.execute(statement)
                    move_to_version_6(self._conn.execute, self._conn.executemany)
                else:
                    self._migrate_to_version_7()
                self._conn.execute(f"PRAGMA user_version = {version + 1}")
            sync_codes(self._conn.execute)
            self._conn.execute("COMMIT")
        except BaseException as exc:
            self._conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StorageError(Message("cannot prepare database {path!r}: {exc}",
                                           path=self.path, exc=exc), location=self.path) from exc
            raise

    def _cannot_begin(self, exc: sqlite3.Error) -> str:
        """Why opening failed; when the write lock stayed taken, say who most likely holds it. (A reader is
        not blocked by a writer in WAL mode, so the schema version can still be read.)"""
        message = Message("cannot open database {0!r}: {1}", self.path, Verbatim(str(exc)))
        if "locked" not in str(exc):
            return message
        try:
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.Error:
            return message
        if version < SCHEMA_VERSION:
            return Message("{0} — the file is at schema version {1} and another process has held its write lock past "
                           "the busy timeout, most likely migrating it to version {2} (about 0.2 ms per complaint); "
                           "open it again when that is done, or give a longer busy_timeout_ms", message, version,
                           SCHEMA_VERSION)
        return Message("{0} — another process has held its write lock past the busy timeout", message)

    def _migrate_to_version_3(self) -> None:
        """Version 3: facts into the complaint row, history out of the documents (see storage/schema.py)."""
        for statement in (*version_3_ddl("INTEGER"),
                          "DROP TRIGGER transitions_no_update"):  # back on below, in this same transaction
            self._conn.execute(statement)
        move_to_version_3(self._conn.execute, self._conn.executemany)
        self._conn.execute(NO_UPDATE_TRIGGER)
        self._conn.execute("DROP TABLE complaint_facts")

    def _migrate_to_version_7(self) -> None:
        """Version 7: packed documents, compact transition rows, coded facts (see storage/version7.py)."""
        for statement in version_7_ddl("INTEGER", "BLOB", "INTEGER PRIMARY KEY", " WITHOUT ROWID"):
            self._conn.execute(statement)
        recode_sqlite(self._conn.execute)
        move_to_version_7(self._conn.execute, self._conn.executemany)
        for statement in ("DROP TABLE transitions", "ALTER TABLE transitions_v7 RENAME TO transitions",
                          NO_UPDATE_TRIGGER, NO_DELETE_TRIGGER):
            self._conn.execute(statement)

    def missing_safeguards(self) -> list[str]:
        """The append-only triggers of the transition log that are not in the file (the audit reports them)."""
        present = {name for (name,) in self._conn.execute("SELECT name FROM sqlite_schema WHERE type = 'trigger'")}
        return [name for name in ("transitions_no_update", "transitions_no_delete") if name not in present]

    def scrub(self) -> None:
        """After an erasure: the write-ahead log copied into the file and truncated, so no old image of a
        rewritten page stays in it (``secure_delete`` already zeroed the old content in the file's pages)."""
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def begin_unit(self, connection: Connection, statement: str) -> None:
        """``BEGIN IMMEDIATE`` once this file's turn has come (:mod:`complaint_engine.storage.turns`): the desks of
        several processes writing one file get the write lock about equally often."""
        if statement == self.begin_statement and self._turns is not None:
            self._turns.take(self._busy_ms / 1000)
        try:
            connection.execute(statement)
        except BaseException:
            self.end_unit()
            raise

    def end_unit(self) -> None:
        if self._turns is not None:
            self._turns.give()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._turns is not None:
                self._turns.close()
                self._turns = None

    def in_transaction(self) -> bool:
        return bool(self._conn.in_transaction)

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])
