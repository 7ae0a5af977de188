"""Deadline rules: when a time limit of the procedure falls due.

References:
    * PRC Civil Code art. 201: a period counted in days starts on the day after the start day.
    * PRC Civil Code art. 202–203: the period ends at 24:00 of its last day, or at the close of business
      where business hours apply; if the last day is a statutory holiday, the first day after it ends
      the period. Here "holiday" is any non-working day of the official calendar, so a make-up working
      Saturday (调休) does end a period.
    * Source procedure 6.3.4 (reply ≤ 2 days), estate plans 二 (reply ≤ 3 working days, on site in
      10 minutes, emergency repairs not left overnight).

Every rule gives ``due(start, calendar, pauses=())`` → an aware datetime in the calendar's zone, and
``due_many(starts, calendar)`` over a numpy ``datetime64`` array of UTC instants → ``datetime64[us]``
UTC. ``pauses`` are ``(from, to)`` instants during which the clock stood still; each rule measures
them in its own units (working days, days, business time, wall time) and extends the period by that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol, runtime_checkable

import attrs
import numpy as np
import numpy.typing as npt

from complaint_engine.errors import ValidationError
from complaint_engine.instants import as_utc_us
from complaint_engine.messages import Message
from complaint_engine.rules.calendar import WorkingCalendar
from complaint_engine.rules.days import IntArray

__all__ = [
    "CalendarDays",
    "ClockHours",
    "ClockMinutes",
    "DeadlineRule",
    "Earliest",
    "EndOfDay",
    "Pause",
    "WorkingDays",
    "WorkingHours",
    "as_utc_us",
]

Pause = tuple[dt.datetime, dt.datetime]
US_PER_MINUTE = 60_000_000


# No time limit of the procedure runs for years: a bound of about ten years per unit keeps a typo such as
# "99999999999 minutes" from loading and then overflowing the first deadline it computes.
MAX_DAYS = 3653


def _positive_int(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    most: int | None = getattr(type(instance), "max_n", None)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1 or (most is not None and value > most):
        allowed = Message("an integer >= 1") if most is None else Message("an integer in 1..{0}", most)
        raise ValidationError.of(attribute.name, value, allowed)


def _us_array(values: IntArray) -> npt.NDArray[np.datetime64]:
    return values.astype("datetime64[us]")


@runtime_checkable
class DeadlineRule(Protocol):
    """A time limit: given when the clock started, when it falls due."""

    kind: ClassVar[str]

    def due(self, start: dt.datetime, calendar: WorkingCalendar, *, pauses: Sequence[Pause] = ()) -> dt.datetime:
        """The aware instant the limit falls due, extended by the pauses measured in the rule's units."""
        ...

    def due_many(self, starts: npt.ArrayLike, calendar: WorkingCalendar) -> npt.NDArray[np.datetime64]:
        """Bulk ``due`` over UTC ``datetime64`` instants (no pauses) → ``datetime64[us]`` UTC."""
        ...

    def describe(self) -> str:
        """A short English description, e.g. '3 working days'."""
        ...


def _memoized(kind: str, n: int, start: dt.datetime, calendar: WorkingCalendar,
              last_day: Callable[[int, WorkingCalendar], int]) -> dt.datetime:
    """A day-based deadline: end of ``last_day(local start day)``, memoized per calendar."""
    index = calendar.days.local_index(start)
    key = (kind, n, index)
    found = calendar.days.due_memo.get(key)
    if found is not None:
        return found
    last = last_day(index, calendar)
    calendar.days.check_provisional(last)
    due = calendar.days.midnight(last + 1)
    if last < calendar.days.first_provisional_index:
        calendar.days.due_memo[key] = due
    return due


def _check_pauses(pauses: Sequence[Pause]) -> None:
    for a, b in pauses:
        if b < a:
            raise ValidationError.of("pause", (a, b), "an interval whose end is not before its start")


def _local_days(calendar: WorkingCalendar, pauses: Sequence[Pause]) -> int:
    """Whole local days between pause starts and ends (summed)."""
    _check_pauses(pauses)
    return sum(calendar.days.local_index(b) - calendar.days.local_index(a) for a, b in pauses)


def _wall_us(calendar: WorkingCalendar, pauses: Sequence[Pause]) -> int:
    _check_pauses(pauses)
    return sum(calendar.days.to_us(b) - calendar.days.to_us(a) for a, b in pauses)


