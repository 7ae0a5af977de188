"""Transactions, snapshots and the repository object both SQL backends share.

A repository holds one connection and a lock; a unit of work (:class:`SQLTransaction`) holds the lock for its
whole life, so threads sharing a repository take turns. Direct calls come from ``storage/direct.py``; reads
run on the repository's connection outside any transaction, except ``get`` and ``find``, whose two
statements read one snapshot.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Self, TypeVar

from complaint_engine.errors import ConnectionLost, StorageError
from complaint_engine.messages import Message
from complaint_engine.model import Complaint, Status
from complaint_engine.storage.damaged import Found
from complaint_engine.storage.dbapi import Connection
from complaint_engine.storage.direct import DirectCalls
from complaint_engine.storage.query import Filters, Page
from complaint_engine.storage.readonly import ReadOnly
from complaint_engine.storage.sql.cache import DocumentCache
from complaint_engine.storage.sql.statements import Dialect
from complaint_engine.storage.sql.unit import SQLUnit

if TYPE_CHECKING:
    from complaint_engine.storage import UnitOfWork

__all__ = ["SQLRepository", "SQLSnapshot", "SQLTransaction"]

R = TypeVar("R")


class SQLTransaction(SQLUnit):
    """A unit of work on a repository's connection: begun on enter, rolled back on exit unless committed."""

    def __init__(self, repo: SQLRepository) -> None:
        super().__init__(repo.connection, repo.dialect, repo.cache, repo.names)
        self.repository = repo
        self.begin = repo.begin_statement
        self.location = repo.location
        self.committed = False

    def commit(self) -> None:
        if self.repository.unit_failed():  # never report a commit the server turned into a rollback
            raise StorageError(Message("a statement of this unit of work failed on {location}, so the server rolled "
                                       "the whole unit back: nothing of it is committed",
                                       location=self.location), location=self.location)
        self._execute("COMMIT")
        self.committed = True
        self._committed()

    def __enter__(self) -> Self:
        repo = self.repository
        repo.lock.acquire()
        try:
            try:
                self._conn = repo.connection
                repo.begin_unit(self._conn, self.begin)
            except self._dialect.driver_error:
                if not repo.reconnect():  # the server closed the connection: nothing is lost yet
                    raise
                self._conn = repo.connection
                repo.begin_unit(self._conn, self.begin)
        except self._dialect.driver_error as exc:
            repo.lock.release()
            raise StorageError(Message("cannot start a transaction on {location}: {exc}",
                                       location=self.location, exc=exc), location=self.location) from exc
        except BaseException:  # an interrupt while beginning: leave no transaction and no lock behind
            try:
                if repo.in_transaction():
                    self._conn.execute("ROLLBACK")
            finally:
                repo.lock.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        # Ask the driver, not only our flag: an interrupt (Ctrl-C) can land after COMMIT finished and before
        # ``committed`` was set, and a ROLLBACK then would fail and hide the interrupt.
        try:
            if not self.committed and self.repository.in_transaction():
                self._conn.execute("ROLLBACK")
        finally:
            try:
                self.repository.end_unit()
            finally:
                self.repository.lock.release()


class SQLSnapshot(ReadOnly, SQLTransaction):
    """A read-only transaction: the backend's ``snapshot_statement`` begins it (one consistent snapshot for
    all its reads) and it always rolls back; writes are refused before they reach the database."""

    def __init__(self, repo: SQLRepository, *, pinned: bool = True) -> None:
        super().__init__(repo)
        self.begin = repo.snapshot_statement
        self._pinned = pinned  # False: the snapshot is taken at the caller's first read, which comes at once

    def __enter__(self) -> Self:
        super().__enter__()
        if not self._pinned:
            return self
        try:  # a first read fixes the snapshot now (both databases take it at the first read, not at BEGIN)
            self._execute("SELECT 1 FROM complaints LIMIT 1").fetchall()
        except BaseException:
            self.__exit__()
            raise
        return self


