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


def default_published_through(region: str) -> int | None:
    """Last year with an official notice in python-holidays' data (CN only: elsewhere rules suffice)."""
    if region != "CN":
        return None
    from holidays.countries.china import ChinaStaticHolidays

    special = cast(Mapping[int, object], ChinaStaticHolidays.special_public_holidays)
    return max(special)