@attrs.frozen
class WorkingDays:
    """End of the n-th working day after the start day (start day not counted): the next local 00:00.

    Pauses count the working days between the local days they start and end on.
    """

    n: int = attrs.field(validator=_positive_int)
    kind: ClassVar[str] = "working_days"
    max_n: ClassVar[int] = 2_610  # ten years of working days

    def due(self, start: dt.datetime, calendar: WorkingCalendar, *, pauses: Sequence[Pause] = ()) -> dt.datetime:
        if not pauses:
            return _memoized(self.kind, self.n, start, calendar, self._last_day)
        extra = 0
        if pauses:
            _check_pauses(pauses)
            extra = sum(calendar.working_days_between(a.astimezone(calendar.tz).date(),
                                                      b.astimezone(calendar.tz).date()) for a, b in pauses)
        last = calendar.days.nth_working_day_index(calendar.days.local_index(start), self.n + extra)
        calendar.days.check_provisional(last)
        return calendar.days.midnight(last + 1)

    def _last_day(self, start_index: int, calendar: WorkingCalendar) -> int:
        return calendar.days.nth_working_day_index(start_index, self.n)

    def due_many(self, starts: npt.ArrayLike, calendar: WorkingCalendar) -> npt.NDArray[np.datetime64]:
        last = calendar.days.add_working_days_index(calendar.days.local_day_indices(as_utc_us(starts)), self.n)
        calendar.days.check_provisional(last)
        return _us_array(calendar.days.midnights_us(last + 1))

    def describe(self) -> str:
        return f"{self.n} working day{'s' if self.n > 1 else ''}"


@attrs.frozen
class CalendarDays:
    """n days, Civil Code arts. 201–203: start day not counted; a last day that is not a working day
    moves to the next working day; due at the next local 00:00, or at the close of business of the last
    day when ``close_of_business`` is set (the calendar must then have business hours).
    """

    n: int = attrs.field(validator=_positive_int)
    close_of_business: bool = False
    kind: ClassVar[str] = "calendar_days"
    max_n: ClassVar[int] = MAX_DAYS

    def due(self, start: dt.datetime, calendar: WorkingCalendar, *, pauses: Sequence[Pause] = ()) -> dt.datetime:
        if not pauses and not self.close_of_business:
            return _memoized(self.kind, self.n, start, calendar, self._last_day)
        extra = _local_days(calendar, pauses) if pauses else 0
        last = calendar.days.local_index(start) + self.n + extra
        if last >= calendar.days.ndays:
            raise calendar.days.out_of_range(f"{self.n} days after {start}")
        if not calendar.days.is_working_index(last):
            last = calendar.days.nth_working_day_index(last, 1)
        calendar.days.check_provisional(last)
        if self.close_of_business:
            return calendar.days.from_us(int(calendar.days.close_of_business_us(np.array([last]))[0]))
        return calendar.days.midnight(last + 1)

    def _last_day(self, start_index: int, calendar: WorkingCalendar) -> int:
        last = start_index + self.n
        if last >= calendar.days.ndays:
            raise calendar.days.out_of_range(f"{self.n} days after {calendar.days.date_of(start_index)}")
        return last if calendar.days.is_working_index(last) else calendar.days.nth_working_day_index(last, 1)

    def due_many(self, starts: npt.ArrayLike, calendar: WorkingCalendar) -> npt.NDArray[np.datetime64]:
        last = calendar.days.local_day_indices(as_utc_us(starts)) + self.n
        if last.size and int(last.max()) >= calendar.days.ndays:
            raise calendar.days.out_of_range("a period ending after the calendar's last year")
        last = calendar.days.next_working_day_index(last)
        calendar.days.check_provisional(last)
        if self.close_of_business:
            return _us_array(calendar.days.close_of_business_us(last))
        return _us_array(calendar.days.midnights_us(last + 1))

    def describe(self) -> str:
        end = " (close of business)" if self.close_of_business else ""
        return f"{self.n} day{'s' if self.n > 1 else ''}{end}"


@attrs.frozen
class ClockMinutes:
    """n minutes of wall-clock time, day and night, holidays included. Pauses add their wall time."""

    n: int = attrs.field(validator=_positive_int)
    kind: ClassVar[str] = "clock_minutes"
    max_n: ClassVar[int] = MAX_DAYS * 24 * 60

    @property
    def span_us(self) -> int:
        return self.n * US_PER_MINUTE

    def due(self, start: dt.datetime, calendar: WorkingCalendar, *, pauses: Sequence[Pause] = ()) -> dt.datetime:
        extra = _wall_us(calendar, pauses) if pauses else 0
        return calendar.days.from_us(calendar.days.to_us(start) + self.span_us + extra)

    def due_many(self, starts: npt.ArrayLike, calendar: WorkingCalendar) -> npt.NDArray[np.datetime64]:
        return _us_array(as_utc_us(starts) + self.span_us)

    def describe(self) -> str:
        return f"{self.n} minute{'s' if self.n > 1 else ''}"


@attrs.frozen
class ClockHours(ClockMinutes):
    """n hours of wall-clock time, day and night, holidays included."""

    kind: ClassVar[str] = "clock_hours"
    max_n: ClassVar[int] = MAX_DAYS * 24

    @property
    def span_us(self) -> int:
        return self.n * 60 * US_PER_MINUTE

    def describe(self) -> str:
        return f"{self.n} hour{'s' if self.n > 1 else ''}"


