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


# --- the desk ------------------------------------------------------------------------------------------
import complaint_engine as ce  # noqa: E402

OFFICE = "A"
RECEPTION = ce.Actor("duty-li", ce.Role.RECEPTION, OFFICE)
MANAGER = ce.Actor("mgr-wang", ce.Role.DEPARTMENT_MANAGER, OFFICE)
TECH = ce.Actor("tech-zhao", ce.Role.TECHNICIAN, OFFICE)
GM = ce.Actor("gm-sun", ce.Role.GENERAL_MANAGER, OFFICE)
SUPERVISOR = ce.Actor("sup-he", ce.Role.SUPERVISOR, OFFICE)
CALLBACK = ce.Actor("cs-chen", ce.Role.CALLBACK_OFFICER, OFFICE)
OTHER_OFFICE = ce.Actor("duty-ma", ce.Role.RECEPTION, "B")
MONDAY = at(2024, 6, 3, 9)  # Monday 3 June 2024, 09:00 Shanghai


class Scenario:
    """A desk on a fixed clock with helpers that read like the procedure."""

    def __init__(self, policy: ce.Policy | None = None, start: dt.datetime = MONDAY) -> None:
        self.clock = ce.FixedClock(start)
        self.desk = ce.ComplaintDesk(policy=policy, clock=self.clock)

    def later(self, **kwargs: float) -> dt.datetime:
        return self.clock.advance(**kwargs)

    def received(self, category: str = "noise", **kwargs: object) -> ce.Complaint:
        args: dict[str, object] = {"owner": "陳先生", "unit": "3-1201", "channel": ce.Channel.PHONE,
                                   "category": category, "summary": "loud music at night"}
        args.update(kwargs)
        return self.desk.receive(by=RECEPTION, **args)  # type: ignore[arg-type]

    def registered(self, category: str = "noise", **kwargs: object) -> ce.Complaint:
        return self.desk.register(self.received(category, **kwargs).id, by=RECEPTION)

    def dispatched(self, category: str = "noise", **kwargs: object) -> ce.Complaint:
        c = self.registered(category, **kwargs)
        self.desk.dispatch(c.id, by=RECEPTION)
        return self.desk.get(c.id)

    def resolved(self, category: str = "noise", **kwargs: object) -> ce.Complaint:
        c = self.dispatched(category, **kwargs)
        if c.is_repair:
            self.desk.record_arrival(c.id, by=TECH)
        else:
            self.desk.start(c.id, by=MANAGER)
        return self.desk.resolve(c.id, by=MANAGER, result="done")

    def replied(self, category: str = "noise", **kwargs: object) -> ce.Complaint:
        return self.desk.reply(self.resolved(category, **kwargs).id, by=RECEPTION)

    def called_back(self, category: str = "noise", **kwargs: object) -> ce.Complaint:
        c = self.replied(category, **kwargs)
        return self.desk.record_callback(c.id, by=CALLBACK, method="phone", satisfaction="satisfied")


@pytest.fixture
def s() -> Scenario:
    return Scenario()
