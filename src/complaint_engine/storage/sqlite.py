"""SQLiteRepository: the embedded default store, one file, several processes.

* WAL journal and ``synchronous=FULL`` by default: a committed transition survives a crash.
* A busy timeout, so several processes (several desks) can share the file.
* The schema is versioned with ``PRAGMA user_version``; migrations run forward inside one transaction,
  so a failed one leaves no partial schema. A file of a newer version is refused.
* Queried fields are indexed columns (office, status, serial, received_at, next due instant); the
  complaint itself is a JSON document (``serialization.to_document``).
* The transition history is also kept in an append-only table whose triggers refuse UPDATE and DELETE:
  the quality record (P-7).
* A unit of work is ``BEGIN IMMEDIATE`` … ``COMMIT``: it takes the write lock at once, so serials
  allocated inside it are gap-free across processes, and a rollback returns them.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from complaint_engine.errors import ConcurrencyError, NotFound, StorageError, ValidationError
from complaint_engine.model import Announcement, CAPAReport, Complaint, Status, replace
from complaint_engine.rules.sla import ClockState
from complaint_engine.serialization import from_document, to_document

__all__ = ["SCHEMA_VERSION", "SQLiteRepository"]

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
US = dt.timedelta(microseconds=1)

MIGRATIONS: Sequence[str] = (
    # version 1
    """
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
    CREATE TRIGGER transitions_no_update BEFORE UPDATE ON transitions
        BEGIN SELECT RAISE(ABORT, 'transitions are append-only quality records'); END;
    CREATE TRIGGER transitions_no_delete BEFORE DELETE ON transitions
        BEGIN SELECT RAISE(ABORT, 'transitions are append-only quality records'); END;
    CREATE TABLE sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE capas (number TEXT PRIMARY KEY, office TEXT NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL);
    CREATE TABLE announcements (number TEXT PRIMARY KEY, office TEXT NOT NULL, doc TEXT NOT NULL);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def to_us(instant: dt.datetime) -> int:
    return (instant - EPOCH) // US


def next_due_us(c: Complaint) -> int | None:
    """The earliest due instant among running clocks: what the overdue query looks at."""
    dues = [d.due for d in c.deadlines.values() if d.state is ClockState.RUNNING]
    return to_us(min(dues)) if dues else None


def _row(c: Complaint) -> tuple[Any, ...]:
    return (c.id, c.office, c.status.value, c.serial, to_us(c.received_at), next_due_us(c), c.version, to_document(c))


def _transition_rows(c: Complaint, start: int) -> list[tuple[Any, ...]]:
    return [(c.id, i, t.event, None if t.source is None else t.source.value, t.target.value, t.actor.id,
             t.actor.role.value, t.at.isoformat(), t.note) for i, t in enumerate(c.history[start:], start)]