@attrs.frozen
class EndOfDay:
    """24:00 of the start's local day ("急修不過夜": not left overnight).

    ``min_grace`` guarantees at least that much time for reports just before midnight.
    Pauses add their wall time.
    """

    min_grace: dt.timedelta | None = attrs.field(default=None)
    kind: ClassVar[str] = "end_of_day"

    @min_grace.validator
    def _check_grace(self, _: attrs.Attribute[dt.timedelta | None], value: dt.timedelta | None) -> None:
        if value is not None and (not isinstance(value, dt.timedelta) or value <= dt.timedelta(0)):
            raise ValidationError.of("min_grace", value, "None or a positive timedelta")

    @property
    def _grace_us(self) -> int:
        return 0 if self.min_grace is None else self.min_grace // dt.timedelta(microseconds=1)

    def due(self, start: dt.datetime, calendar: WorkingCalendar, *, pauses: Sequence[Pause] = ()) -> dt.datetime:
        s = calendar.days.to_us(start)
        extra = _wall_us(calendar, pauses) if pauses else 0
        due = max(calendar.days.midnight_us(calendar.days.local_index(start) + 1), s + self._grace_us)
        return calendar.days.from_us(due + extra)

    def due_many(self, starts: npt.ArrayLike, calendar: WorkingCalendar) -> npt.NDArray[np.datetime64]:
        s = as_utc_us(starts)
        due = calendar.days.midnights_us(calendar.days.local_day_indices(s) + 1)
        return _us_array(np.maximum(due, s + self._grace_us))

    def describe(self) -> str:
        grace = f" (at least {self.min_grace})" if self.min_grace else ""
        return f"end of the day{grace}"


@attrs.frozen
class WorkingHours:
    """n hours of business time: only inside the calendar's business hours on working days (make-up
    days included), skipping nights, weekends, holidays and lunch breaks. Pauses add the business time
    they covered.
    """

    n: int = attrs.field(validator=_positive_int)
    kind: ClassVar[str] = "working_hours"
    max_n: ClassVar[int] = 2_610 * 24

    def due(self, start: dt.datetime, calendar: WorkingCalendar, *, pauses: Sequence[Pause] = ()) -> dt.datetime:
        s = np.array([calendar.days.to_us(start)], dtype=np.int64)
        extra = 0
        if pauses:
            _check_pauses(pauses)
            ends = np.array([[calendar.days.to_us(a), calendar.days.to_us(b)] for a, b in pauses], dtype=np.int64)
            worked = calendar.days.business_us_at(ends.ravel()).reshape(-1, 2)
            extra = int((worked[:, 1] - worked[:, 0]).sum())
        due = self._due_us(s, calendar, extra)
        return calendar.days.from_us(int(due[0]))

    def _due_us(self, s: IntArray, calendar: WorkingCalendar, extra: int = 0) -> IntArray:
        target = calendar.days.business_us_at(s) + self.n * 60 * US_PER_MINUTE + extra
        due = calendar.days.instant_at_business_us(target)
        calendar.days.check_provisional(calendar.days.local_day_indices(due))
        return due

    def due_many(self, starts: npt.ArrayLike, calendar: WorkingCalendar) -> npt.NDArray[np.datetime64]:
        return _us_array(self._due_us(as_utc_us(starts), calendar))

    def describe(self) -> str:
        return f"{self.n} working hour{'s' if self.n > 1 else ''}"


@attrs.frozen(init=False)
class Earliest:
    """The strictest of several rules: due at the earliest of their due instants."""

    rules: tuple[DeadlineRule, ...]
    # set when every rule depends only on the start's local day: the result can then be memoized like theirs
    _day_key: str | None = attrs.field(init=False, eq=False, repr=False, default=None)
    kind: ClassVar[str] = "earliest"

    def __init__(self, *rules: DeadlineRule) -> None:
        if not rules or not all(isinstance(r, DeadlineRule) for r in rules):
            raise ValidationError.of("rules", rules, "one or more deadline rules")
        self.__attrs_init__(rules)
        day_based = all(isinstance(r, WorkingDays) or (isinstance(r, CalendarDays) and not r.close_of_business)
                        for r in rules)
        if day_based:
            key = ",".join(f"{r.kind}:{r.n}" for r in rules)  # type: ignore[attr-defined]
            object.__setattr__(self, "_day_key", key)

    def due(self, start: dt.datetime, calendar: WorkingCalendar, *, pauses: Sequence[Pause] = ()) -> dt.datetime:
        if self._day_key is not None and not pauses:
            index = calendar.days.local_index(start)
            key = ("earliest:" + self._day_key, 0, index)
            found = calendar.days.due_memo.get(key)
            if found is not None:
                return found
            due = min(rule.due(start, calendar) for rule in self.rules)
            if calendar.days.local_index(due) <= calendar.days.first_provisional_index:
                calendar.days.due_memo[key] = due
            return due
        return min(rule.due(start, calendar, pauses=pauses) for rule in self.rules)

    def due_many(self, starts: npt.ArrayLike, calendar: WorkingCalendar) -> npt.NDArray[np.datetime64]:
        dues = [rule.due_many(starts, calendar) for rule in self.rules]
        return np.minimum.reduce(dues)  # type: ignore[no-any-return]

    def describe(self) -> str:
        return "the earliest of " + ", ".join(rule.describe() for rule in self.rules)
