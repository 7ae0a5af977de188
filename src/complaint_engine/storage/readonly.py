"""The write refusals every backend's snapshot shares: a snapshot is a view for reading."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NoReturn

from complaint_engine.errors import StorageError
from complaint_engine.messages import Message
from complaint_engine.model import Announcement, CAPAReport, Complaint

__all__ = ["ReadOnly"]


class ReadOnly:
    """Put first among a snapshot's bases: each write raises ``StorageError`` before it reaches the store."""

    location: str | None = None

    def _refuse(self, what: str) -> NoReturn:
        raise StorageError(Message("a snapshot is read-only: {what} refused; write through the repository or one of "
                                   "its units of work", what=what), location=self.location)

    def add(self, complaint: Complaint) -> NoReturn:
        self._refuse(f"add of complaint {complaint.id!r}")

    def add_many(self, complaints: Iterable[Complaint]) -> NoReturn:
        self._refuse("add_many")

    def save(self, complaint: Complaint) -> NoReturn:
        self._refuse(f"save of complaint {complaint.id!r}")

    def next_number(self, sequence: str) -> NoReturn:
        self._refuse(f"next_number of sequence {sequence!r}")

    def add_capa(self, report: CAPAReport) -> NoReturn:
        self._refuse(f"add of CAPA report {report.number!r}")

    def save_capa(self, report: CAPAReport) -> NoReturn:
        self._refuse(f"save of CAPA report {report.number!r}")

    def add_announcement(self, announcement: Announcement) -> NoReturn:
        self._refuse(f"add of announcement {announcement.number!r}")

    def append_events(self, events: Iterable[object]) -> NoReturn:
        self._refuse("append_events")

    def set_cursor(self, name: str, position: int) -> NoReturn:
        self._refuse(f"set_cursor of subscription {name!r}")

    def commit(self) -> NoReturn:
        self._refuse("commit")
