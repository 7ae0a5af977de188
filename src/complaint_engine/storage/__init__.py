"""Storage behind one protocol. Backends: memory (here), SQLite and PostgreSQL (the storage issue).

Every backend passes the same contract suite (``tests/storage/test_contract.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from complaint_engine.model import Announcement, CAPAReport, Complaint, Status
from complaint_engine.period import Period
from complaint_engine.storage.damaged import Found
from complaint_engine.storage.memory import InMemoryRepository
from complaint_engine.storage.query import Filters, Page

if TYPE_CHECKING:
    from complaint_engine.events import DomainEvent
    from complaint_engine.facts import FactColumns
    from complaint_engine.storage.dbapi import Row
    from complaint_engine.storage.sqlite import SQLiteRepository

__all__ = ["InMemoryRepository", "Repository", "SQLiteRepository", "UnitOfWork"]


def __getattr__(name: str) -> type:
    # Backends load on first use, so the domain (and the in-memory store) never imports sqlite3, cattrs
    # or psycopg.
    if name == "SQLiteRepository":
        from complaint_engine.storage.sqlite import SQLiteRepository

        return SQLiteRepository
    if name == "PostgresRepository":
        from complaint_engine.storage.postgres import PostgresRepository

        return PostgresRepository
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class UnitOfWork(Protocol):
    """A transaction: everything done through it lands together on ``commit()``, or not at all."""

    def add(self, complaint: Complaint) -> Complaint:
        """Store a new complaint as it is; a duplicate id raises ``ValidationError``."""
        ...

    def add_many(self, complaints: Iterable[Complaint]) -> int:
        """Store new complaints in bulk (imports); returns how many. A duplicate id refuses the whole call.
        On a repository (outside a unit of work) SQL backends commit in batches, each whole or not at all."""
        ...

    def get(self, complaint_id: str) -> Complaint:
        """The stored complaint, or ``NotFound``."""
        ...

    def id_of_serial(self, serial: str) -> str | None:
        """The id of the complaint holding a register serial (serials are unique), or None."""
        ...

    def save(self, complaint: Complaint) -> Complaint:
        """Store a changed complaint whose ``version`` equals the stored one; returns it with version + 1.
        A stale version raises ``ConcurrencyError(expected=, actual=)``."""
        ...

    def find(self, *, office: str | None = None, status: Status | None = None,
             due_before: dt.datetime | None = None, received_from: dt.datetime | None = None,
             received_before: dt.datetime | None = None, filters: Filters | None = None,
             limit: int | None = None, after: Page | None = None) -> Found[Complaint]:
        """Complaints matching every given filter, oldest receipt first. ``due_before``: some running
        clock falls due before that instant; ``received_from`` (included) and ``received_before``
        (excluded): the instant of receipt. Instants must be timezone-aware (``ValidationError``). ``filters``:
        exact matches on unit, owner, category, department, assignee, severity; ``limit`` and ``after``: one
        page of at most ``limit`` results after the given (received instant, id) — keyset paging."""
        ...

    def claim_overdue(self, due_before: dt.datetime, *, office: str | None = None, limit: int | None = 100,
                      ids: Sequence[str] | None = None) -> Found[Complaint]:
        """Open complaints with a running clock due before the instant, for a sweep to record their breaches.
        On PostgreSQL they are locked for this unit of work and rows another worker holds are skipped, so
        several sweeps share the work; elsewhere a plain query (a unit of work there holds the whole store).
        ``ids`` limits the claim to those complaints (a sweep in batches)."""
        ...

    def frame(self, *, period: str | Period | None = None, office: str | None = None,
              tz: str = "Asia/Shanghai") -> FactColumns:
        """The fact columns (numpy, see ``complaint_engine.facts``) of the complaints received in ``period``
        (local time in ``tz``) and ``office``, oldest receipt first: what the analysis reads."""
        ...

    def due_ids(self, due_before: dt.datetime, *, office: str | None = None) -> list[str]:
        """Ids of open complaints with a running clock due before the instant (no documents read)."""
        ...

    def history(self, complaint_id: str) -> list[Row]:
        """The stored transition rows of a complaint, in order: (seq, event, source, target, actor, role, at,
        note, office) — what the audit compares with the history a complaint carries."""
        ...

    def append_events(self, events: Iterable[DomainEvent]) -> None:
        """Record events in this transaction (the outbox): they land with the change, or not at all. The store
        gives each its position when it lands."""
        ...

    def events(self, after: int = 0, *, office: str | None = None, kinds: Collection[str] | None = None,
               limit: int = 1000) -> list[DomainEvent]:
        """Recorded events after position ``after``, in position order. Once a reader has seen position N, no
        event at a position ≤ N appears later."""
        ...

    def cursor(self, name: str) -> int:
        """The position a named subscription acknowledged (0 for a new one)."""
        ...

    def set_cursor(self, name: str, position: int) -> None:
        """Store a subscription's acknowledged position, in this transaction."""
        ...

    def next_number(self, sequence: str) -> int:
        """The next number of a named sequence (1, 2, …), allocated in this transaction."""
        ...

    def current_number(self, sequence: str) -> int:
        """The last number a named sequence allocated (0 when none), allocating nothing."""
        ...

    def offices(self) -> list[str]:
        """The offices that have complaints, sorted."""
        ...

    def received_span(self, *, office: str | None = None) -> tuple[dt.datetime, dt.datetime] | None:
        """The earliest and the latest instant of receipt (in UTC) of the stored complaints of ``office`` (all
        offices when None), or None when there are none: where a reading in windows of time starts and ends."""
        ...

    def add_capa(self, report: CAPAReport) -> CAPAReport:
        """Store a new CAPA report."""
        ...

    def get_capa(self, number: str) -> CAPAReport:
        """The stored CAPA report, or ``NotFound``."""
        ...

    def save_capa(self, report: CAPAReport) -> CAPAReport:
        """Like ``save``, for CAPA reports."""
        ...

    def find_capas(self, *, office: str | None = None) -> list[CAPAReport]:
        """CAPA reports of an office (all offices when None), by number."""
        ...

    def add_announcement(self, announcement: Announcement) -> Announcement:
        """Store a new announcement."""
        ...

    def find_announcements(self, *, office: str | None = None) -> list[Announcement]:
        """Announcements of an office (all offices when None), by number."""
        ...

    def commit(self) -> None:
        """Make everything done in this unit of work permanent."""
        ...


class Repository(UnitOfWork, Protocol):
    """A store. It *has* units of work (``unit_of_work()``, ``snapshot()``); every operation of a unit is also a
    direct call on it (``storage/direct.py``), each write committed at once."""

    def close(self) -> None:
        """Release the store's connection; later calls raise ``StorageError`` (memory: nothing to release)."""
        ...

    def wait_for_events(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for new events (PostgreSQL: LISTEN; elsewhere a short sleep)."""
        ...

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        """A transaction that rolls back on exit unless ``commit()`` was called."""
        ...

    def snapshot(self) -> AbstractContextManager[UnitOfWork]:
        """A read-only view of the store as of one instant, for reads that take long (an audit in windows of
        time): every read inside sees the same committed state, whatever other desks commit meanwhile, and
        every write raises ``StorageError``. Other desks are not held up (a SQL repository's own connection
        is, for the threads that share this repository object)."""
        ...
