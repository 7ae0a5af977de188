"""The day table behind a working-day calendar: per day, whether it is a working day, the running count of
working days, the working-day indices and the UTC instant of each local midnight. Every deadline question is
an index lookup here, in bulk over numpy arrays or as a scalar over plain lists.

This is the calendar's arithmetic, private to ``complaint_engine.rules``: users ask
:class:`~complaint_engine.rules.WorkingCalendar` their questions; the deadline rules work on its ``days``.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable
from functools import cached_property
from typing import Literal, cast
from zoneinfo import ZoneInfo

import attrs
import holidays
import numpy as np
import numpy.typing as npt

from complaint_engine.errors import CalendarError
from complaint_engine.frozen import readonly_bool, readonly_int
from complaint_engine.instants import EPOCH, fixed_offset, from_us, to_us
from complaint_engine.messages import Message, Verbatim
from complaint_engine.rules.notice import CalendarNotice, default_published_through

__all__ = ["DayArray", "DayTable", "IntArray", "OnProvisional", "ProvisionalCalendarError",
           "ProvisionalCalendarWarning"]

UTC = dt.UTC
OnProvisional = Literal["warn", "raise", "ignore"]
DayArray = npt.NDArray[np.datetime64]
IntArray = npt.NDArray[np.int64]


class ProvisionalCalendarWarning(UserWarning):
    """A deadline lands in a year for which the official holiday notice is not in the data yet."""


class ProvisionalCalendarError(CalendarError):
    """Raised instead of the warning when the calendar is built with ``on_provisional="raise"``."""


@attrs.frozen(eq=False, repr=False)
class DayTable:
    """The days of a calendar over ``first_year..last_year``; dates outside are refused."""

    region: str
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

    @classmethod
    def build(cls, code: str, subdivision: str | None, zone: ZoneInfo, first: int, last: int,
               published_through: int | None, hours: tuple[tuple[dt.time, dt.time], ...],
               on_provisional: OnProvisional, extra_off: list[dt.date], extra_on: list[dt.date],
               notice: CalendarNotice) -> DayTable:
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
            default = default_published_through(code)
            if default is not None:
                published_through = max(default, published_through or default)
        cum = np.cumsum(is_work, dtype=np.int64)
        return cls(
            region=code, tz=zone, first_year=first, last_year=last,
            published_through=published_through, business_hours=hours, on_provisional=on_provisional,
            is_work=is_work, cum=cum, workdays=np.flatnonzero(is_work).astype(np.int64),
            midnight_us=cls._midnights(base, ndays + 1, zone),
        )

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

    # ----------------------------------------------------------------------------- day indices
    def day_index(self, day: dt.date) -> int:
        """Index of ``day`` in the table; refuses dates outside the calendar's years."""
        if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
            raise CalendarError.of("date", day, "a datetime.date (use a deadline rule for instants)")
        i = (day - self._base).days
        if not 0 <= i < self.ndays:
            raise self.out_of_range(day)
        return i

    def out_of_range(self, value: object) -> CalendarError:
        return CalendarError.of("date", value, Message("a date in {first_year}-01-01..{last_year}-12-31 (build the "
                                                       "calendar with years=(first, last) to cover it)",
                                                       first_year=self.first_year, last_year=self.last_year))

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
            raise self.out_of_range(arr[np.argmax(bad)])
        return idx

    def date_of(self, index: int) -> dt.date:
        return self._base + dt.timedelta(days=index)

    def add_working_days_index(self, idx: IntArray, n: int | npt.ArrayLike) -> IntArray:
        """Bulk core of :meth:`add_working_days` on day indices."""
        steps = np.asarray(n)
        if steps.dtype.kind not in "iu" or (steps < 1).any():
            raise CalendarError.of("n", n, "integers >= 1")
        k: IntArray = self._cum[idx] + steps - 1
        if k.size and int(k.max()) >= len(self._workdays):
            raise self.out_of_range("a working day beyond the calendar's last year")
        return self._workdays[k]

    def nth_working_day_index(self, index: int, n: int) -> int:
        """Scalar: index of the n-th working day after the day at ``index`` (n >= 1)."""
        k = self._cum_list[index] + n - 1
        if k >= len(self._workday_list):
            raise self.out_of_range(f"{n} working days after {self.date_of(index)}")
        return self._workday_list[k]

    def day64_of(self, idx: IntArray) -> DayArray:
        """The ``datetime64[D]`` dates of day indices."""
        return self._base_day64 + idx.astype("timedelta64[D]")

    def working_count_between(self, ia: IntArray, ib: IntArray) -> IntArray:
        """Bulk: working days in (a, b] of index arrays."""
        return cast(IntArray, self._cum[ib] - self._cum[ia])

    def working_count_between_index(self, a: int, b: int) -> int:
        """Scalar: working days in (a, b] of two day indices."""
        return self._cum_list[b] - self._cum_list[a]

    def is_working_index(self, index: int) -> bool:
        return bool(self.is_work[index])

    def next_working_day_index(self, idx: IntArray) -> IntArray:
        """Each index itself if a working day, else the next working day's index."""
        k = self._cum[idx] - self.is_work[idx]
        if k.size and int(k.max()) >= len(self._workdays):
            raise self.out_of_range("a working day beyond the calendar's last year")
        return self._workdays[k]

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
        msg = Message("deadline on {0} lies in {1}, after the last official {2} holiday notice in the data ({3}); "
                      "load the notice with CalendarNotice", day.isoformat(), day.year, Verbatim(self.region),
                      self.published_through)
        if self.on_provisional == "raise":
            raise ProvisionalCalendarError(msg, value=day,
                                           allowed=Message("dates up to {0}-12-31", self.published_through))
        warnings.warn(msg, ProvisionalCalendarWarning, stacklevel=4)

    # ----------------------------------------------------------------------------- instants
    def to_us(self, instant: dt.datetime) -> int:
        """UTC microseconds since the epoch of an aware datetime; naive ones are refused."""
        if not isinstance(instant, dt.datetime) or instant.utcoffset() is None:
            raise CalendarError.of("instant", instant, "a timezone-aware datetime")
        return to_us(instant)

    def from_us(self, us: int) -> dt.datetime:
        """The aware datetime, read in the calendar's zone with that reading's fixed offset, of UTC
        microseconds since the epoch (fixed offsets compare as instants, even in a repeated hour)."""
        return fixed_offset(from_us(us), self.tz)

    def local_day_indices(self, instants_us: IntArray) -> IntArray:
        """Bulk: index of the local day of each UTC-microsecond instant (DST-aware)."""
        idx = np.searchsorted(self._midnight_us, instants_us, side="right").astype(np.int64) - 1
        bad = (idx < 0) | (idx >= self.ndays)
        if bad.any():
            raise self.out_of_range(np.datetime64(int(instants_us[np.argmax(bad)]), "us"))
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
            raise self.out_of_range(instant)
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
            raise self.out_of_range("an instant after the calendar's last business interval")
        return cast(IntArray, before[k] + np.clip(instants_us - s[k], 0, e[k] - s[k]))

    def instant_at_business_us(self, amount: IntArray) -> IntArray:
        """The first instant by which ``amount`` µs of business time have been worked."""
        s, _, before, through = self._business_table
        k = np.searchsorted(through, amount, side="left")
        if k.size and int(k.max()) >= len(s):
            raise self.out_of_range("business time beyond the calendar's last year")
        return cast(IntArray, s[k] + (amount - before[k]))

    def close_of_business_us(self, day_index: IntArray) -> IntArray:
        """UTC µs of the end of the last business interval of each (working) day."""
        _, e, _, _ = self._business_table
        per_day = len(self.business_hours)
        pos = np.searchsorted(self._workdays, day_index)
        if (self._workdays[np.minimum(pos, len(self._workdays) - 1)] != day_index).any():
            raise CalendarError.of("day", "a non-working day", "a working day for close of business")
        return e[pos * per_day + per_day - 1]
