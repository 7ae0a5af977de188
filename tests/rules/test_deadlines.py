"""Deadline rules: every time limit of SPEC "Time limits", both sides of each boundary."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import SHANGHAI, at

from complaint_engine import ValidationError
from complaint_engine.rules import (
    CalendarDays,
    ClockHours,
    ClockMinutes,
    DeadlineRule,
    Earliest,
    EndOfDay,
    WorkingCalendar,
    WorkingDays,
    WorkingHours,
)


def assert_due(start: dt.datetime, rule: DeadlineRule, expected: dt.datetime, cal: WorkingCalendar) -> None:
    """Scalar and bulk forms agree and give ``expected``."""
    due = rule.due(start, cal)
    assert due == expected, f"{rule.describe()} from {start}: {due} != {expected}"
    assert due.utcoffset() is not None
    starts = np.array([start.astimezone(dt.UTC).replace(tzinfo=None)], dtype="datetime64[us]")
    bulk = rule.due_many(starts, cal)[0]
    assert bulk == np.datetime64(expected.astimezone(dt.UTC).replace(tzinfo=None), "us")


# --- E-reply: a reply time agreed with the owner, at most three working days ------------------------
def test_e_reply_three_working_days_end_at_midnight_after_the_third(cn: WorkingCalendar) -> None:
    assert_due(at(2024, 6, 3, 15), WorkingDays(3), at(2024, 6, 7), cn)  # Mon → end of Thu


def test_e_reply_skips_the_national_day_week(cn: WorkingCalendar) -> None:
    # received Monday 30 September 2024; 1-7 October off; 8, 9, 10 October are the three working days
    assert_due(at(2024, 9, 30, 17), WorkingDays(3), at(2024, 10, 11), cn)


def test_e_reply_counts_a_make_up_saturday(cn: WorkingCalendar) -> None:
    # received Thu 10 Oct 2024: Fri 11, Sat 12 (调休 working day), Mon 14
    assert_due(at(2024, 10, 10, 9), WorkingDays(3), at(2024, 10, 15), cn)


def test_e_reply_receipt_on_a_holiday_counts_from_the_next_working_day(cn: WorkingCalendar) -> None:
    assert_due(at(2024, 10, 3, 9), WorkingDays(1), at(2024, 10, 9), cn)


def test_e_reply_receipt_one_second_before_midnight_is_still_that_day(cn: WorkingCalendar) -> None:
    late = dt.datetime(2024, 6, 3, 23, 59, 59, tzinfo=SHANGHAI)
    assert_due(late, WorkingDays(1), at(2024, 6, 5), cn)
    assert_due(at(2024, 6, 4), WorkingDays(1), at(2024, 6, 6), cn)


# --- P-6.3.4: answered within at most two days (Civil Code counting) ---------------------------------
def test_p_6_3_4_two_days_from_a_weekday(cn: WorkingCalendar) -> None:
    assert_due(at(2024, 6, 3, 10), CalendarDays(2), at(2024, 6, 6), cn)  # Mon → end of Wed


def test_p_6_3_4_last_day_on_a_sunday_moves_to_monday(cn: WorkingCalendar) -> None:
    assert_due(at(2024, 6, 14, 10), CalendarDays(2), at(2024, 6, 18), cn)  # Fri → Sun 16 → Mon 17 June
    # Mon 10 June 2024 is the Dragon Boat Festival: Fri 7 → Sun 9 → Tue 11 June
    assert_due(at(2024, 6, 7, 10), CalendarDays(2), at(2024, 6, 12), cn)


def test_p_6_3_4_last_day_in_the_national_day_week_moves_past_it(cn: WorkingCalendar) -> None:
    assert_due(at(2024, 9, 29, 10), CalendarDays(2), at(2024, 10, 9), cn)  # ends on Tue 8 Oct


def test_p_6_3_4_a_make_up_saturday_ends_the_period(cn: WorkingCalendar) -> None:
    assert_due(at(2024, 10, 10, 10), CalendarDays(2), at(2024, 10, 13), cn)  # Sat 12 Oct is a working day
    assert_due(at(2024, 10, 17, 10), CalendarDays(2), at(2024, 10, 22), cn)  # Sat 19 Oct is not: Mon 21


def test_p_6_3_4_close_of_business_ends_the_last_day_early(cn_office_hours: WorkingCalendar) -> None:
    assert_due(at(2024, 6, 3, 10), CalendarDays(2, close_of_business=True), at(2024, 6, 5, 18),
               cn_office_hours)


def test_close_of_business_needs_business_hours(cn: WorkingCalendar) -> None:
    with pytest.raises(ValidationError, match="business hours"):
        CalendarDays(2, close_of_business=True).due(at(2024, 6, 3, 10), cn)


# --- E-repair-arrive: on site within 10 minutes, day and night -------------------------------------
def test_e_repair_arrive_ten_clock_minutes_even_at_night_on_a_holiday(cn: WorkingCalendar) -> None:
    assert_due(at(2024, 10, 1, 23, 55), ClockMinutes(10), at(2024, 10, 2, 0, 5), cn)


def test_clock_hours_count_wall_time(cn: WorkingCalendar) -> None:
    assert_due(at(2024, 10, 1, 23), ClockHours(2), at(2024, 10, 2, 1), cn)


# --- E-repair-urgent: emergency repairs are not left overnight -------------------------------------
def test_e_repair_urgent_due_at_midnight_of_the_reporting_day(cn: WorkingCalendar) -> None:
    assert_due(at(2024, 10, 1, 8), EndOfDay(), at(2024, 10, 2), cn)
    assert_due(dt.datetime(2024, 10, 1, 23, 59, tzinfo=SHANGHAI), EndOfDay(), at(2024, 10, 2), cn)


def test_e_repair_urgent_grace_for_reports_just_before_midnight(cn: WorkingCalendar) -> None:
    rule = EndOfDay(min_grace=dt.timedelta(hours=2))
    assert_due(at(2024, 10, 1, 23, 30), rule, at(2024, 10, 2, 1, 30), cn)
    assert_due(at(2024, 10, 1, 21, 59), rule, at(2024, 10, 2), cn)


# --- working hours ------------------------------------------------------------------------------------
def test_working_hours_skip_lunch_nights_and_holidays(cn_office_hours: WorkingCalendar) -> None:
    # Mon 30 Sep 2024 16:00: 2 h that day, then 1-7 Oct off, Tue 8 Oct 09:00 + 2 h
    assert_due(at(2024, 9, 30, 16), WorkingHours(4), at(2024, 10, 8, 11), cn_office_hours)
    assert_due(at(2024, 6, 3, 11), WorkingHours(2), at(2024, 6, 3, 14, 30), cn_office_hours)


def test_working_hours_count_a_make_up_saturday(cn_office_hours: WorkingCalendar) -> None:
    assert_due(at(2024, 10, 11, 17), WorkingHours(2), at(2024, 10, 12, 10), cn_office_hours)


def test_working_hours_started_outside_hours_start_at_the_next_opening(cn_office_hours: WorkingCalendar) -> None:
    assert_due(at(2024, 6, 1, 20), WorkingHours(1), at(2024, 6, 3, 10), cn_office_hours)  # Sat night
    assert_due(at(2024, 6, 3, 12, 30), WorkingHours(1), at(2024, 6, 3, 14, 30), cn_office_hours)


def test_working_hours_ending_exactly_at_close_are_due_at_close(cn_office_hours: WorkingCalendar) -> None:
    assert_due(at(2024, 6, 3, 17), WorkingHours(1), at(2024, 6, 3, 18), cn_office_hours)


# --- Earliest: a policy enforcing part 1 and parts 2-3 at once -------------------------------------
def test_earliest_takes_the_strictest_rule(cn: WorkingCalendar) -> None:
    rule = Earliest(CalendarDays(2), WorkingDays(3))
    assert_due(at(2024, 6, 3, 10), rule, at(2024, 6, 6), cn)  # 2 days wins
    assert_due(at(2024, 9, 29, 10), rule, at(2024, 10, 9), cn)  # both land after the holiday week


def test_earliest_needs_rules() -> None:
    with pytest.raises(ValidationError, match="rules"):
        Earliest()
    with pytest.raises(ValidationError, match="rules"):
        Earliest("3 days")  # type: ignore[arg-type]


# --- time zones --------------------------------------------------------------------------------------
def test_a_dst_calendar_gives_local_midnights_across_the_change() -> None:
    ny = ZoneInfo("America/New_York")
    us = WorkingCalendar.for_region("US")
    # Fri 8 March 2024; DST starts Sun 10 March; the 1st working day after is Mon 11 March
    due = WorkingDays(1).due(dt.datetime(2024, 3, 8, 12, tzinfo=ny), us)
    assert due == dt.datetime(2024, 3, 12, tzinfo=ny)
    assert due.utcoffset() == dt.timedelta(hours=-4)
    assert_due(dt.datetime(2024, 11, 2, 12, tzinfo=ny), EndOfDay(), dt.datetime(2024, 11, 3, tzinfo=ny), us)


def test_instants_in_another_zone_are_judged_on_the_calendars_local_day(cn: WorkingCalendar) -> None:
    # 17:00 UTC on Sunday 2 June is 01:00 Monday 3 June in Shanghai
    start = dt.datetime(2024, 6, 2, 17, tzinfo=dt.UTC)
    assert_due(start, WorkingDays(1), at(2024, 6, 5), cn)


# --- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", [WorkingDays(1), CalendarDays(1), ClockMinutes(1), EndOfDay(), WorkingHours(1)])
def test_naive_datetimes_are_refused(rule: DeadlineRule, cn_office_hours: WorkingCalendar) -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        rule.due(dt.datetime(2024, 6, 3, 10), cn_office_hours)


@pytest.mark.parametrize("cls", [WorkingDays, CalendarDays, ClockMinutes, ClockHours, WorkingHours])
@pytest.mark.parametrize("n", [0, -3, 2.5, True, "3", 10**11])
def test_rule_sizes_must_be_positive_integers_of_at_most_about_ten_years(cls: type, n: object) -> None:
    with pytest.raises(ValidationError, match=rf"n {n!r}.* an integer in 1\.\.{cls.max_n}"):
        cls(n)
    assert cls(cls.max_n).n == cls.max_n


def test_grace_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="min_grace"):
        EndOfDay(min_grace=dt.timedelta(0))


def test_bulk_refuses_nat_and_non_datetimes(cn: WorkingCalendar) -> None:
    with pytest.raises(ValidationError, match="NaT"):
        WorkingDays(1).due_many(np.array(["NaT"], dtype="datetime64[us]"), cn)
    with pytest.raises(ValidationError, match="datetime64"):
        WorkingDays(1).due_many(np.array([1, 2]), cn)


# --- properties ----------------------------------------------------------------------------------
instants = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2026, 11, 30),
                        timezones=st.just(SHANGHAI))
simple_rules = st.one_of(
    st.builds(WorkingDays, st.integers(1, 10)),
    st.builds(CalendarDays, st.integers(1, 10)),
    st.builds(ClockMinutes, st.integers(1, 600)),
    st.builds(EndOfDay),
)
# Earliest of day-based rules is memoized per local day; of mixed rules it is not: both paths are drawn
rules = st.one_of(simple_rules, st.lists(simple_rules, min_size=1, max_size=3).map(lambda rs: Earliest(*rs)))


@given(rules, st.lists(instants, min_size=1, max_size=30))
def test_bulk_due_equals_scalar_due(cn: WorkingCalendar, rule: DeadlineRule, starts: list[dt.datetime]) -> None:
    arr = np.array([s.astimezone(dt.UTC).replace(tzinfo=None) for s in starts], dtype="datetime64[us]")
    bulk = rule.due_many(arr, cn)
    scalar = [rule.due(s, cn).astimezone(dt.UTC).replace(tzinfo=None) for s in starts]
    assert bulk.tolist() == scalar


@given(rules, instants, instants)
def test_due_is_after_the_start_and_monotone(cn: WorkingCalendar, rule: DeadlineRule,
                                             a: dt.datetime, b: dt.datetime) -> None:
    a, b = min(a, b), max(a, b)
    assert rule.due(a, cn) > a
    assert rule.due(a, cn) <= rule.due(b, cn)
    if isinstance(rule, Earliest):  # the memoized answer equals the minimum of the parts, at any time of day
        for start in (a, a.replace(hour=23, minute=59), a.replace(hour=0, minute=0)):
            assert rule.due(start, cn) == min(r.due(start, cn) for r in rule.rules)


@given(st.integers(1, 10), instants)
def test_working_day_deadlines_end_at_a_local_midnight_after_a_working_day(cn: WorkingCalendar, n: int,
                                                                            start: dt.datetime) -> None:
    due = WorkingDays(n).due(start, cn)
    assert due.time() == dt.time(0)
    last_day = due.date() - dt.timedelta(days=1)
    assert cn.is_working_day(last_day)
    assert cn.working_days_between(start.date(), last_day) == n


@given(st.integers(1, 10), instants)
def test_calendar_day_deadlines_end_on_a_working_day_no_earlier_than_n_days(cn: WorkingCalendar, n: int,
                                                                            start: dt.datetime) -> None:
    last_day = CalendarDays(n).due(start, cn).date() - dt.timedelta(days=1)
    assert cn.is_working_day(last_day)
    assert last_day >= start.date() + dt.timedelta(days=n)
    between = [start.date() + dt.timedelta(days=k) for k in range(n, (last_day - start.date()).days)]
    assert not any(cn.is_working_day(d) for d in between)


def test_a_pause_adds_the_business_time_it_covered_to_working_hours(cn_office_hours: WorkingCalendar) -> None:
    # Mon 3 June 11:00 + 2 h is 14:30; paused 11:30-14:00 (30 min before lunch, 30 min after): 15:30
    rule = WorkingHours(2)
    pause = (at(2024, 6, 3, 11, 30), at(2024, 6, 3, 14))
    assert rule.due(at(2024, 6, 3, 11), cn_office_hours, pauses=[pause]) == at(2024, 6, 3, 15, 30)
    overnight = (at(2024, 6, 3, 17), at(2024, 6, 4, 10))  # 1 h Monday, 1 h Tuesday morning
    assert rule.due(at(2024, 6, 3, 11), cn_office_hours, pauses=[overnight]) == at(2024, 6, 3, 16, 30)


@pytest.mark.parametrize("rule", [WorkingDays(3), CalendarDays(2), ClockMinutes(10), EndOfDay(), WorkingHours(2)])
def test_a_pause_that_ends_before_it_starts_is_refused_naming_it(rule: object,
                                                                 cn_office_hours: WorkingCalendar) -> None:
    backwards = (at(2024, 6, 3, 14), at(2024, 6, 3, 11))
    with pytest.raises(ValidationError, match=r"pause.*end is not before its start"):
        rule.due(at(2024, 6, 3, 9), cn_office_hours, pauses=[backwards])  # type: ignore[attr-defined]


@pytest.mark.parametrize(("rule", "text"), [
    (ClockMinutes(1), "1 minute"), (ClockMinutes(10), "10 minutes"), (ClockHours(1), "1 hour"),
    (ClockHours(24), "24 hours"), (WorkingHours(1), "1 working hour"), (WorkingHours(4), "4 working hours"),
    (EndOfDay(), "end of the day"), (EndOfDay(min_grace=dt.timedelta(hours=2)), "end of the day (at least 2:00:00)"),
])
def test_rules_describe_themselves_for_messages(rule: object, text: str) -> None:
    assert rule.describe() == text  # type: ignore[attr-defined]
