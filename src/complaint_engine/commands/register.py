"""Closing a year's register (#20 item 5): after it, nothing is entered with a date in that year."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import attrs

from complaint_engine.commands.base import Command
from complaint_engine.errors import ValidationError
from complaint_engine.model import Event

__all__ = ["CloseYear", "YearClosed", "closed_year_key"]


def closed_year_key(office: str, year: int) -> str:
    """The named position that records a closed register: the first serial number it did not issue."""
    return f"register-closed/{office}/{year}"


def _year(_: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1900 <= value <= 9999:
        raise ValidationError.of("year", value, "a year such as 2024")


@attrs.frozen
class YearClosed:
    """A closed register: the office, the year, its last serial (None when it issued none), who and when."""

    office: str
    year: int
    last_serial: str | None
    closed_by: str
    closed_at: dt.datetime


@attrs.frozen
class CloseYear(Command[YearClosed]):
    """Close the actor's office's register of ``year`` (the year must be over): no complaint is received,
    registered or handled with a date in that year afterwards, so no serial of a reported year appears later."""

    event: ClassVar[Event] = Event.CLOSE_YEAR
    year: int = attrs.field(validator=_year)
