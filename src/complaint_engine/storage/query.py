"""What a lookup of complaints may filter on besides office, status and instants, and the page it continues."""

from __future__ import annotations

import datetime as dt

import attrs

from complaint_engine.facts import CODED
from complaint_engine.instants import to_us
from complaint_engine.model import Complaint, Severity
from complaint_engine.storage.dbapi import Value

__all__ = ["Filters", "Page"]


@attrs.frozen(kw_only=True)
class Filters:
    """Exact matches on what a service desk looks complaints up by. Each SQL backend has an index for each of unit
    and owner within an office; the others narrow the office's index of receipt."""

    unit: str | None = None
    owner: str | None = None
    category: str | None = None
    department: str | None = None
    assignee: str | None = None
    severity: Severity | None = None

    @property
    def empty(self) -> bool:
        return self == _NONE

    def matches(self, c: Complaint) -> bool:
        notice = c.notice
        return ((self.unit is None or c.unit == self.unit) and (self.owner is None or c.owner == self.owner)
                and (self.category is None or c.category == self.category)
                and (self.department is None or (notice is not None and notice.department == self.department))
                and (self.assignee is None or (notice is not None and notice.assignee == self.assignee))
                and (self.severity is None or c.severity is self.severity))

    def sql_terms(self, args: list[Value]) -> list[str]:
        """The WHERE terms of the filters set, their values appended to ``args``."""
        terms = []
        for column, value in (("unit", self.unit), ("owner", self.owner), ("category", self.category),
                              ("department", self.department), ("assignee", self.assignee),
                              ("severity", None if self.severity is None else self.severity.value)):
            if value is not None:  # a coded fact column holds the code of its text (facts.CODED)
                terms.append(f"{column} = (SELECT code FROM names WHERE name = ?)" if column in CODED
                             else f"{column} = ?")
                args.append(value)
        return terms


_NONE = Filters()


@attrs.frozen
class Page:
    """Where a page of results continues: after the complaint received at ``received_at`` with id ``id`` (results
    are in (received instant, id) order)."""

    received_at: dt.datetime
    id: str

    def sql_term(self, args: list[Value], by_code_point: str) -> str:
        at = to_us(self.received_at)
        args.extend((at, at, self.id))
        return f"(received_us > ? OR (received_us = ? AND id{by_code_point} > ?))"

    def before(self, c: Complaint) -> bool:
        """The complaint comes after this page's last one."""
        return (c.received_at, c.id) > (self.received_at, self.id)
