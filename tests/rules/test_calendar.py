"""WorkingCalendar: the official calendar as data, scalar and bulk, overrides and provisional years."""

from __future__ import annotations

import datetime as dt

import holidays
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import at

from complaint_engine import CalendarError, ValidationError, read_calendar_notice
from complaint_engine.rules import (
    ProvisionalCalendarError,
    ProvisionalCalendarWarning,
    WorkingCalendar,
    WorkingDays,
)
from complaint_engine.settings import calendar_notice_from_dict

D = dt.date
days_2020_2026 = st.dates(min_value=D(2020, 1, 1), max_value=D(2026, 11, 30))
steps = st.integers(min_value=1, max_value=30)


def test_add_working_days_matches_python_holidays_for_every_start_2020_2026(cn: WorkingCalendar) -> None:
    reference = holidays.country_holidays("CN", years=range(2020, 2028))
    start, disagreements, checked = D(2020, 1, 1), [], 0
    while start <= D(2026, 12, 31):
        for n in range(1, 11):
            expected = reference.get_nth_working_day(start, n)
            if expected.year > 2026:  # beyond the published data: provisional, checked separately
                continue
            checked += 1
            if cn.add_working_days(start, n) != expected:
                disagreements.append((start, n))
        start += dt.timedelta(days=1)
    assert checked > 25_000
    assert disagreements == []


def test_bulk_add_working_days_matches_the_exhaustive_scalar_answers(cn: WorkingCalendar) -> None:
    starts = np.arange("2020-01-01", "2026-12-01", dtype="datetime64[D]")
    for n in range(1, 11):
        bulk = cn.add_working_days(starts, n)
        scalar = [cn.add_working_days(d.item(), n) for d in starts[::37]]
        assert [d.item() for d in bulk[::37]] == scalar


def test_make_up_saturday_is_a_working_day_and_the_holiday_week_is_not(cn: WorkingCalendar) -> None:
    assert cn.is_working_day(D(2024, 10, 12))  # Saturday declared a working day (调休)
    assert cn.is_working_day(D(2024, 9, 29))  # Sunday declared a working day
    assert not any(cn.is_working_day(D(2024, 10, d)) for d in range(1, 8))  # National Day week
    assert not cn.is_working_day(D(2024, 10, 13))  # ordinary Sunday
    assert cn.is_working_day(D(2024, 10, 8))


def test_first_working_day_after_national_day_week(cn: WorkingCalendar) -> None:
    assert cn.add_working_days(D(2024, 9, 30), 1) == D(2024, 10, 8)
    assert cn.add_working_days(D(2024, 10, 11), 1) == D(2024, 10, 12)  # Friday → make-up Saturday


def test_working_days_between_counts_the_half_open_interval(cn: WorkingCalendar) -> None:
    assert cn.working_days_between(D(2024, 9, 30), D(2024, 10, 8)) == 1
    assert cn.working_days_between(D(2024, 10, 8), D(2024, 10, 8)) == 0
    assert cn.working_days_between(D(2024, 10, 8), D(2024, 9, 30)) == -1


@given(days_2020_2026, steps)
def test_result_is_a_working_day_after_the_start(cn: WorkingCalendar, start: dt.date, n: int) -> None:
    end = cn.add_working_days(start, n)
    assert end > start
    assert cn.is_working_day(end)


@given(days_2020_2026, steps)
def test_working_days_between_inverts_add_working_days(cn: WorkingCalendar, start: dt.date, n: int) -> None:
    assert cn.working_days_between(start, cn.add_working_days(start, n)) == n


@given(days_2020_2026, days_2020_2026, steps, steps)
def test_add_working_days_is_monotone_in_start_and_n(cn: WorkingCalendar, a: dt.date, b: dt.date,
                                                     n: int, m: int) -> None:
    a, b = min(a, b), max(a, b)
    n, m = min(n, m), max(n, m)
    assert cn.add_working_days(a, n) <= cn.add_working_days(b, n)
    assert cn.add_working_days(a, n) <= cn.add_working_days(a, m)


@given(st.lists(st.tuples(days_2020_2026, steps), min_size=1, max_size=40))
def test_bulk_equals_scalar_with_n_as_an_array(cn: WorkingCalendar, pairs: list[tuple[dt.date, int]]) -> None:
    starts = np.array([p[0] for p in pairs], dtype="datetime64[D]")
    ns = np.array([p[1] for p in pairs])
    bulk = cn.add_working_days(starts, ns)
    assert [d.item() for d in bulk] == [cn.add_working_days(d, n) for d, n in pairs]
    between = cn.working_days_between(starts, bulk)
    assert between.tolist() == ns.tolist()


def test_company_overrides_add_days_off_and_days_on() -> None:
    cal = WorkingCalendar.for_region("CN", extra_holidays=[D(2024, 6, 3)], extra_workdays=["2024-06-08"])
    assert not cal.is_working_day(D(2024, 6, 3))
    assert cal.is_working_day(D(2024, 6, 8))