class SQLRepository(DirectCalls):
    """What SQLite and PostgreSQL repositories share. A backend sets the connection, the dialect (with its
    driver's error classes), ``begin_statement``, ``snapshot_statement``, ``location``, its unit and
    transaction classes, and runs its migrations."""

    begin_statement: str = "BEGIN"
    snapshot_statement: str = "BEGIN"  # a read transaction whose reads all see one snapshot
    unit_class: type[SQLUnit] = SQLUnit
    transaction_class: type[SQLTransaction] = SQLTransaction
    snapshot_class: type[SQLSnapshot] = SQLSnapshot
    location: str = "?"
    closed: bool = False  # by close(): a closed repository does not connect again

    def __init__(self, conn: Connection, dialect: Dialect) -> None:
        self.connection = conn
        self.dialect = dialect
        self.cache = DocumentCache()
        self.names: dict[str, int] = {}  # the codes of the store's names known committed (see SQLUnit._code)
        self.lock = threading.RLock()

    def unit_of_work(self) -> SQLTransaction:
        self._require_open()
        return self.transaction_class(self)

    def snapshot(self) -> SQLSnapshot:
        self._require_open()
        return self.snapshot_class(self)

    def _reader(self) -> SQLUnit:
        """The operations on the repository's connection outside any transaction (each statement its own)."""
        unit = self.unit_class(self.connection, self.dialect, self.cache, self.names)
        unit.location = self.location
        return unit

    def _read(self, call: Callable[[UnitOfWork], R]) -> R:
        """A direct read that waits for the repository's lock: threads share one connection, and a read run while
        another thread's unit of work is open would see that unit's uncommitted rows. (With the lock held, an
        open transaction is this thread's own unit of work: read inside it.)"""
        self._require_open()
        with self.lock:
            if self.in_transaction():
                return call(self._reader())
            return self._once_more_if_lost(lambda: call(self._reader()))

    def _require_open(self) -> None:
        if self.closed:
            raise StorageError(Message("the repository of {location} is closed; open a new one",
                                       location=self.location), location=self.location)

    def begin_unit(self, connection: Connection, statement: str) -> None:
        """Begin a unit of work on ``connection`` (a backend may wait for its turn its own way)."""
        connection.execute(statement)

    def end_unit(self) -> None:
        """After a unit's COMMIT or ROLLBACK (a backend that waited for its turn gives it back)."""

    def in_transaction(self) -> bool:
        """Whether the connection has a transaction open (each backend asks its driver)."""
        raise NotImplementedError

    def reconnect(self) -> bool:
        """Replace a connection the server closed and say so; False when there was nothing to replace (a
        backend whose connection cannot be lost, a connection still open, a repository closed by its user)."""
        return False

    def unit_failed(self) -> bool:
        """Whether the server has failed the transaction under way (after an error in it, a server such as
        PostgreSQL answers COMMIT by rolling back, silently); a failed statement leaves a SQLite one as it was."""
        return False

    def _once_more_if_lost(self, read: Callable[[], R]) -> R:
        """A direct read, run again once on a new connection when the server had closed the old one."""
        self._require_open()
        try:
            return read()
        except ConnectionLost:
            if not self.reconnect():
                raise
            return read()

    def close(self) -> None:
        self.closed = True
        self.connection.close()

    # Direct reads of whole complaints take two statements (documents, then their transition rows); outside a
    # transaction each would see its own state of the store, and a desk committing between them would give a
    # complaint a history one step ahead of its document. They read in one snapshot instead.
    def get(self, complaint_id: str) -> Complaint:
        self._require_open()
        with self.lock:
            if self.in_transaction():
                return self._reader().get(complaint_id)
            return self._once_more_if_lost(
                lambda: self._reader().read_cached(complaint_id) or self._parsed_in_snapshot(complaint_id))

    def _parsed_in_snapshot(self, complaint_id: str) -> Complaint:
        with self.snapshot_class(self, pinned=False) as view:  # its first read is the document's: no pinning read
            return view.read_whole(complaint_id)

    def find(self, *, office: str | None = None, status: Status | None = None,
             due_before: dt.datetime | None = None, received_from: dt.datetime | None = None,
             received_before: dt.datetime | None = None, filters: Filters | None = None,
             limit: int | None = None, after: Page | None = None) -> Found[Complaint]:
        def query(unit: SQLUnit) -> Found[Complaint]:
            return unit.find(office=office, status=status, due_before=due_before, received_from=received_from,
                             received_before=received_before, filters=filters, limit=limit, after=after)

        def read() -> Found[Complaint]:
            with self.snapshot_class(self, pinned=False) as view:  # the documents' read comes first: no pinning
                return query(view)

        self._require_open()
        with self.lock:
            return query(self._reader()) if self.in_transaction() else self._once_more_if_lost(read)
