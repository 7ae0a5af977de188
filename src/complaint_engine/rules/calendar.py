"""The official working-day calendar, as one dense table of days.

References:
    * 国务院办公厅关于 YYYY 年部分节假日安排的通知 (the State Council's yearly notice): holidays off,
      some weekend days declared working days (调休). Data from python-holidays, which cites each notice.
    * PRC Civil Code arts. 201–203 (how periods are counted) — applied by the rules in ``deadlines``.

Why a table: python-holidays answers one date at a time with a Python loop. A calendar here covers a
fixed span of years and keeps, per day, whether it is a working day, the running count of working
days, the list of working-day indices and the UTC instant of each local midnight. Every question —
the n-th working day after a date, working days between two dates, the local day of an instant —
is then an index lookup, in bulk over numpy arrays or as a scalar over plain lists.
A calendar is immutable; overrides make a new one.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any, Literal, cast, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import holidays
import numpy as np
import numpy.typing as npt

from complaint_engine.errors import CalendarError
from complaint_engine.frozen import FrozenDict, frozen_dict, readonly_bool, readonly_int
from complaint_engine.instants import EPOCH, from_us, to_us

__all__ = [
    "CalendarNotice",
    "ProvisionalCalendarError",
    "ProvisionalCalendarWarning",
    "WorkingCalendar",
]

UTC = dt.UTC
US_PER_DAY = 86_400_000_000
OnProvisional = Literal["warn", "raise", "ignore"]
DayArray = npt.NDArray[np.datetime64]
IntArray = npt.NDArray[np.int64]

# Default zones for common regions; any other region needs ``tz=``, since python-holidays knows
# countries, not time zones.
DEFAULT_ZONES: Mapping[str, str] = {
    "CN": "Asia/Shanghai", "HK": "Asia/Hong_Kong", "MO": "Asia/Macau", "TW": "Asia/Taipei",
    "SG": "Asia/Singapore", "MY": "Asia/Kuala_Lumpur", "JP": "Asia/Tokyo", "KR": "Asia/Seoul",
    "GB": "Europe/London", "DE": "Europe/Berlin", "FR": "Europe/Paris", "AU": "Australia/Sydney",
    "US": "America/New_York", "CA": "America/Toronto",
}
DEFAULT_YEARS = (2000, 2050)
_CACHE: dict[tuple[Any, ...], WorkingCalendar] = {}


class ProvisionalCalendarWarning(UserWarning):
    """A deadline lands in a year for which the official holiday notice is not in the data yet."""


class ProvisionalCalendarError(CalendarError):
    """Raised instead of the warning when the calendar is built with ``on_provisional="raise"``."""


def _to_date(value: Any, what: str) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise CalendarError.of(what, value, "a datetime.date or an ISO date string 'YYYY-MM-DD'")
    return value


def _parse_clock_time(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        try:
            return dt.time.fromisoformat(value)
        except ValueError:
            pass
    raise CalendarError.of("business-hours time", value, "a datetime.time or 'HH:MM'")


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
    def from_dict(cls, data: Mapping[str, Any]) -> CalendarNotice:
        """Build from a mapping; every problem is collected and reported with its path."""
        problems: list[tuple[str, str]] = []
        allowed_keys = {"published_through", "notice", "company"}
        for key in data:
            if key not in allowed_keys:
                problems.append((f"$.{key}", f"unknown key; allowed: {sorted(allowed_keys)}"))

        def dates(raw: Any, path: str, year: int | None = None) -> tuple[dt.date, ...]:
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


def _default_published_through(region: str) -> int | None:
    """Last year with an official notice in python-holidays' data (CN only: elsewhere rules suffice)."""
    if region != "CN":
        return None
    from holidays.countries.china import ChinaStaticHolidays

    special = cast(Mapping[int, Any], ChinaStaticHolidays.special_public_holidays)
    return max(special)