def test_next_years_notice_loads_from_toml_and_replaces_rule_made_days(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "cn-2027.toml"
    path.write_text(
        'published_through = 2027\n'
        '[notice.2027]\n'
        'holidays = ["2027-01-01", "2027-02-06", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11", '
        '"2027-02-12"]\n'
        'workdays = ["2027-02-20"]\n'
        '[company]\n'
        'holidays = ["2027-03-08"]\n',
        encoding="utf-8",
    )
    cal = WorkingCalendar.for_region("CN", notice=read_calendar_notice(path))
    assert cal.published_through == 2027
    assert not cal.is_provisional(D(2027, 6, 1))
    assert cal.is_working_day(D(2027, 2, 20))  # make-up Saturday from the notice
    assert not cal.is_working_day(D(2027, 2, 12))
    assert not cal.is_working_day(D(2027, 3, 8))  # company day off
    # python-holidays' rule-made "observed" day 2027-10-04 is replaced by the notice: a working Monday
    assert cal.is_working_day(D(2027, 10, 4))
    assert not WorkingCalendar.for_region("CN").is_working_day(D(2027, 10, 4))


def test_a_malformed_notice_lists_every_problem_with_its_path() -> None:
    with pytest.raises(CalendarError) as err:
        calendar_notice_from_dict({"notice": {"2027": {"holidays": ["2027-13-01", "2026-05-01"], "x": 1}},
                                  "colour": "red"})
    paths = [p for p, _ in err.value.problems]
    assert "$.colour" in paths
    assert "$.notice.2027.holidays[0]" in paths
    assert "$.notice.2027.holidays[1]" in paths
    assert "$.notice.2027.x" in paths


@pytest.mark.parametrize(("data", "path", "fragment"), [
    ({"notice": ["2027"]}, "$.notice", "must be a table of years"),
    ({"notice": {"next": {}}}, "$.notice.next", "'next' is not a year"),
    ({"notice": {"2027": ["2027-01-01"]}}, "$.notice.2027", "must be a table with 'holidays' and 'workdays'"),
    ({"notice": {"2027": {"holidays": "2027-01-01"}}}, "$.notice.2027.holidays", "is not a list of dates"),
    ({"company": ["2027-03-08"]}, "$.company", "must be a table with 'holidays' and 'workdays'"),
    ({"company": {"days": []}}, "$.company.days", "unknown key"),
    ({"published_through": "2027"}, "$.published_through", "'2027' is not a year"),
    ({"published_through": True}, "$.published_through", "True is not a year"),
], ids=["notice not a table", "year not a number", "year not a table", "dates not a list", "company not a table",
        "company key", "published_through text", "published_through bool"])
def test_each_malformed_part_of_a_notice_is_named_by_its_path(data: dict[str, object], path: str,
                                                              fragment: str) -> None:
    with pytest.raises(CalendarError) as err:
        calendar_notice_from_dict(data)
    assert any(p == path and fragment in why for p, why in err.value.problems), err.value.problems


def test_a_notice_takes_real_dates_and_its_last_year_as_published_through() -> None:
    notice = calendar_notice_from_dict({"notice": {"2027": {"holidays": [D(2027, 1, 1)]},
                                                  "2028": {"workdays": ["2028-01-29"]}}})
    assert notice.published_through == 2028
    assert notice.notices[2027] == ((D(2027, 1, 1),), ())


def test_a_notice_file_that_is_not_toml_is_refused(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "bad.toml"
    path.write_text("published_through = = 2027", encoding="utf-8")
    with pytest.raises(CalendarError, match=r"bad\.toml"):
        read_calendar_notice(path)


def test_years_after_the_last_official_notice_are_provisional(cn: WorkingCalendar) -> None:
    assert cn.published_through == 2026
    assert not cn.is_provisional(D(2026, 12, 31))
    assert cn.is_provisional(D(2027, 1, 1))
    with pytest.warns(ProvisionalCalendarWarning, match="2027"):
        WorkingDays(3).due(at(2026, 12, 30, 10), cn)


def test_provisional_deadline_raises_when_asked_to() -> None:
    strict = WorkingCalendar.for_region("CN", on_provisional="raise")
    with pytest.raises(ProvisionalCalendarError, match="2027"):
        WorkingDays(3).due(at(2026, 12, 30, 10), strict)
    assert WorkingDays(1).due(at(2026, 12, 29, 10), strict) == at(2026, 12, 31)


def test_bulk_deadline_in_a_provisional_year_warns(cn: WorkingCalendar) -> None:
    starts = np.array(["2026-06-01T02:00", "2026-12-30T02:00"], dtype="datetime64[us]")
    with pytest.warns(ProvisionalCalendarWarning):
        WorkingDays(3).due_many(starts, cn)


@pytest.mark.parametrize("code", ["HK", "TW", "SG", "US"])
def test_other_regions_build_with_their_own_zone(code: str) -> None:
    cal = WorkingCalendar.for_region(code)
    assert cal.region == code
    assert cal.published_through is None
    assert not cal.is_working_day(D(2024, 1, 1))


def test_subdivision_holidays_apply_only_to_that_subdivision() -> None:
    cesar_chavez_day = D(2025, 3, 31)
    assert not WorkingCalendar.for_region("US", subdivision="CA").is_working_day(cesar_chavez_day)
    assert WorkingCalendar.for_region("US").is_working_day(cesar_chavez_day)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"code": "XX"}, "region code 'XX'"),
        ({"code": "CN", "subdivision": "ZZ"}, "subdivision 'ZZ'"),
        ({"code": "CN", "tz": "Mars/Olympus"}, "tz 'Mars/Olympus'"),
        ({"code": "BR"}, "tz None"),
        ({"code": "CN", "years": (2050, 2000)}, "years (2050, 2000)"),
        ({"code": "CN", "business_hours": [("12:00", "09:00")]}, "does not start before it ends"),
        ({"code": "CN", "business_hours": [("09:00", "12:00"), ("11:00", "13:00")]}, "overlaps"),
        ({"code": "CN", "extra_holidays": ["2024-06-03"], "extra_workdays": ["2024-06-03"]}, "both"),
        ({"code": "CN", "extra_holidays": ["June 3rd"]}, "extra holiday 'June 3rd'"),
        ({"code": "CN", "on_provisional": "shout"}, "on_provisional 'shout'"),
    ],
)
def test_bad_calendar_arguments_name_the_value(kwargs: dict[str, object], fragment: str) -> None:
    code = kwargs.pop("code")
    with pytest.raises(CalendarError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        WorkingCalendar.for_region(code, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "2"])
