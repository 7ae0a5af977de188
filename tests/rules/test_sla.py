"""Clocks: running, paused, met, breached; who owned them; bulk overdue (SPEC E-accountability, E-defer)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import at

from complaint_engine import ValidationError
from complaint_engine.rules import (
    ClockMinutes,
    ClockState,
    Deadline,
    EndOfDay,
    Responsible,
    WorkingCalendar,
    WorkingDays,
    breached,
    overdue,
)

OWNER = Responsible(department="engineering", person="tech-07")


def test_a_clock_met_in_time_is_not_breached(cn: WorkingCalendar) -> None:
    clock = Deadline.start("arrival", ClockMinutes(10), at(2024, 6, 3, 10), cn, OWNER)
    met = clock.meet(at(2024, 6, 3, 10, 10))
    assert met.state is ClockState.MET
    assert not met.breached


def test_a_clock_met_one_minute_late_is_breached_and_keeps_its_owner(cn: WorkingCalendar) -> None:
    clock = Deadline.start("arrival", ClockMinutes(10), at(2024, 6, 3, 10), cn, OWNER)
    late = clock.meet(at(2024, 6, 3, 10, 11))
    assert late.breached
    assert late.responsible == OWNER
    assert str(late.responsible) == "engineering/tech-07"


def test_a_running_clock_found_past_due_is_breached(cn: WorkingCalendar) -> None:
    clock = Deadline.start("repair", EndOfDay(), at(2024, 6, 3, 20), cn)
    assert not clock.check(at(2024, 6, 3, 23, 59)).breached
    assert clock.check(at(2024, 6, 4, 0, 1)).breached


def test_pausing_extends_a_working_day_clock_by_the_working_days_paused(cn: WorkingCalendar) -> None:
    clock = Deadline.start("reply", WorkingDays(3), at(2024, 6, 3, 10), cn)  # due Fri 7 June 00:00
    paused = clock.pause(at(2024, 6, 4, 9))
    assert paused.state is ClockState.PAUSED
    resumed = paused.resume(at(2024, 6, 6, 9), cn)  # Tue → Thu: 2 working days stood still
    assert resumed.due == at(2024, 6, 12)  # Mon 10 June is the Dragon Boat Festival
    assert resumed.pauses == ((at(2024, 6, 4, 9), at(2024, 6, 6, 9)),)
    assert resumed.state is ClockState.RUNNING


def test_pausing_a_minute_clock_extends_it_by_wall_time(cn: WorkingCalendar) -> None:
    clock = Deadline.start("arrival", ClockMinutes(10), at(2024, 6, 3, 10), cn)
    resumed = clock.pause(at(2024, 6, 3, 10, 5)).resume(at(2024, 6, 3, 10, 35), cn)
    assert resumed.due == at(2024, 6, 3, 10, 40)


def test_a_paused_clock_does_not_breach_while_paused(cn: WorkingCalendar) -> None:
    clock = Deadline.start("arrival", ClockMinutes(10), at(2024, 6, 3, 10), cn).pause(at(2024, 6, 3, 10, 5))
    assert not clock.check(at(2024, 6, 3, 12)).breached


def test_pause_and_resume_need_the_right_state(cn: WorkingCalendar) -> None:
    clock = Deadline.start("arrival", ClockMinutes(10), at(2024, 6, 3, 10), cn)
    with pytest.raises(ValidationError, match=r"resume.*'running'.*paused"):
        clock.resume(at(2024, 6, 3, 10, 1), cn)
    with pytest.raises(ValidationError, match="pause"):
        clock.pause(at(2024, 6, 3, 10, 1)).pause(at(2024, 6, 3, 10, 2))


def test_promised_deadlines_are_frozen_until_recomputed(cn: WorkingCalendar) -> None:
    clock = Deadline.start("reply", WorkingDays(1), at(2024, 6, 3, 10), cn)
    company = cn.with_overrides(extra_holidays=[dt.date(2024, 6, 4)])
    assert clock.due == at(2024, 6, 5)
    assert clock.recomputed(company).due == at(2024, 6, 6)


def test_bulk_breached_and_overdue() -> None:
    due = np.array(["2024-06-03T10:00", "2024-06-03T10:00", "2024-06-03T10:00", "2024-06-05T00:00"],
                   dtype="datetime64[us]")
    met = np.array(["2024-06-03T09:00", "2024-06-03T11:00", "NaT", "NaT"], dtype="datetime64[us]")
    now = dt.datetime(2024, 6, 4, tzinfo=dt.UTC)
    assert breached(due, met, now).tolist() == [False, True, True, False]
    assert overdue(due, met, now).tolist() == [False, False, True, False]


def test_bulk_refuses_naive_now_and_mismatched_shapes() -> None:
    due = np.array(["2024-06-03T10:00"], dtype="datetime64[us]")
    with pytest.raises(ValidationError, match="timezone-aware"):
        breached(due, due, dt.datetime(2024, 6, 4))
    with pytest.raises(ValidationError, match="shape"):
        breached(due, np.array([], dtype="datetime64[us]"), dt.datetime(2024, 6, 4, tzinfo=dt.UTC))


@given(st.lists(st.tuples(st.integers(0, 10_000), st.one_of(st.none(), st.integers(0, 10_000))), max_size=50),
       st.integers(0, 10_000))
def test_bulk_breached_agrees_with_the_clock_objects(cn: WorkingCalendar,
                                                     rows: list[tuple[int, int | None]], now_min: int) -> None:
    base = at(2024, 6, 3)
    clocks = []
    for due_min, met_min in rows:
        clock = Deadline(name="x", rule=ClockMinutes(1), started_at=base, due=base + dt.timedelta(minutes=due_min))
        if met_min is not None:
            clock = clock.meet(base + dt.timedelta(minutes=met_min))
        clocks.append(clock)
    now = base + dt.timedelta(minutes=now_min)
    expected = [c.check(now).breached for c in clocks]

    def col(values: list[dt.datetime | None]) -> np.ndarray:
        return np.array([np.datetime64("NaT") if v is None else
                         np.datetime64(v.astimezone(dt.UTC).replace(tzinfo=None), "us") for v in values],
                        dtype="datetime64[us]")

    mask = breached(col([c.due for c in clocks]), col([c.met_at for c in clocks]), now)
    assert mask.tolist() == expected