@attrs.frozen(eq=False, repr=False)
class WorkingCalendar:
    """Working days of an official calendar over a fixed span of years; see the module docstring.

    Build with :meth:`for_region`. Dates outside ``first_year..last_year`` are refused.
    """

    region: str
    subdivision: str | None
    tz: ZoneInfo
    first_year: int
    last_year: int
    published_through: int | None
    business_hours: tuple[tuple[dt.time, dt.time], ...]
    on_provisional: OnProvisional
    is_work: npt.NDArray[np.bool_] = attrs.field(converter=readonly_bool)
    _cum: IntArray = attrs.field(alias="cum", converter=readonly_int)
    _workdays: IntArray = attrs.field(alias="workdays", converter=readonly_int)
    _midnight_us: IntArray = attrs.field(alias="midnight_us", converter=readonly_int)

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
            raise CalendarError.of("region code", code, f"a python-holidays country code, one of "
                                   f"{sorted(supported)}")
        if subdivision is not None and subdivision not in supported[code]:
            raise CalendarError.of("subdivision", subdivision, f"one of {sorted(supported[code])} for {code}")
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
        extra_off = [_to_date(d, "extra holiday") for d in extra_holidays] + list(notice.holidays)
        extra_on = [_to_date(d, "extra workday") for d in extra_workdays] + list(notice.workdays)
        for d in sorted(set(extra_off) & set(extra_on)):
            problems.append(("extra_holidays/extra_workdays", f"{d} is listed as both a holiday and a workday"))
        hours = cls._business_hours(business_hours or (), problems)
        if problems:
            raise CalendarError.collect("calendar", problems)

        key = (code, subdivision, zone.key, first, last, published_through, hours, on_provisional,
               tuple(sorted(set(extra_off))), tuple(sorted(set(extra_on))),
               tuple(sorted((y, tuple(sorted(o)), tuple(sorted(w))) for y, (o, w) in notice.notices.items())),
               notice.published_through)
        cached = _CACHE.get(key)
        if cached is None:
            cached = cls._build(code, subdivision, zone, first, last, published_through, hours, on_provisional,
                                extra_off, extra_on, notice)
            if len(_CACHE) >= 64:  # a bounded memo: calendars are immutable, so sharing one is safe
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = cached
        return cached

    @classmethod
    def _build(cls, code: str, subdivision: str | None, zone: ZoneInfo, first: int, last: int,
               published_through: int | None, hours: tuple[tuple[dt.time, dt.time], ...],
               on_provisional: OnProvisional, extra_off: list[dt.date], extra_on: list[dt.date],
               notice: CalendarNotice) -> WorkingCalendar:
        base = dt.date(first, 1, 1)
        ndays = (dt.date(last, 12, 31) - base).days + 1
        source = holidays.country_holidays(code, subdiv=subdivision, years=range(first, last + 1))
        is_work = cls._weekday_mask(base, ndays, source.weekend)

        def idx(d: dt.date) -> int:
            return (d - base).days

        notice_years = {y for y in notice.notices if first <= y <= last}
        for d in source:
            if d.year not in notice_years and 0 <= idx(d) < ndays:
                is_work[idx(d)] = False
        for d in source.weekend_workdays:
            if d.year not in notice_years and 0 <= idx(d) < ndays:
                is_work[idx(d)] = True
        for year in notice_years:
            off, on = notice.notices[year]
            for d in off:
                is_work[idx(d)] = False
            for d in on:
                is_work[idx(d)] = True
        for d in extra_off:
            if 0 <= idx(d) < ndays:
                is_work[idx(d)] = False
        for d in extra_on:
            if 0 <= idx(d) < ndays:
                is_work[idx(d)] = True

        if published_through is None:
            published_through = notice.published_through
            default = _default_published_through(code)
            if default is not None:
                published_through = max(default, published_through or default)
        cum = np.cumsum(is_work, dtype=np.int64)
        return cls(
            region=code, subdivision=subdivision, tz=zone, first_year=first, last_year=last,
            published_through=published_through, business_hours=hours, on_provisional=on_provisional,
            is_work=is_work, cum=cum, workdays=np.flatnonzero(is_work).astype(np.int64),
            midnight_us=cls._midnights(base, ndays + 1, zone),
        )

    @staticmethod
    def _zone(code: str, tz: str | ZoneInfo | None) -> ZoneInfo:
        if isinstance(tz, ZoneInfo):
            return tz
        name = tz if tz is not None else DEFAULT_ZONES.get(code)
        if name is None:
            raise CalendarError.of("tz", tz, f"an IANA zone name; region {code!r} has no default zone")
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CalendarError.of("tz", name, "an IANA zone name such as 'Asia/Shanghai'") from exc

    @staticmethod
    def _business_hours(raw: Sequence[tuple[Any, Any]], problems: list[tuple[str, str]],
                        ) -> tuple[tuple[dt.time, dt.time], ...]:
        out: list[tuple[dt.time, dt.time]] = []
        for i, pair in enumerate(raw):
            try:
                start, end = (_parse_clock_time(x) for x in pair)
            except (CalendarError, TypeError, ValueError):
                problems.append((f"business_hours[{i}]", f"{pair!r} is not a pair of 'HH:MM' times"))
                continue
            if start >= end:
                problems.append((f"business_hours[{i}]", f"{pair!r} does not start before it ends"))
            elif out and start < out[-1][1]:
                problems.append((f"business_hours[{i}]", f"{pair!r} overlaps or precedes the interval before"))
            out.append((start, end))
        return tuple(out)

    @staticmethod
    def _weekday_mask(base: dt.date, ndays: int, weekend: Iterable[int]) -> npt.NDArray[np.bool_]:
        weekdays = (np.arange(ndays) + base.weekday()) % 7
        return ~np.isin(weekdays, list(weekend))

    @staticmethod
    def _midnights(base: dt.date, count: int, zone: ZoneInfo) -> IntArray:
        """UTC microseconds of local midnight of each day (DST-aware; a skipped midnight maps forward)."""
        out = np.empty(count, dtype=np.int64)
        day = dt.timedelta(days=1)
        local = dt.datetime(base.year, base.month, base.day, tzinfo=zone)
        for i in range(count):
            out[i] = (local.astimezone(UTC) - EPOCH) // dt.timedelta(microseconds=1)
            local = (local + day).replace(tzinfo=zone)
        return out

    # ----------------------------------------------------------------------------- scalar lists
    # Plain lists make the scalar path ~10x faster than indexing numpy arrays one item at a time.
    @cached_property
    def _cum_list(self) -> list[int]:
        return cast(list[int], self._cum.tolist())

    @cached_property
    def _workday_list(self) -> list[int]:
        return cast(list[int], self._workdays.tolist())

    @cached_property
    def _midnight_list(self) -> list[int]:
        return cast(list[int], self._midnight_us.tolist())

    @cached_property
    def _base(self) -> dt.date:
        return dt.date(self.first_year, 1, 1)

    @cached_property
    def _base_day64(self) -> np.datetime64:
        return np.datetime64(self._base.isoformat(), "D")

    @property
    def ndays(self) -> int:
        return len(self.is_work)

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

    # ----------------------------------------------------------------------------- day indices
    def day_index(self, day: dt.date) -> int:
        """Index of ``day`` in the table; refuses dates outside the calendar's years."""
        if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
            raise CalendarError.of("date", day, "a datetime.date (use a deadline rule for instants)")
        i = (day - self._base).days
        if not 0 <= i < self.ndays:
            raise self._out_of_range(day)
        return i

    def _out_of_range(self, value: object) -> CalendarError:
        return CalendarError.of("date", value, f"a date in {self.first_year}-01-01..{self.last_year}-12-31 "
                                "(build the calendar with years=(first, last) to cover it)")

    def day_indices(self, days: DayArray) -> IntArray:
        """Indices of a ``datetime64[D]`` array; refuses NaT and dates outside the calendar's years."""
        arr = np.asarray(days)
        if arr.dtype.kind != "M":
            raise CalendarError.of("dates", arr.dtype, "a numpy datetime64[D] array")
        arr = arr.astype("datetime64[D]")
        if np.isnat(arr).any():
            raise CalendarError.of("date", "NaT", "real dates")
        idx = (arr - self._base_day64).astype(np.int64)
        bad = (idx < 0) | (idx >= self.ndays)
        if bad.any():
            raise self._out_of_range(arr[np.argmax(bad)])
        return idx

    def date_of(self, index: int) -> dt.date:
        return self._base + dt.timedelta(days=index)

    # ----------------------------------------------------------------------------- the questions
    def is_working_day(self, day: dt.date) -> bool:
        """Whether ``day`` is a working day (holidays off, make-up days 调休 on)."""
        return bool(self.is_work[self.day_index(day)])

    @overload
    def add_working_days(self, start: dt.date, n: int) -> dt.date: ...
    @overload
    def add_working_days(self, start: DayArray, n: int | npt.ArrayLike) -> DayArray: ...
    def add_working_days(self, start: dt.date | DayArray, n: int | npt.ArrayLike) -> dt.date | DayArray:
        """The n-th working day after ``start`` (``start`` itself not counted; n >= 1).

        A date gives a date; a ``datetime64[D]`` array gives an array (``n`` scalar or array).
        """
        if isinstance(start, np.ndarray):
            idx = self.add_working_days_index(self.day_indices(start), n)
            return self._base_day64 + idx.astype("timedelta64[D]")
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise CalendarError.of("n", n, "an integer >= 1")
        k = self._cum_list[self.day_index(start)] + n - 1
        if k >= len(self._workday_list):
            raise self._out_of_range(f"{n} working days after {start}")
        return self._base + dt.timedelta(days=self._workday_list[k])

    def add_working_days_index(self, idx: IntArray, n: int | npt.ArrayLike) -> IntArray:
        """Bulk core of :meth:`add_working_days` on day indices."""
        steps = np.asarray(n)
        if steps.dtype.kind not in "iu" or (steps < 1).any():
            raise CalendarError.of("n", n, "integers >= 1")
        k: IntArray = self._cum[idx] + steps - 1
        if k.size and int(k.max()) >= len(self._workdays):
            raise self._out_of_range("a working day beyond the calendar's last year")
        return self._workdays[k]

    def nth_working_day_index(self, index: int, n: int) -> int:
        """Scalar: index of the n-th working day after the day at ``index`` (n >= 1)."""
        k = self._cum_list[index] + n - 1
        if k >= len(self._workday_list):
            raise self._out_of_range(f"{n} working days after {self.date_of(index)}")
        return self._workday_list[k]

    def is_working_index(self, index: int) -> bool:
        return bool(self.is_work[index])

    def next_working_day_index(self, idx: IntArray) -> IntArray:
        """Each index itself if a working day, else the next working day's index."""
        k = self._cum[idx] - self.is_work[idx]
        if k.size and int(k.max()) >= len(self._workdays):
            raise self._out_of_range("a working day beyond the calendar's last year")
        return self._workdays[k]

    @overload
    def working_days_between(self, a: dt.date, b: dt.date) -> int: ...
    @overload
    def working_days_between(self, a: DayArray, b: DayArray) -> IntArray: ...
    def working_days_between(self, a: dt.date | DayArray, b: dt.date | DayArray) -> int | IntArray:
        """Working days in (a, b]; negative when b is before a."""
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            ia = self.day_indices(np.asarray(a))
            ib = self.day_indices(np.asarray(b))
            return cast(IntArray, self._cum[ib] - self._cum[ia])
        return self._cum_list[self.day_index(b)] - self._cum_list[self.day_index(a)]

    # ----------------------------------------------------------------------------- provisional years
    def is_provisional(self, day: dt.date | int) -> bool:
        """Whether ``day`` (or a year) is after the last year with an official notice in the data."""
        year = day if isinstance(day, int) else day.year
        return self.published_through is not None and year > self.published_through

    def check_provisional(self, day_index: int | IntArray) -> None:
        """Warn (or raise, or ignore, per ``on_provisional``) when a deadline lands in a provisional year."""
        if self.published_through is None or self.on_provisional == "ignore":
            return
        limit = (dt.date(self.published_through + 1, 1, 1) - self._base).days
        if isinstance(day_index, np.ndarray):
            if not day_index.size:
                return
            latest = int(day_index.max())
        else:
            latest = int(day_index)
        if latest < limit:
            return
        day = self.date_of(latest)
        msg = (f"deadline on {day} lies in {day.year}, after the last official {self.region} holiday notice "
               f"in the data ({self.published_through}); load the notice with CalendarNotice")
        if self.on_provisional == "raise":
            raise ProvisionalCalendarError(msg, value=day, allowed=f"dates up to {self.published_through}-12-31")
        warnings.warn(msg, ProvisionalCalendarWarning, stacklevel=4)

    # ----------------------------------------------------------------------------- instants
    def to_us(self, instant: dt.datetime) -> int:
        """UTC microseconds since the epoch of an aware datetime; naive ones are refused."""
        if not isinstance(instant, dt.datetime) or instant.utcoffset() is None:
            raise CalendarError.of("instant", instant, "a timezone-aware datetime")
        return to_us(instant)

    def from_us(self, us: int) -> dt.datetime:
        """The aware datetime, in the calendar's zone, of UTC microseconds since the epoch."""
        return from_us(us).astimezone(self.tz)

    def local_day_indices(self, instants_us: IntArray) -> IntArray:
        """Bulk: index of the local day of each UTC-microsecond instant (DST-aware)."""
        idx = np.searchsorted(self._midnight_us, instants_us, side="right").astype(np.int64) - 1
        bad = (idx < 0) | (idx >= self.ndays)
        if bad.any():
            raise self._out_of_range(np.datetime64(int(instants_us[np.argmax(bad)]), "us"))
        return idx

    def midnight_us(self, day_index: int) -> int:
        """UTC microseconds of local 00:00 starting the day at ``day_index`` (index ndays is allowed)."""
        return self._midnight_list[day_index]

    def midnight(self, day_index: int) -> dt.datetime:
        """Local 00:00 starting the day at ``day_index``, as an aware datetime (memoized: deadlines land on
        a few thousand distinct midnights, and building each costs more than the rest of a deadline)."""
        found = self._midnight_cache.get(day_index)
        if found is None:
            found = self.from_us(self._midnight_list[day_index])
            self._midnight_cache[day_index] = found
        return found

    @cached_property
    def _midnight_cache(self) -> dict[int, dt.datetime]:
        return {}

    @cached_property
    def due_memo(self) -> dict[tuple[str, int, int], dt.datetime]:
        """Day-based deadlines by (rule kind, n, local start day): the answer depends on nothing else.
        Rules store only results outside provisional years, so warnings and errors still happen each time."""
        return {}

    @cached_property
    def first_provisional_index(self) -> int:
        """Index of the first day of the first provisional year (past the end when there is none)."""
        if self.published_through is None:
            return self.ndays + 1
        return (dt.date(self.published_through + 1, 1, 1) - self._base).days

    def local_index(self, instant: dt.datetime) -> int:
        """Index of the local day of an aware instant; naive instants are refused."""
        if instant.utcoffset() is None:
            raise CalendarError.of("instant", instant, "a timezone-aware datetime")
        i = instant.astimezone(self.tz).toordinal() - self._base_ordinal
        if not 0 <= i < self.ndays:
            raise self._out_of_range(instant)
        return i

    @cached_property
    def _base_ordinal(self) -> int:
        return self._base.toordinal()

    def midnights_us(self, day_index: IntArray) -> IntArray:
        return self._midnight_us[day_index]

    # ----------------------------------------------------------------------------- business hours
    @cached_property
    def _business_table(self) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """Business intervals of every working day as UTC µs: starts, ends, worked-before, worked-through."""
        if not self.business_hours:
            raise CalendarError.of("business hours", None, "a calendar built with business_hours=[...]")
        starts: list[int] = []
        ends: list[int] = []
        for i in self._workday_list:
            day = self.date_of(i)
            for a, b in self.business_hours:
                starts.append(self.to_us(dt.datetime.combine(day, a, tzinfo=self.tz)))
                ends.append(self.to_us(dt.datetime.combine(day, b, tzinfo=self.tz)))
        s = np.asarray(starts, dtype=np.int64)
        e = np.asarray(ends, dtype=np.int64)
        through = np.cumsum(e - s)
        return s, e, through - (e - s), through

    def business_us_at(self, instants_us: IntArray) -> IntArray:
        """Business time (µs) worked from the calendar's start up to each instant."""
        s, e, before, _ = self._business_table
        k = np.searchsorted(e, instants_us, side="right")
        if k.size and int(k.max()) >= len(s):
            raise self._out_of_range("an instant after the calendar's last business interval")
        return cast(IntArray, before[k] + np.clip(instants_us - s[k], 0, e[k] - s[k]))

    def instant_at_business_us(self, amount: IntArray) -> IntArray:
        """The first instant by which ``amount`` µs of business time have been worked."""
        s, _, before, through = self._business_table
        k = np.searchsorted(through, amount, side="left")
        if k.size and int(k.max()) >= len(s):
            raise self._out_of_range("business time beyond the calendar's last year")
        return cast(IntArray, s[k] + (amount - before[k]))

    def close_of_business_us(self, day_index: IntArray) -> IntArray:
        """UTC µs of the end of the last business interval of each (working) day."""
        _, e, _, _ = self._business_table
        per_day = len(self.business_hours)
        pos = np.searchsorted(self._workdays, day_index)
        if (self._workdays[np.minimum(pos, len(self._workdays) - 1)] != day_index).any():
            raise CalendarError.of("day", "a non-working day", "a working day for close of business")
        return e[pos * per_day + per_day - 1]
