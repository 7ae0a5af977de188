"""The in-memory repository: the reference backend of the contract suite.

A unit of work stages writes in overlay dictionaries and applies them on commit; a lock held for the
whole unit makes serial allocation gap-free across threads.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import TYPE_CHECKING, TypeVar

import attrs

from complaint_engine.clock import aware, aware_or_none
from complaint_engine.errors import ConcurrencyError, NotFound, ValidationError, office_changed
from complaint_engine.events import DomainEvent
from complaint_engine.facts import FactColumns, columns, facts_of
from complaint_engine.messages import Message
from complaint_engine.model import Announcement, CAPAReport, Complaint, Status, replace
from complaint_engine.period import Period
from complaint_engine.rules.sla import ClockState
from complaint_engine.storage.damaged import Found
from complaint_engine.storage.dbapi import Row
from complaint_engine.storage.direct import DirectCalls
from complaint_engine.storage.query import Filters, Page
from complaint_engine.storage.readonly import ReadOnly

if TYPE_CHECKING:
    from complaint_engine.storage import UnitOfWork

__all__ = ["InMemoryRepository"]

T = TypeVar("T", Complaint, CAPAReport)
R = TypeVar("R")


class _Store:
    def __init__(self) -> None:
        self.complaints: dict[str, Complaint] = {}
        self.capas: dict[str, CAPAReport] = {}
        self.announcements: dict[str, Announcement] = {}
        self.sequences: dict[str, int] = {}
        self.serials: dict[str, str] = {}  # serial → complaint id: serials are unique, as the SQL stores' index
        self.events: list[DomainEvent] = []  # the outbox: position = index + 1
        self.cursors: dict[str, int] = {}  # subscription name → acknowledged position


class _MemoryUnit:
    """Reads see staged writes first; ``commit`` applies them to the store."""

    def __init__(self, store: _Store) -> None:
        self._store = store
        self._staged = _Store()
        self.committed = False

    # complaints
    def add(self, complaint: Complaint) -> Complaint:
        self.add_many((complaint,))
        return complaint

    def add_many(self, complaints: Iterable[Complaint]) -> int:
        batch = list(complaints)
        seen: set[str] = set()
        serials: dict[str, str] = {}
        for c in batch:  # every id and serial checked before any is staged: the call lands whole or not at all
            if c.id in seen or c.id in self._staged.complaints or c.id in self._store.complaints:
                raise ValidationError.of("complaint id", c.id, "an id not already stored nor repeated in the batch")
            seen.add(c.id)
            if c.serial is not None:
                if c.serial in serials:
                    raise ValidationError.of("complaint serial", c.serial, Message("a serial not repeated in the "
                                                                                   "batch (complaints {0} and {id})",
                                                                                   serials[c.serial], id=c.id))
                self._check_serial(c)
                serials[c.serial] = c.id
        self._staged.complaints.update((c.id, c) for c in batch)
        self._staged.serials.update(serials)
        return len(batch)

    def _check_serial(self, c: Complaint) -> None:
        """Refuse a serial another complaint holds (as this unit sees the store)."""
        assert c.serial is not None
        owner = self._staged.serials.get(c.serial) or self._store.serials.get(c.serial)
        if owner is not None and owner != c.id and self.get(owner).serial == c.serial:
            raise ValidationError.of("complaint serial", c.serial,
                                     Message("a serial not already stored (complaint {id}; {owner} holds it)",
                                             id=c.id, owner=owner))

    def _complaints(self) -> dict[str, Complaint]:
        """Stored complaints as this unit sees them, its staged ones over the store's. Always a copy: direct
        reads take no lock, and another thread's commit may change the store while the caller iterates (the
        copy itself is made in one step)."""
        return {**self._store.complaints, **self._staged.complaints}

    def get(self, complaint_id: str) -> Complaint:
        found = self._staged.complaints.get(complaint_id) or self._store.complaints.get(complaint_id)
        if found is None:
            raise NotFound("complaint", complaint_id)
        return found

    def id_of_serial(self, serial: str) -> str | None:
        return self._staged.serials.get(serial) or self._store.serials.get(serial)

    def save(self, complaint: Complaint) -> Complaint:
        stored = self.get(complaint.id)
        saved = _bump(stored, complaint)
        if stored.office != complaint.office:
            raise office_changed(complaint.id, complaint.office, stored.office)
        if saved.serial is not None:
            self._check_serial(saved)
            self._staged.serials[saved.serial] = saved.id
        self._staged.complaints[complaint.id] = saved
        return saved

    def find(self, *, office: str | None = None, status: Status | None = None,
             due_before: dt.datetime | None = None, received_from: dt.datetime | None = None,
             received_before: dt.datetime | None = None, filters: Filters | None = None,
             limit: int | None = None, after: Page | None = None) -> Found[Complaint]:
        due, since, until = (aware_or_none("due_before", due_before), aware_or_none("received_from", received_from),
                             aware_or_none("received_before", received_before))
        out = [c for c in self._complaints().values()
               if (office is None or c.office == office) and (status is None or c.status is status)
               and (due is None or _due_before(c, due)) and (since is None or c.received_at >= since)
               and (until is None or c.received_at < until) and (filters is None or filters.matches(c))
               and (after is None or after.before(c))]
        out.sort(key=lambda c: (c.received_at, c.id))
        return Found(out if limit is None else out[:limit])  # objects in memory are never unreadable

    def claim_overdue(self, due_before: dt.datetime, *, office: str | None = None, limit: int | None = 100,
                      ids: Sequence[str] | None = None) -> Found[Complaint]:
        found = self.find(office=office, due_before=due_before)
        if ids is not None:
            wanted = set(ids)
            found = Found(c for c in found if c.id in wanted)
        return found if limit is None else Found(found[:limit])

    def frame(self, *, period: str | Period | None = None, office: str | None = None,
              tz: str = "Asia/Shanghai") -> FactColumns:
        """The fact columns (numpy) of complaints received in ``period`` and ``office``."""
        merged = list(self._complaints().values())
        if period is not None:
            start, end = Period.parse(period).bounds(tz)
            merged = [c for c in merged if start <= c.received_at < end]
        chosen = sorted((c for c in merged if office is None or c.office == office),
                        key=lambda c: (c.received_at, c.id))
        return columns(facts_of(c) for c in chosen)

    def due_ids(self, due_before: dt.datetime, *, office: str | None = None) -> list[str]:
        return [c.id for c in self.find(office=office, due_before=aware("due_before", due_before))]

    def history(self, complaint_id: str) -> list[Row]:
        c = self._complaints().get(complaint_id)
        if c is None:
            return []
        return [(i, t.event, None if t.source is None else t.source.value, t.target.value, t.actor.id,
                 t.actor.role.value, t.at.isoformat(), t.note, t.actor.office,
                 None if t.recorded_at is None else t.recorded_at.isoformat(), None) for i, t in enumerate(c.history)]

    def offices(self) -> list[str]:
        return sorted({c.office for c in self._complaints().values()})

    def received_span(self, *, office: str | None = None) -> tuple[dt.datetime, dt.datetime] | None:
        instants = [c.received_at for c in self._complaints().values()
                    if office is None or c.office == office]
        return (min(instants).astimezone(dt.UTC), max(instants).astimezone(dt.UTC)) if instants else None

    def next_number(self, sequence: str) -> int:
        current = self._staged.sequences.get(sequence, self._store.sequences.get(sequence, 0))
        self._staged.sequences[sequence] = current + 1
        return current + 1

    def current_number(self, sequence: str) -> int:
        return self._staged.sequences.get(sequence, self._store.sequences.get(sequence, 0))

    # CAPA and announcements
    def add_capa(self, report: CAPAReport) -> CAPAReport:
        if report.number in self._staged.capas or report.number in self._store.capas:
            raise ValidationError.of("CAPA number", report.number, "a number not already stored")
        self._staged.capas[report.number] = report
        return report

    def get_capa(self, number: str) -> CAPAReport:
        found = self._staged.capas.get(number) or self._store.capas.get(number)
        if found is None:
            raise NotFound("CAPA report", number)
        return found

    def save_capa(self, report: CAPAReport) -> CAPAReport:
        saved = _bump(self.get_capa(report.number), report)
        self._staged.capas[report.number] = saved
        return saved

    def find_capas(self, *, office: str | None = None) -> list[CAPAReport]:
        merged = {**self._store.capas, **self._staged.capas}
        return sorted((r for r in merged.values() if office is None or r.office == office), key=lambda r: r.number)

    def add_announcement(self, announcement: Announcement) -> Announcement:
        if announcement.number in self._staged.announcements or announcement.number in self._store.announcements:
            raise ValidationError.of("announcement number", announcement.number, "a number not already stored")
        self._staged.announcements[announcement.number] = announcement
        return announcement

    def find_announcements(self, *, office: str | None = None) -> list[Announcement]:
        merged = {**self._store.announcements, **self._staged.announcements}
        return sorted((a for a in merged.values() if office is None or a.office == office), key=lambda a: a.number)

    # the outbox
    def append_events(self, events: Iterable[DomainEvent]) -> None:
        self._staged.events.extend(events)

    def events(self, after: int = 0, *, office: str | None = None, kinds: Collection[str] | None = None,
               limit: int = 1000) -> list[DomainEvent]:
        found = []
        for e in self._store.events[after:]:  # positions are 1, 2, …: the slice starts after ``after``
            if (office is None or e.office == office) and (kinds is None or e.kind in kinds):
                found.append(e)
                if len(found) >= limit:
                    break
        return found

    def cursor(self, name: str) -> int:
        return self._staged.cursors.get(name, self._store.cursors.get(name, 0))

    def set_cursor(self, name: str, position: int) -> None:
        self._staged.cursors[name] = position

    def commit(self) -> None:
        start = len(self._store.events)  # the unit holds the store's lock: positions are given in commit order
        self._store.events.extend(attrs.evolve(e, position=start + i) for i, e in enumerate(self._staged.events, 1))
        self._store.cursors.update(self._staged.cursors)
        self._store.complaints.update(self._staged.complaints)
        self._store.capas.update(self._staged.capas)
        self._store.announcements.update(self._staged.announcements)
        self._store.sequences.update(self._staged.sequences)
        self._store.serials.update(self._staged.serials)
        self._staged = _Store()
        self.committed = True


def _bump(stored: T, new: T) -> T:
    if new.version != stored.version:
        key = new.id if isinstance(new, Complaint) else new.number
        raise ConcurrencyError(key, expected=new.version, actual=stored.version)
    return replace(new, {"version": new.version + 1})


def _due_before(c: Complaint, instant: dt.datetime) -> bool:
    return not c.status.ended and any(d.state is ClockState.RUNNING and d.due < instant for d in c.deadlines.values())


class _LockedUnit:
    """Context manager: holds the repository lock for the whole unit, so sequences stay gap-free.
    (A class rather than ``@contextmanager``: this runs once per desk verb.)"""

    __slots__ = ("_lock", "_store")

    def __init__(self, lock: threading.RLock, store: _Store) -> None:
        self._lock = lock
        self._store = store

    def __enter__(self) -> _MemoryUnit:
        self._lock.acquire()
        return _MemoryUnit(self._store)

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


class _MemorySnapshot(ReadOnly, _MemoryUnit):
    """Reads of a copy of the store taken at one instant (objects are immutable: copying the dictionaries is
    enough); writes are refused."""


class _SnapshotOf:
    """Context manager: copies the store under the lock, then lets writers go on while the copy is read."""

    __slots__ = ("_lock", "_store")

    def __init__(self, lock: threading.RLock, store: _Store) -> None:
        self._lock = lock
        self._store = store

    def __enter__(self) -> _MemorySnapshot:
        copy = _Store()
        with self._lock:
            copy.complaints.update(self._store.complaints)
            copy.capas.update(self._store.capas)
            copy.announcements.update(self._store.announcements)
            copy.sequences.update(self._store.sequences)
            copy.events = list(self._store.events)
            copy.cursors.update(self._store.cursors)
        return _MemorySnapshot(copy)

    def __exit__(self, *exc: object) -> None:
        pass


class InMemoryRepository(DirectCalls):
    """Complaints, CAPA reports, announcements and sequences in process memory.

    Direct calls commit at once; ``unit_of_work()`` groups calls and rolls back unless committed.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._store = _Store()

    def unit_of_work(self) -> _LockedUnit:
        return _LockedUnit(self._lock, self._store)

    def snapshot(self) -> _SnapshotOf:
        return _SnapshotOf(self._lock, self._store)

    def _read(self, call: Callable[[UnitOfWork], R]) -> R:
        # no lock: a unit over the committed store reads copies made in one step (see _MemoryUnit._complaints)
        return call(_MemoryUnit(self._store))
