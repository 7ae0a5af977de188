"""The official working-day calendar: the questions users ask of it.

References:
    * 国务院办公厅关于 YYYY 年部分节假日安排的通知 (the State Council's yearly notice): holidays off,
      some weekend days declared working days (调休). Data from python-holidays, which cites each notice.
    * PRC Civil Code arts. 201–203 (how periods are counted) — applied by the rules in ``deadlines``.

Why a table: python-holidays answers one date at a time with a Python loop. A calendar here covers a
fixed span of years and keeps a table of its days (``rules/days.py``), so that every question — the n-th
working day after a date, working days between two dates, the local day of an instant — is an index lookup,
in bulk over numpy arrays or as a scalar. A calendar is immutable; overrides make a new one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import holidays
import numpy as np
import numpy.typing as npt

from complaint_engine.errors import CalendarError
from complaint_engine.messages import Message
from complaint_engine.rules.days import (
    DayArray,
    DayTable,
    IntArray,
    OnProvisional,
    ProvisionalCalendarError,
    ProvisionalCalendarWarning,
)
from complaint_engine.rules.notice import CalendarNotice, to_date

__all__ = [
    "CalendarNotice",
    "ProvisionalCalendarError",
    "ProvisionalCalendarWarning",
    "WorkingCalendar",
]

def _parse_clock_time(value: object) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        try:
            return dt.time.fromisoformat(value)
        except ValueError:
            pass
    raise CalendarError.of("business-hours time", value, "a datetime.time or 'HH:MM'")


# Default zones for common regions; any other region needs ``tz=``, since python-holidays knows
# countries, not time zones.
DEFAULT_ZONES: Mapping[str, str] = {
    "CN": "Asia/Shanghai", "HK": "Asia/Hong_Kong", "MO": "Asia/Macau", "TW": "Asia/Taipei",
    "SG": "Asia/Singapore", "MY": "Asia/Kuala_Lumpur", "JP": "Asia/Tokyo", "KR": "Asia/Seoul",
    "GB": "Europe/London", "DE": "Europe/Berlin", "FR": "Europe/Paris", "AU": "Australia/Sydney",
    "US": "America/New_York", "CA": "America/Toronto",
}
DEFAULT_YEARS = (2000, 2050)
_CACHE: dict[tuple[object, ...], WorkingCalendar] = {}


@attrs.frozen(eq=False, repr=False)
class WorkingCalendar:
    """Working days of an official calendar over a fixed span of years; see the module docstring.

    Build with :meth:`for_region`. Dates outside ``first_year..last_year`` are refused.
    """

    region: str
    subdivision: str | None
    days: DayTable  # the arithmetic, for the deadline rules

    @property
    def tz(self) -> ZoneInfo:
        return self.days.tz

    @property
    def first_year(self) -> int:
        return self.days.first_year

    @property
    def last_year(self) -> int:
        return self.days.last_year

    @property
    def published_through(self) -> int | None:
        """The last year with an official notice; later years are provisional."""
        return self.days.published_through

    @property
    def business_hours(self) -> tuple[tuple[dt.time, dt.time], ...]:
        return self.days.business_hours

    @property
    def on_provisional(self) -> OnProvisional:
        return self.days.on_provisional

    # ----------------------------------------------------------------------------- construction
    @classmethod
    def for_region(
        cls,
        code: str = "CN",
        *,
        subdivision: str | None = None,
        extra_holidays: Iterable[dt.date | str] = (),
        extra_workdays: Iterable[dt.date | str] = (),
        published_through: int | None = None,
        business_hours: Sequence[tuple[dt.time | str, dt.time | str]] | None = None,
        tz: str | ZoneInfo | None = None,
        notice: CalendarNotice | None = None,
        years: tuple[int, int] = DEFAULT_YEARS,
        on_provisional: OnProvisional = "warn",
    ) -> WorkingCalendar:
        """The working-day calendar of a python-holidays region.

        ``notice`` (a :class:`CalendarNotice`; ``complaint_engine.read_calendar_notice`` reads one from a
        TOML file) adds official notices for years the
        data does not have yet and company overrides; ``extra_holidays``/``extra_workdays`` add
        company days on top. ``published_through`` is the last year with an official notice
        (default for CN: the last year in the data, or a loaded notice's year); later years are
        provisional. ``business_hours`` are local intervals on every working day.
        """
        problems: list[tuple[str, str]] = []
        supported = holidays.list_supported_countries()
        if not isinstance(code, str) or code not in supported:
            raise CalendarError.of("region code", code, Message("a python-holidays country code, one of {0}",
                                                                sorted(supported)))
        if subdivision is not None and subdivision not in supported[code]:
            raise CalendarError.of("subdivision", subdivision, Message("one of {0} for {code}",
                                                                       sorted(supported[code]), code=code))
        if on_provisional not in ("warn", "raise", "ignore"):
            raise CalendarError.of("on_provisional", on_provisional, "'warn', 'raise' or 'ignore'")
        first, last = years
        if not (isinstance(first, int) and isinstance(last, int) and 1900 <= first <= last <= 2199):
            raise CalendarError.of("years", years, "(first, last) with 1900 <= first <= last <= 2199")
        zone = cls._zone(code, tz)
        if notice is not None and not isinstance(notice, CalendarNotice):
            raise CalendarError.of("notice", notice, "a CalendarNotice (read a file with "
                                   "complaint_engine.read_calendar_notice)")
        notice = notice or CalendarNotice()
        extra_off = [to_date(d, "extra holiday") for d in extra_holidays] + list(notice.holidays)
        extra_on = [to_date(d, "extra workday") for d in extra_workdays] + list(notice.workdays)
        for d in sorted(set(extra_off) & set(extra_on)):
            problems.append(("extra_holidays/extra_workdays", Message("{d} is listed as both a holiday and a workday",
                                                                      d=d)))
        hours = cls._business_hours(business_hours or (), problems)
        if problems:
            raise CalendarError.collect("calendar", problems)

        key = (code, subdivision, zone.key, first, last, published_through, hours, on_provisional,
               tuple(sorted(set(extra_off))), tuple(sorted(set(extra_on))),
               tuple(sorted((y, tuple(sorted(o)), tuple(sorted(w))) for y, (o, w) in notice.notices.items())),
               notice.published_through)
        cached = _CACHE.get(key)
        if cached is None:
            cached = cls(region=code, subdivision=subdivision,
                         days=DayTable.build(code, subdivision, zone, first, last, published_through, hours,
                                             on_provisional, extra_off, extra_on, notice))
            if len(_CACHE) >= 64:  # a bounded memo: calendars are immutable, so sharing one is safe
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = cached
        return cached

    @staticmethod
    def _zone(code: str, tz: str | ZoneInfo | None) -> ZoneInfo:
        if isinstance(tz, ZoneInfo):
            return tz
        name = tz if tz is not None else DEFAULT_ZONES.get(code)
        if name is None:
            raise CalendarError.of("tz", tz, Message("an IANA zone name; region {code!r} has no default zone",
                                                     code=code))
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CalendarError.of("tz", name, "an IANA zone name such as 'Asia/Shanghai'") from exc

    @staticmethod
    def _business_hours(raw: Sequence[tuple[object, object]], problems: list[tuple[str, str]],
                        ) -> tuple[tuple[dt.time, dt.time], ...]:
        out: list[tuple[dt.time, dt.time]] = []
        for i, pair in enumerate(raw):
            try:
                start, end = (_parse_clock_time(x) for x in pair)
            except (CalendarError, TypeError, ValueError):
                problems.append((f"business_hours[{i}]", Message("{pair!r} is not a pair of 'HH:MM' times", pair=pair)))
                continue
            if start >= end:
                problems.append((f"business_hours[{i}]", Message("{pair!r} does not start before it ends", pair=pair)))
            elif out and start < out[-1][1]:
                problems.append((f"business_hours[{i}]", Message("{pair!r} overlaps or precedes the interval before",
                                                                 pair=pair)))
            out.append((start, end))
        return tuple(out)

    def __repr__(self) -> str:
        return (f"WorkingCalendar(region={self.region!r}, subdivision={self.subdivision!r}, tz={self.tz.key!r}, "
                f"years={self.first_year}..{self.last_year}, published_through={self.published_through})")

    def with_overrides(self, **changes: Any) -> WorkingCalendar:
        """A new calendar like this one with ``for_region`` arguments changed (overrides are added)."""
        args: dict[str, Any] = {
            "subdivision": self.subdivision, "business_hours": self.business_hours or None, "tz": self.tz,
            "years": (self.first_year, self.last_year), "on_provisional": self.on_provisional,
            "published_through": self.published_through,
        }
        args.update(changes)
        return WorkingCalendar.for_region(self.region, **args)

    # ----------------------------------------------------------------------------- the questions users ask
    def is_working_day(self, day: dt.date) -> bool:
        """Whether ``day`` is a working day (holidays off, make-up days 调休 on)."""
        return bool(self.days.is_work[self.days.day_index(day)])

    @overload
    def add_working_days(self, start: dt.date, n: int) -> dt.date: ...
    @overload
    def add_working_days(self, start: DayArray, n: int | npt.ArrayLike) -> DayArray: ...
    def add_working_days(self, start: dt.date | DayArray, n: int | npt.ArrayLike) -> dt.date | DayArray:
        """The n-th working day after ``start`` (``start`` itself not counted; n >= 1).

        A date gives a date; a ``datetime64[D]`` array gives an array (``n`` scalar or array).
        """
        days = self.days
        if isinstance(start, np.ndarray):
            return days.day64_of(days.add_working_days_index(days.day_indices(start), n))
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise CalendarError.of("n", n, "an integer >= 1")
        return days.date_of(days.nth_working_day_index(days.day_index(start), n))

    @overload
    def working_days_between(self, a: dt.date, b: dt.date) -> int: ...
    @overload
    def working_days_between(self, a: DayArray, b: DayArray) -> IntArray: ...
    def working_days_between(self, a: dt.date | DayArray, b: dt.date | DayArray) -> int | IntArray:
        """Working days in (a, b]; negative when b is before a."""
        days = self.days
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return days.working_count_between(days.day_indices(np.asarray(a)), days.day_indices(np.asarray(b)))
        return days.working_count_between_index(days.day_index(a), days.day_index(b))

    def is_provisional(self, day: dt.date | int) -> bool:
        """Whether ``day`` (or a year) is after the last year with an official notice in the data."""
        year = day if isinstance(day, int) else day.year
        return self.published_through is not None and year > self.published_through

