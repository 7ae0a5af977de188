"""Where "now" comes from. The domain never reads the wall clock; the desk asks its Clock."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import attrs

from complaint_engine.errors import ValidationError

__all__ = ["Clock", "FixedClock", "SystemClock", "aware", "aware_or_none"]


def aware(name: str, value: object) -> dt.datetime:
    """``value`` if it is a timezone-aware datetime; otherwise ``ValidationError`` naming ``name``."""
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise ValidationError.of(name, value, "a timezone-aware datetime")
    try:  # an instant that has no UTC reading (year 1 at +14:00, year 9999 at -12:00) cannot be stored
        value.astimezone(dt.UTC)
    except OverflowError:
        raise ValidationError.of(name, value.isoformat(), "an instant within years 1..9999 in UTC") from None
    return value


def aware_or_none(name: str, value: object) -> dt.datetime | None:
    """None, or ``value`` checked by :func:`aware`: an optional instant argument."""
    return None if value is None else aware(name, value)


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware."""
        ...


@attrs.frozen
class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


@attrs.define
class FixedClock:
    """A clock that stands still until moved: for tests, simulations and replays."""

    current: dt.datetime = attrs.field()

    @current.validator
    def _aware(self, _: attrs.Attribute[dt.datetime], value: dt.datetime) -> None:
        aware("clock instant", value)

    def now(self) -> dt.datetime:
        return self.current

    def set(self, instant: dt.datetime) -> None:
        self._aware(attrs.fields(FixedClock).current, instant)
        self.current = instant

    def advance(self, delta: dt.timedelta | None = None, **kwargs: float) -> dt.datetime:
        """Move forward by ``delta`` or ``timedelta(**kwargs)``; returns the new instant."""
        step = delta if delta is not None else dt.timedelta(**kwargs)
        if step < dt.timedelta(0):
            raise ValidationError.of("clock step", step, "a non-negative timedelta")
        self.current = self.current + step
        return self.current
