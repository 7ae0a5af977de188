"""Direct calls on a repository: every operation of a unit of work, each write in its own committed unit.

A repository *has* units of work (``unit_of_work()``, ``snapshot()``); it is not one. Its direct calls all
come from here, written once for every backend: writes through :meth:`DirectCalls._write`, reads through
the backend's :meth:`DirectCalls._read` (which knows whether a read needs a transaction, a lock or neither).
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, TypeVar

from complaint_engine.model import Announcement, CAPAReport, Complaint, Status
from complaint_engine.period import Period
from complaint_engine.storage.damaged import Found
from complaint_engine.storage.query import Filters, Page

if TYPE_CHECKING:
    from complaint_engine.events import DomainEvent
    from complaint_engine.facts import FactColumns
    from complaint_engine.storage import UnitOfWork
    from complaint_engine.storage.dbapi import Row

__all__ = ["DirectCalls"]

R = TypeVar("R")


class DirectCalls:
    """The operations of :class:`~complaint_engine.storage.UnitOfWork` as direct calls on a repository."""

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        raise NotImplementedError

    def _read(self, call: Callable[[UnitOfWork], R]) -> R:
        """Run a read outside any unit of work of the caller's (each backend says how)."""
        raise NotImplementedError

    def _write(self, call: Callable[[UnitOfWork], R]) -> R:
        with self.unit_of_work() as unit:
            result = call(unit)
            unit.commit()
        return result

    # ----------------------------------------------------------------------------- writes
    def add(self, complaint: Complaint) -> Complaint:
        return self._write(lambda u: u.add(complaint))

    def add_many(self, complaints: Iterable[Complaint], *, batch: int = 50_000) -> int:
        """Import complaints in batched units of work (each batch lands whole or not at all); returns the
        count."""
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
            return self._write(lambda u: u.add_many(chunk))
        finally:
            if collecting:
                gc.enable()

    def save(self, complaint: Complaint) -> Complaint:
        return self._write(lambda u: u.save(complaint))

    def next_number(self, sequence: str) -> int:
        return self._write(lambda u: u.next_number(sequence))

    def current_number(self, sequence: str) -> int:
        return self._read(lambda u: u.current_number(sequence))

    def add_capa(self, report: CAPAReport) -> CAPAReport:
        return self._write(lambda u: u.add_capa(report))

    def save_capa(self, report: CAPAReport) -> CAPAReport:
        return self._write(lambda u: u.save_capa(report))

    def add_announcement(self, announcement: Announcement) -> Announcement:
        return self._write(lambda u: u.add_announcement(announcement))

    def append_events(self, events: Iterable[DomainEvent]) -> None:
        batch = list(events)
        self._write(lambda u: u.append_events(batch))

    def set_cursor(self, name: str, position: int) -> None:
        self._write(lambda u: u.set_cursor(name, position))

    def commit(self) -> None:
        """Direct calls are already committed."""

    # ----------------------------------------------------------------------------- reads
    def get(self, complaint_id: str) -> Complaint:
        return self._read(lambda u: u.get(complaint_id))

    def find(self, *, office: str | None = None, status: Status | None = None,
             due_before: dt.datetime | None = None, received_from: dt.datetime | None = None,
             received_before: dt.datetime | None = None, filters: Filters | None = None,
             limit: int | None = None, after: Page | None = None) -> Found[Complaint]:
        return self._read(lambda u: u.find(office=office, status=status, due_before=due_before,
                                           received_from=received_from, received_before=received_before,
                                           filters=filters, limit=limit, after=after))

    def frame(self, *, period: str | Period | None = None, office: str | None = None,
              tz: str = "Asia/Shanghai") -> FactColumns:
        return self._read(lambda u: u.frame(period=period, office=office, tz=tz))

    def claim_overdue(self, due_before: dt.datetime, *, office: str | None = None, limit: int | None = 100,
                      ids: Sequence[str] | None = None) -> Found[Complaint]:
        return self._read(lambda u: u.claim_overdue(due_before, office=office, limit=limit, ids=ids))

    def due_ids(self, due_before: dt.datetime, *, office: str | None = None) -> list[str]:
        return self._read(lambda u: u.due_ids(due_before, office=office))

    def offices(self) -> list[str]:
        return self._read(lambda u: u.offices())

    def received_span(self, *, office: str | None = None) -> tuple[dt.datetime, dt.datetime] | None:
        return self._read(lambda u: u.received_span(office=office))

    def id_of_serial(self, serial: str) -> str | None:
        return self._read(lambda u: u.id_of_serial(serial))

    def history(self, complaint_id: str) -> list[Row]:
        return self._read(lambda u: u.history(complaint_id))

    def events(self, after: int = 0, *, office: str | None = None, kinds: Collection[str] | None = None,
               limit: int = 1000) -> list[DomainEvent]:
        return self._read(lambda u: u.events(after, office=office, kinds=kinds, limit=limit))

    def cursor(self, name: str) -> int:
        return self._read(lambda u: u.cursor(name))

    def get_capa(self, number: str) -> CAPAReport:
        return self._read(lambda u: u.get_capa(number))

    def find_capas(self, *, office: str | None = None) -> list[CAPAReport]:
        return self._read(lambda u: u.find_capas(office=office))

    def find_announcements(self, *, office: str | None = None) -> list[Announcement]:
        return self._read(lambda u: u.find_announcements(office=office))

    def wait_for_events(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for new events: here a short sleep (a subscription polls again);
        PostgreSQL listens for the commit's notification instead."""
        time.sleep(min(timeout, 0.05))

    # ----------------------------------------------------------------------------- closing
    def close(self) -> None:
        """Release the store's resources (a SQL connection); the in-memory store has none."""

    def __enter__(self) -> DirectCalls:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
