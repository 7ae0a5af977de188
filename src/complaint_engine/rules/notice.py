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

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> CalendarNotice:
        """Build from a mapping; every problem is collected and reported with its path."""
        problems: list[tuple[str, str]] = []
        allowed_keys = {"published_through", "notice", "company"}
        for key in data:
            if key not in allowed_keys:
                problems.append((f"$.{key}", f"unknown key; allowed: {sorted(allowed_keys)}"))

        def dates(raw: object, path: str, year: int | None = None) -> tuple[dt.date, ...]:
            if not isinstance(raw, list):
                problems.append((path, f"{raw!r} is not a list of dates"))
                return ()
            out = []
            for i, item in enumerate(raw):
                if isinstance(item, dt.date) and not isinstance(item, dt.datetime):
                    day = item
                else:
                    try:
                        day = dt.date.fromisoformat(str(item))
                    except ValueError:
                        problems.append((f"{path}[{i}]", f"{item!r} is not a date YYYY-MM-DD"))
                        continue
                if year is not None and day.year != year:
                    problems.append((f"{path}[{i}]", f"{day} is not in {year}"))
                out.append(day)
            return tuple(out)

        notices: dict[int, tuple[tuple[dt.date, ...], tuple[dt.date, ...]]] = {}
        raw_notices = data.get("notice", {})
        if not isinstance(raw_notices, Mapping):
            problems.append(("$.notice", "must be a table of years"))
            raw_notices = {}
        for year_key, body in raw_notices.items():
            path = f"$.notice.{year_key}"
            if not str(year_key).isdigit():
                problems.append((path, f"{year_key!r} is not a year"))
                continue
            year = int(year_key)
            if not isinstance(body, Mapping):
                problems.append((path, "must be a table with 'holidays' and 'workdays'"))
                continue
            for key in body:
                if key not in ("holidays", "workdays"):
                    problems.append((f"{path}.{key}", "unknown key; allowed: ['holidays', 'workdays']"))
            off = dates(body.get("holidays", []), f"{path}.holidays", year)
            on = dates(body.get("workdays", []), f"{path}.workdays", year)
            notices[year] = (off, on)
        company = data.get("company", {})
        if not isinstance(company, Mapping):
            problems.append(("$.company", "must be a table with 'holidays' and 'workdays'"))
            company = {}
        for key in company:
            if key not in ("holidays", "workdays"):
                problems.append((f"$.company.{key}", "unknown key; allowed: ['holidays', 'workdays']"))
        extra_off = dates(company.get("holidays", []), "$.company.holidays")
        extra_on = dates(company.get("workdays", []), "$.company.workdays")
        published = data.get("published_through")
        if published is not None and (not isinstance(published, int) or isinstance(published, bool)):
            problems.append(("$.published_through", f"{published!r} is not a year"))
            published = None
        if problems:
            raise CalendarError.collect("calendar notice", problems)
        if published is None and notices:
            published = max(notices)
        return cls(notices=notices, holidays=extra_off, workdays=extra_on, published_through=published)


def default_published_through(region: str) -> int | None:
    """Last year with an official notice in python-holidays' data (CN only: elsewhere rules suffice)."""
    if region != "CN":
        return None
    from holidays.countries.china import ChinaStaticHolidays

    special = cast(Mapping[int, object], ChinaStaticHolidays.special_public_holidays)
    return max(special)


