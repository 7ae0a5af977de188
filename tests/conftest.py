"""Shared fixtures and the hypothesis profiles.

``ci`` (the default) is derandomized so a landing never depends on luck; ``explore`` uses random seeds
and many more examples: ``HYPOTHESIS_PROFILE=explore pytest``.
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings

from complaint_engine.rules import WorkingCalendar

settings.register_profile("ci", derandomize=True, max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, tz: ZoneInfo = SHANGHAI) -> dt.datetime:
    """An aware instant in Asia/Shanghai unless another zone is given."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=tz)


@pytest.fixture(scope="session")
def cn() -> WorkingCalendar:
    return WorkingCalendar.for_region("CN")


@pytest.fixture(scope="session")
def cn_office_hours() -> WorkingCalendar:
    return WorkingCalendar.for_region("CN", business_hours=[("09:00", "12:00"), ("13:30", "18:00")])
