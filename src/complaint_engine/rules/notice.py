"""Official notices and company overrides of a working-day calendar, as data.

References:
    * 国务院办公厅关于 YYYY 年部分节假日安排的通知 (the State Council's yearly notice): the days off and the
      make-up working days (调休) of a year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import cast

import attrs

from complaint_engine.errors import CalendarError
from complaint_engine.frozen import FrozenDict, frozen_dict
from complaint_engine.messages import Message

__all__ = ["CalendarNotice", "YearNotice", "default_published_through", "to_date"]


def to_date(value: object, what: str) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise CalendarError.of(what, value, "a datetime.date or an ISO date string 'YYYY-MM-DD'")
    return value


YearNotice = tuple[tuple[dt.date, ...], tuple[dt.date, ...]]
"""One year's official arrangement: (days off, make-up working days)."""


def _frozen_notices(value: Mapping[int, YearNotice]) -> Mapping[int, YearNotice]:
    return frozen_dict(value)


@attrs.frozen
class CalendarNotice:
    """Official notices and company overrides, as data.

    ``notices`` maps a year to its complete official arrangement — the days off (weekday or not) and
    the make-up working days — and *replaces* what python-holidays has for that year. ``holidays`` and
    ``workdays`` are company overrides added on top. ``published_through`` is the last year with an
    official notice.
    """

    notices: Mapping[int, YearNotice] = attrs.field(factory=FrozenDict, converter=_frozen_notices)
    holidays: tuple[dt.date, ...] = ()
    workdays: tuple[dt.date, ...] = ()
    published_through: int | None = None

    @classmethod
    def from_text(cls, text: str, *, replace: bool = False, region: str = "CN") -> CalendarNotice:
        """The State Council's notice read from its text (国务院办公厅关于YYYY年部分节假日安排的通知; Simplified or
        Traditional, full-width or ASCII): ``notices[year]`` is its (days off, make-up working days), as a notice
        file gives them. Every stated day count and weekday is checked (``CalendarError`` naming the sentence).
        A notice for a year whose official days the calendar already has (python-holidays' data) must agree
        with them, day by day, unless ``replace``: the error names the days that differ."""
        from complaint_engine.rules.notice_text import differing_days, notice_arrangement, parse_notice_text

        year, items = parse_notice_text(text)
        arrangement = notice_arrangement(items)
        published = default_published_through(region)
        if not replace and published is not None and year <= published:
            differ = differing_days(year, arrangement, _official_working_days(region, year))
            if differ:
                raise CalendarError.of(Message("notice for {year}", year=year), [d.isoformat() for d in differ],
                                       Message("the official days the calendar has for {year} (pass replace=True to "
                                               "replace them)", year=year))
        return cls(notices={year: arrangement}, published_through=year)


def _official_working_days(region: str, year: int) -> dict[dt.date, bool]:
    """Whether each day of ``year`` is a working day by the calendar's own data (python-holidays)."""
    from complaint_engine.rules.calendar import WorkingCalendar

    calendar = WorkingCalendar.for_region(region, on_provisional="ignore")
    day, out = dt.date(year, 1, 1), {}
    while day.year == year:
        out[day] = calendar.is_working_day(day)
        day += dt.timedelta(days=1)
    return out


def default_published_through(region: str) -> int | None:
    """Last year with an official notice in python-holidays' data (CN only: elsewhere rules suffice)."""
    if region != "CN":
        return None
    from holidays.countries.china import ChinaStaticHolidays

    special = cast(Mapping[int, object], ChinaStaticHolidays.special_public_holidays)
    return max(special)


