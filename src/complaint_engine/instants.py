"""The one home of instant conversions. Instants are aware datetimes; stores, fact rows and the bulk paths keep
them as UTC microseconds since the epoch (int64, ``datetime64[us]`` in numpy). A zone is for display and
calendar arithmetic only."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

from complaint_engine.errors import ValidationError

__all__ = ["EPOCH", "US", "as_utc_us", "fixed_offset", "from_us", "to_datetime64", "to_us"]

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
US = dt.timedelta(microseconds=1)


def to_us(instant: dt.datetime) -> int:
    """UTC microseconds since the epoch of an aware instant."""
    return (instant - EPOCH) // US


def fixed_offset(instant: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The instant as read in ``tz`` but carrying that reading's fixed UTC offset. Two datetimes sharing one
    ``ZoneInfo`` compare by wall reading (01:15 EST "before" 01:25 EDT in the hour repeated at the end of
    summer time); with fixed offsets they compare as instants, and still show the local time."""
    local = instant.astimezone(tz)
    offset = local.utcoffset()
    assert offset is not None  # an aware instant in a tzinfo always has an offset
    return local.replace(tzinfo=_OFFSETS.get(offset) or _OFFSETS.setdefault(offset, dt.timezone(offset)))


_OFFSETS: dict[dt.timedelta, dt.timezone] = {}


def from_us(us: int) -> dt.datetime:
    """The aware UTC instant of :func:`to_us`'s microseconds."""
    return EPOCH + dt.timedelta(microseconds=int(us))


def to_datetime64(instant: dt.datetime) -> np.datetime64:
    """The instant as a numpy ``datetime64[us]`` in UTC (how fact columns hold instants)."""
    return np.datetime64(to_us(instant), "us")


def as_utc_us(instants: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """A ``datetime64`` array of UTC instants as int64 microseconds; NaT is refused."""
    arr = np.asarray(instants)
    if arr.dtype.kind != "M":
        raise ValidationError.of("instants", arr.dtype, "a numpy datetime64 array of UTC instants")
    if np.isnat(arr).any():
        raise ValidationError.of("instant", "NaT", "real instants")
    return arr.astype("datetime64[us]").astype(np.int64)