def test_n_must_be_a_positive_integer(cn: WorkingCalendar, n: object) -> None:
    with pytest.raises(ValidationError, match="n"):
        cn.add_working_days(D(2024, 1, 1), n)  # type: ignore[arg-type]


def test_bulk_n_must_be_positive_integers(cn: WorkingCalendar) -> None:
    starts = np.array(["2024-01-01"], dtype="datetime64[D]")
    with pytest.raises(ValidationError, match="integers >= 1"):
        cn.add_working_days(starts, np.array([0]))
    with pytest.raises(ValidationError, match="integers >= 1"):
        cn.add_working_days(starts, np.array([1.5]))


def test_dates_outside_the_calendar_are_refused_with_the_range(cn: WorkingCalendar) -> None:
    with pytest.raises(CalendarError, match=r"2000-01-01\.\.2050-12-31"):
        cn.is_working_day(D(1999, 12, 31))
    with pytest.raises(CalendarError, match=r"2000-01-01\.\.2050-12-31"):
        cn.add_working_days(np.array(["2051-01-01"], dtype="datetime64[D]"), 1)
    with pytest.raises(CalendarError):
        cn.add_working_days(D(2050, 12, 30), 5)


def test_a_datetime_is_not_a_date(cn: WorkingCalendar) -> None:
    with pytest.raises(CalendarError, match=r"datetime\.date"):
        cn.is_working_day(dt.datetime(2024, 1, 1, 9))  # type: ignore[arg-type]


def test_nat_is_refused_in_bulk(cn: WorkingCalendar) -> None:
    with pytest.raises(CalendarError, match="NaT"):
        cn.add_working_days(np.array(["NaT"], dtype="datetime64[D]"), 1)


def test_identical_calendars_are_built_once() -> None:
    assert WorkingCalendar.for_region("CN") is WorkingCalendar.for_region("CN")
    assert WorkingCalendar.for_region("CN", extra_holidays=["2024-06-03"]) is not WorkingCalendar.for_region("CN")


def test_with_overrides_builds_a_new_calendar_and_keeps_the_old(cn: WorkingCalendar) -> None:
    new = cn.with_overrides(extra_holidays=[D(2024, 6, 3)])
    assert not new.is_working_day(D(2024, 6, 3))
    assert cn.is_working_day(D(2024, 6, 3))


def test_past_the_calendars_last_year_is_a_clear_error_scalar_and_bulk() -> None:
    cal = WorkingCalendar.for_region("CN", years=(2024, 2024))
    assert cal.add_working_days(D(2024, 12, 27), 1) == D(2024, 12, 30)
    with pytest.raises(CalendarError, match=r"5 working days after 2024-12-27.*2024-01-01\.\.2024-12-31.*years="):
        cal.add_working_days(D(2024, 12, 27), 5)
    days = np.array(["2024-06-03", "2024-12-27"], dtype="datetime64[D]")
    assert cal.add_working_days(days, 1).tolist() == [D(2024, 6, 4), D(2024, 12, 30)]
    with pytest.raises(CalendarError, match="beyond the calendar's last year"):
        cal.add_working_days(days, np.array([1, 5]))
    with pytest.raises(CalendarError, match=r"2025, 1, 2.*2024-01-01\.\.2024-12-31"):
        cal.is_working_day(D(2025, 1, 2))
    with pytest.raises(CalendarError, match=r"dates.*int64.*datetime64\[D\] array"):
        cal.add_working_days(np.array([1, 2]), 1)
    with pytest.raises(CalendarError, match="NaT"):
        cal.add_working_days(np.array(["NaT"], dtype="datetime64[D]"), 1)
    with pytest.raises(CalendarError, match=r"n.*0.*integers >= 1"):
        cal.add_working_days(days, 0)