class _SQLiteUnit:
    """The repository's operations on one connection; the caller owns the transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    # complaints
    def add(self, complaint: Complaint) -> Complaint:
        try:
            self._conn.execute("INSERT INTO complaints VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _row(complaint))
        except sqlite3.IntegrityError as exc:
            raise ValidationError.of("complaint id or serial", complaint.id,
                                     f"one not already stored ({exc})") from None
        self._conn.executemany("INSERT INTO transitions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               _transition_rows(complaint, 0))
        return complaint

    def add_many(self, complaints: Iterable[Complaint]) -> int:
        rows, transitions = [], []
        for c in complaints:
            rows.append(_row(c))
            transitions.extend(_transition_rows(c, 0))
        try:
            self._conn.executemany("INSERT INTO complaints VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.IntegrityError as exc:
            raise ValidationError.of("complaint ids or serials", f"{len(rows)} rows", f"unique ({exc})") from None
        self._conn.executemany("INSERT INTO transitions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", transitions)
        return len(rows)

    def get(self, complaint_id: str) -> Complaint:
        row = self._conn.execute("SELECT doc FROM complaints WHERE id = ?", (complaint_id,)).fetchone()
        if row is None:
            raise NotFound("complaint", complaint_id)
        return from_document(row[0], Complaint, key=complaint_id)

    def save(self, complaint: Complaint) -> Complaint:
        saved = replace(complaint, {"version": complaint.version + 1})
        row = _row(saved)
        cur = self._conn.execute(
            "UPDATE complaints SET office = ?, status = ?, serial = ?, received_us = ?, next_due_us = ?, version = ?, "
            "doc = ? WHERE id = ? AND version = ?", (*row[1:], complaint.id, complaint.version))
        if cur.rowcount == 0:
            found = self._conn.execute("SELECT version FROM complaints WHERE id = ?", (complaint.id,)).fetchone()
            if found is None:
                raise NotFound("complaint", complaint.id)
            raise ConcurrencyError(complaint.id, expected=complaint.version, actual=found[0])
        stored = self._conn.execute("SELECT count(*) FROM transitions WHERE complaint_id = ?",
                                    (complaint.id,)).fetchone()[0]
        self._conn.executemany("INSERT INTO transitions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               _transition_rows(saved, stored))
        return saved

    def find(self, *, office: str | None = None, status: Status | None = None,
             due_before: dt.datetime | None = None) -> list[Complaint]:
        where: list[str] = []
        args: list[Any] = []
        if office is not None:
            where.append("office = ?")
            args.append(office)
        if status is not None:
            where.append("status = ?")
            args.append(status.value)
        if due_before is not None:
            where.append("next_due_us < ?")
            args.append(to_us(due_before))
        sql = "SELECT id, doc FROM complaints" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY received_us, id"
        return [from_document(doc, Complaint, key=key) for key, doc in self._conn.execute(sql, args)]

    def next_number(self, sequence: str) -> int:
        row = self._conn.execute(
            "INSERT INTO sequences (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1 "
            "RETURNING value", (sequence,)).fetchone()
        return int(row[0])

    def history(self, complaint_id: str) -> list[tuple[Any, ...]]:
        """The append-only transition rows of a complaint, in order."""
        return self._conn.execute("SELECT seq, event, source, target, actor, role, at, note FROM transitions "
                                  "WHERE complaint_id = ? ORDER BY seq", (complaint_id,)).fetchall()

    # CAPA and announcements
    def add_capa(self, report: CAPAReport) -> CAPAReport:
        try:
            self._conn.execute("INSERT INTO capas VALUES (?, ?, ?, ?)",
                               (report.number, report.office, report.version, to_document(report)))
        except sqlite3.IntegrityError:
            raise ValidationError.of("CAPA number", report.number, "a number not already stored") from None
        return report

    def get_capa(self, number: str) -> CAPAReport:
        row = self._conn.execute("SELECT doc FROM capas WHERE number = ?", (number,)).fetchone()
        if row is None:
            raise NotFound("CAPA report", number)
        return from_document(row[0], CAPAReport, key=number)

    def save_capa(self, report: CAPAReport) -> CAPAReport:
        saved = replace(report, {"version": report.version + 1})
        cur = self._conn.execute("UPDATE capas SET version = ?, doc = ? WHERE number = ? AND version = ?",
                                 (saved.version, to_document(saved), report.number, report.version))
        if cur.rowcount == 0:
            found = self._conn.execute("SELECT version FROM capas WHERE number = ?", (report.number,)).fetchone()
            if found is None:
                raise NotFound("CAPA report", report.number)
            raise ConcurrencyError(report.number, expected=report.version, actual=found[0])
        return saved

    def find_capas(self, *, office: str | None = None) -> list[CAPAReport]:
        sql = "SELECT number, doc FROM capas"
        args: tuple[str, ...] = ()
        if office is not None:
            sql, args = sql + " WHERE office = ?", (office,)
        return [from_document(doc, CAPAReport, key=k) for k, doc in self._conn.execute(sql + " ORDER BY number", args)]

    def add_announcement(self, announcement: Announcement) -> Announcement:
        try:
            self._conn.execute("INSERT INTO announcements VALUES (?, ?, ?)",
                               (announcement.number, announcement.office, to_document(announcement)))
        except sqlite3.IntegrityError:
            raise ValidationError.of("announcement number", announcement.number,
                                     "a number not already stored") from None
        return announcement

    def find_announcements(self, *, office: str | None = None) -> list[Announcement]:
        sql = "SELECT number, doc FROM announcements"
        args: tuple[str, ...] = ()
        if office is not None:
            sql, args = sql + " WHERE office = ?", (office,)
        return [from_document(doc, Announcement, key=k)
                for k, doc in self._conn.execute(sql + " ORDER BY number", args)]

    def commit(self) -> None:
        raise NotImplementedError  # replaced by the transaction object


class _Transaction(_SQLiteUnit):
    def __init__(self, repo: SQLiteRepository) -> None:
        super().__init__(repo._conn)
        self._repo = repo
        self.committed = False

    def commit(self) -> None:
        self._conn.execute("COMMIT")
        self.committed = True

    def __enter__(self) -> _Transaction:
        self._repo._lock.acquire()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            self._repo._lock.release()
            raise StorageError(f"cannot start a transaction on {self._repo.path}: {exc}",
                               location=str(self._repo.path)) from exc
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if not self.committed:
                self._conn.execute("ROLLBACK")
        finally:
            self._repo._lock.release()


class SQLiteRepository(_SQLiteUnit):
    """A complaint store in one SQLite file (``":memory:"`` for a private in-memory database).

    Calls made directly commit at once; ``unit_of_work()`` groups calls and rolls back unless committed.
    """

    def __init__(self, path: str | Path, *, synchronous: str = "FULL", busy_timeout_ms: int = 30_000) -> None:
        self.path = str(path)
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValidationError.of("synchronous", synchronous, "'OFF', 'NORMAL', 'FULL' or 'EXTRA'")
        if self.path != ":memory:":
            p = Path(self.path)
            if p.is_dir():
                raise StorageError(f"database path {self.path!r} is a directory; give a file path", location=self.path)
            if not p.parent.exists():
                raise StorageError(f"database folder {str(p.parent)!r} does not exist", location=self.path)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=busy_timeout_ms / 1000)
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open database {self.path!r}: {exc}", location=self.path) from exc
        super().__init__(conn)
        self._lock = threading.RLock()
        self._migrate()

    def _migrate(self) -> None:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open database {self.path!r}: {exc}", location=self.path) from exc
        try:
            current = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if current > SCHEMA_VERSION:
                raise StorageError(f"database {self.path!r} has schema version {current}; this library supports "
                                   f"up to {SCHEMA_VERSION} — upgrade complaint_engine", location=self.path)
            for version in range(current, SCHEMA_VERSION):
                for statement in MIGRATIONS[version].split(";\n"):
                    if statement.strip():
                        self._conn.execute(statement)
                self._conn.execute(f"PRAGMA user_version = {version + 1}")
            self._conn.execute("COMMIT")
        except BaseException as exc:
            self._conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StorageError(f"cannot prepare database {self.path!r}: {exc}", location=self.path) from exc
            raise

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def unit_of_work(self) -> _Transaction:
        return _Transaction(self)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> SQLiteRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Direct calls: each its own committed transaction.
    def add(self, complaint: Complaint) -> Complaint:
        with self.unit_of_work() as uow:
            out = uow.add(complaint)
            uow.commit()
        return out

    def add_many(self, complaints: Iterable[Complaint], *, batch: int = 50_000) -> int:
        """Import complaints in batched transactions; returns how many were added."""
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
        with self.unit_of_work() as uow:
            n = uow.add_many(chunk)
            uow.commit()
        return n

    def save(self, complaint: Complaint) -> Complaint:
        with self.unit_of_work() as uow:
            out = uow.save(complaint)
            uow.commit()
        return out

    def next_number(self, sequence: str) -> int:
        with self.unit_of_work() as uow:
            out = uow.next_number(sequence)
            uow.commit()
        return out

    def add_capa(self, report: CAPAReport) -> CAPAReport:
        with self.unit_of_work() as uow:
            out = uow.add_capa(report)
            uow.commit()
        return out

    def save_capa(self, report: CAPAReport) -> CAPAReport:
        with self.unit_of_work() as uow:
            out = uow.save_capa(report)
            uow.commit()
        return out

    def add_announcement(self, announcement: Announcement) -> Announcement:
        with self.unit_of_work() as uow:
            out = uow.add_announcement(announcement)
            uow.commit()
        return out

    def commit(self) -> None:
        """Direct calls are already committed."""


