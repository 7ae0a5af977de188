"""Policy: presets, loading from TOML/dict, every problem reported with its path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import complaint_engine as ce
from complaint_engine import PolicyError
from complaint_engine.rules import (
    CalendarDays,
    ClockHours,
    ClockMinutes,
    Earliest,
    EndOfDay,
    WorkingDays,
    WorkingHours,
)
from complaint_engine.rules.text import parse_rule, rule_text


def test_presets_follow_the_source() -> None:
    proc, estate, default = ce.Policy.procedure(), ce.Policy.estate(), ce.Policy.default()
    assert (proc.limits.reply, proc.escalation_role, proc.callbacks.required) == (
        CalendarDays(2), ce.Role.GENERAL_MANAGER, False)
    assert (estate.limits.reply, estate.escalation_role) == (WorkingDays(3), ce.Role.SUPERVISOR)
    assert (estate.limits.arrival, estate.limits.emergency_repair, estate.callbacks.target) == (
        ClockMinutes(10), EndOfDay(), 1.0)
    assert default.limits.reply == Earliest(CalendarDays(2), WorkingDays(3))
    assert default.escalation_role is ce.Role.GENERAL_MANAGER


def test_default_taxonomy() -> None:
    p = ce.Policy.default()
    assert [c.code for c in p.categories] == ["repair", "noise", "cleaning", "security", "landscaping", "parking",
                                              "fees", "facilities", "staff_attitude", "municipal", "other"]
    assert [d.code for d in p.departments] == ["engineering", "security", "cleaning", "landscaping", "finance",
                                               "customer_service"]
    assert p.category("repair").repair
    assert not p.category("noise").repair
    assert p.category("noise").labels == {"zh-Hant": "噪音", "zh-Hans": "噪音", "en": "Noise"}


def test_a_policy_loads_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("""
preset = "estate"
name = "Harbour View"
reply = "earliest(2 days, 3 working days)"
arrival = "15 minutes"
minor_repair = "none"
callback_attempts = 2
escalation_role = "general_manager"

[permissions]
close = ["callback_officer", "supervisor"]
""", encoding="utf-8")
    p = ce.Policy.from_toml(path)
    assert p.name == "Harbour View"
    assert p.limits.reply == Earliest(CalendarDays(2), WorkingDays(3))
    assert p.limits.arrival == ClockMinutes(15)
    assert p.limits.minor_repair is None
    assert p.callbacks.attempts == 2
    assert p.permissions["close"] == frozenset({ce.Role.CALLBACK_OFFICER, ce.Role.SUPERVISOR})
    assert p.permissions["receive"] == frozenset({ce.Role.RECEPTION})


def test_every_problem_is_reported_with_its_path() -> None:
    with pytest.raises(PolicyError) as err:
        ce.Policy.from_dict({"reply": "soon", "arrival": "10 parsecs", "colour": "red", "preset": "lavish",
                             "escalation_role": "janitor"})
    paths = {p for p, _ in err.value.problems}
    assert {"$.reply", "$.arrival", "$.colour", "$.preset", "$.escalation_role"} <= paths
    assert "janitor" in str(err.value)


def test_inconsistent_values_are_refused_together() -> None:
    with pytest.raises(PolicyError) as err:
        ce.Policy.from_dict({"callback_attempts": 0, "callback_target": 1.5, "serial_format": "{office}-{year}",
                             "reception_department": "front_desk", "language": "fr"})
    paths = {p for p, _ in err.value.problems}
    assert {"$.callback_attempts", "$.callback_target", "$.serial_format", "$.reception_department",
            "$.language"} <= paths


def test_a_category_must_name_a_known_department() -> None:
    with pytest.raises(PolicyError, match=r"categories\[0\]\.department"):
        ce.Policy.from_dict({"categories": [{"code": "x", "department": "nowhere",
                                             "labels": {"zh-Hant": "x", "zh-Hans": "x", "en": "x"}}]})


def test_hostile_policy_files_are_refused_with_a_policy_error(tmp_path: Path) -> None:
    # a device (read without bound it exhausts memory), an oversized file and nesting that overflows the stack
    deep, big, names_zero = tmp_path / "deep.toml", tmp_path / "big.toml", tmp_path / "zero.toml"
    deep.write_text("x = " + "[" * 100_000 + "]" * 100_000, encoding="utf-8")
    big.write_text("# " + "x" * (1 << 21), encoding="utf-8")
    names_zero.write_text('[calendar]\nnotice = "/dev/zero"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match=r"deep\.toml.*nested less deeply"):
        ce.Policy.from_toml(deep)
    with pytest.raises(PolicyError, match=r"big\.toml.*at most 1048576 bytes"):
        ce.Policy.from_toml(big)
    with pytest.raises(PolicyError, match=r"'/dev/zero'.*regular file"):
        ce.Policy.from_toml("/dev/zero")
    with pytest.raises(PolicyError, match=r"\$\.calendar\.notice \(/dev/zero\): '/dev/zero'.*regular file"):
        ce.Policy.from_toml(names_zero)
    with pytest.raises(PolicyError, match="regular file"):
        ce.Policy.from_toml(tmp_path)


@pytest.mark.parametrize(("text", "most"), [("99999999999 minutes", 5_260_320), ("99999999999 hours", 87_672),
                                           ("99999999999 days", 3_653), ("99999999 working days", 2_610),
                                           ("99999999999 working hours", 62_640)])
def test_a_time_limit_of_more_than_ten_years_is_refused_when_the_policy_loads(text: str, most: int) -> None:
    # it used to load and then overflow (a raw OverflowError) at the first registration
    with pytest.raises(PolicyError, match=rf"\$\.limits\.reply.*{text.split()[0]}.*1\.\.{most}"):
        ce.Policy.from_dict({"limits": {"reply": text}})
    assert ce.Policy.from_dict({"limits": {"reply": f"{most} {text.split(maxsplit=1)[1]}"}}).limits.reply is not None


@pytest.mark.parametrize(("setting", "path", "fragment"), [
    ({"targets": {"satisfaction": 1.5}}, "$.analysis.targets.satisfaction", "1.5 is not a share in [0, 1]"),
    ({"targets": {"satisfaction": float("inf")}}, "$.analysis.targets.satisfaction", "inf is not a share"),
    ({"targets": {"satisfaction": float("nan")}}, "$.analysis.targets.satisfaction", "nan is not a share"),
    ({"repeat_window_days": 10**30}, "$.analysis.repeat_window_days", "is not <= 3653"),
    ({"escalate_within_hours": 10**9}, "$.analysis.escalate_within_hours", "is not <= 87672"),
])
def test_huge_or_infinite_analysis_settings_are_refused_with_their_path(
        setting: dict[str, object], path: str, fragment: str) -> None:
    with pytest.raises(PolicyError) as err:
        ce.Policy.from_dict({"analysis": setting})
    assert [(p, m) for p, m in err.value.problems if p == path and fragment in m], err.value.problems


def test_a_policy_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("reply = = 3", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"p\.toml"):
        ce.Policy.from_toml(path)
    with pytest.raises(PolicyError, match="readable"):
        ce.Policy.from_toml(tmp_path / "missing.toml")


@pytest.mark.parametrize("preset", [ce.Policy.default, ce.Policy.procedure, ce.Policy.estate])
def test_to_dict_round_trips(preset: object) -> None:
    p = preset()  # type: ignore[operator]
    assert ce.Policy.from_dict(p.to_dict()) == p


def test_the_calendar_follows_the_policy() -> None:
    p = ce.Policy.from_dict({"region": "HK", "tz": "Asia/Hong_Kong"})
    assert p.calendar().region == "HK"
    assert str(p.calendar().tz) == "Asia/Hong_Kong"


def test_tolerance_is_a_setting() -> None:
    assert ce.Policy.from_dict({"clock_tolerance": 60}).limits.clock_tolerance == dt.timedelta(minutes=1)


simple_rules = st.one_of(
    st.builds(WorkingDays, st.integers(1, 30)), st.builds(CalendarDays, st.integers(1, 30), st.booleans()),
    st.builds(ClockMinutes, st.integers(1, 999)), st.builds(ClockHours, st.integers(1, 999)),
    st.builds(WorkingHours, st.integers(1, 99)),
    st.builds(EndOfDay, st.one_of(st.none(), st.integers(1, 600).map(lambda m: dt.timedelta(minutes=m)))),
)
rules = st.one_of(simple_rules, st.lists(simple_rules, min_size=1, max_size=3).map(lambda rs: Earliest(*rs)))


@given(rules)
def test_rule_text_round_trips(rule: object) -> None:
    assert parse_rule(rule_text(rule)) == rule  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "3", "three days", "0 days", "3 weeks", "earliest()", "2 minutes at close "
                                  "of business", "end of day with 0 minutes grace"])
def test_bad_rule_text_names_the_grammar(text: str) -> None:
    with pytest.raises(ce.ValidationError, match=r"deadline rule|grace|rules"):
        parse_rule(text)


def test_rules_without_a_text_are_refused_naming_them() -> None:
    with pytest.raises(ce.ValidationError, match=r"deadline rule 48"):
        parse_rule(48)  # type: ignore[arg-type]
    with pytest.raises(ce.ValidationError, match=r"end-of-day grace datetime.timedelta\(seconds=90\).*whole minutes"):
        rule_text(EndOfDay(min_grace=dt.timedelta(seconds=90)))
    with pytest.raises(ce.ValidationError, match=r"deadline rule.*one of the rules"):
        rule_text("2 days")  # type: ignore[arg-type]


@pytest.mark.parametrize(("key", "fmt"), [
    ("serial_format", "{year}-{seq:05d}"), ("serial_format", "{office}-{seq:05d}"),
    ("capa_format", "CAPA-{seq:04d}"), ("announcement_format", "ANN-{year}-{seq}"),
])
def test_a_number_format_must_name_the_office_and_the_year(key: str, fmt: str) -> None:
    """P-6.1.3: one sequence per office and year, each from 1 — a format without either repeats numbers."""
    with pytest.raises(PolicyError, match=rf"\$\.{key}.*must name the office and the year") as err:
        ce.Policy.from_dict({key: fmt})
    assert fmt in str(err.value)
    loaded = ce.Policy.from_dict({key: "{year}/{office}/{seq:03d}"})
    assert loaded.to_dict()["numbering"][key] == "{year}/{office}/{seq:03d}"  # type: ignore[index]


_DEFAULT = ce.Policy.default().to_dict()
_NO_ENGLISH = {**_DEFAULT["categories"][0], "labels": {"zh-Hant": "維修", "zh-Hans": "维修"}}


@pytest.mark.parametrize(("setting", "path", "fragment"), [
    ({"on_provisional": "sometimes"}, "$.on_provisional", "'sometimes' is not 'warn', 'raise' or 'ignore'"),
    ({"escalation_role": "reception"}, "$.escalation_role", "'reception' is not 'general_manager' or 'supervisor'"),
    ({"clock_tolerance": -5}, "$.clock_tolerance", "is negative"),
    ({"repeat_window_days": 0}, "$.repeat_window_days", "0 is not >= 1"),
    ({"departments": [*_DEFAULT["departments"], _DEFAULT["departments"][0]]}, "$.departments", "not unique"),
    ({"categories": [*_DEFAULT["categories"], _DEFAULT["categories"][0]]}, "$.categories", "not unique"),
    ({"categories": [_NO_ENGLISH]}, "$.categories[0].labels.en", "missing"),
    ({"permissions": {"fly": ["reception"]}}, "$.permissions.fly", "unknown event"),
    ({"permissions": "reception"}, "$.permissions", "a table of event = [roles]"),
    ({"targets": 0.9}, "$.targets", "a table of kpi = share"),
    ({"categories": "repair"}, "$.categories", "a list"),
    ({"serial_format": "{office}-{year}-{sq}"}, "$.serial_format", "does not format with office, year, seq"),
], ids=lambda value: next(iter(value)) if isinstance(value, dict) else None)
def test_each_bad_setting_is_refused_with_its_path(setting: dict[str, object], path: str, fragment: str) -> None:
    with pytest.raises(PolicyError) as err:
        ce.Policy.from_dict(setting)
    assert any(p == path and fragment in why for p, why in err.value.problems), err.value.problems


def test_a_policys_notice_file_is_read_once_when_the_policy_loads(tmp_path: Path) -> None:
    """Files at the edge: the policy reads its notice file when it is loaded (relative to the policy file), and
    the calendar is built from the object it holds — the file is not read again."""
    notice = tmp_path / "cn-2027.toml"
    notice.write_text('published_through = 2027\n[notice.2027]\nholidays = ["2027-01-01"]\nworkdays = []\n',
                      encoding="utf-8")
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('[calendar]\nnotice = "cn-2027.toml"\n', encoding="utf-8")
    policy = ce.Policy.from_toml(policy_file)
    notice.unlink()
    assert policy.calendar().published_through == 2027
    assert not policy.calendar().is_working_day(dt.date(2027, 1, 1))
    assert ce.Policy.from_dict(policy.to_dict()) == policy  # the notice travels inline as a table


def test_a_calendar_takes_a_notice_object_not_a_path(tmp_path: Path) -> None:
    from complaint_engine.rules import WorkingCalendar

    with pytest.raises(ce.CalendarError, match="a CalendarNotice"):
        WorkingCalendar.for_region("CN", notice=str(tmp_path / "cn.toml"))  # type: ignore[arg-type]


def test_a_policy_groups_its_settings_in_tables(tmp_path: Path) -> None:
    path = tmp_path / "grouped.toml"
    path.write_text("""
preset = "estate"
reply = "2 working days"

[calendar]
region = "HK"
tz = "Asia/Hong_Kong"

[limits]
arrival = "15 minutes"
clock_tolerance = 60

[callbacks]
attempts = 2

[numbering]
serial_format = "{office}/{year}/{seq:04d}"

[analysis]
language = "en"
targets = { satisfaction = 0.9 }
""", encoding="utf-8")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the grouped form raises no deprecation
        p = ce.Policy.from_toml(path)
    assert (p.limits.reply, p.limits.arrival, p.limits.clock_tolerance) == (
        WorkingDays(2), ClockMinutes(15), dt.timedelta(minutes=1))
    assert (p.calendar_settings.region, p.calendar().region, p.callbacks.attempts) == ("HK", "HK", 2)
    assert p.escalation_role is ce.Role.SUPERVISOR  # from the preset
    assert p.analysis.targets["satisfaction"] == 0.9
    assert p.analysis.targets["callback_rate"] == 1.0  # the other targets stay
    data = p.to_dict()
    assert set(data) == {"name", "calendar", "limits", "callbacks", "escalation_role", "permissions", "categories",
                         "departments", "reception_department", "numbering", "closing", "analysis",
                         "service_levels", "warn_at", "warn_at_by_clock"}
    assert ce.Policy.from_dict(data) == p


def test_flat_settings_of_the_first_series_load_with_a_deprecation_naming_their_table() -> None:
    with pytest.warns(DeprecationWarning, match=r"'callback_attempts' → \[callbacks\] attempts"):
        p = ce.Policy.from_dict({"callback_attempts": 2, "reply": "1 working days"})
    assert (p.callbacks.attempts, p.limits.reply) == (2, WorkingDays(1))
    assert p == ce.Policy.from_dict({"callbacks": {"attempts": 2}, "limits": {"reply": "1 working days"}})


def test_problems_in_tables_are_named_by_their_path() -> None:
    with pytest.raises(PolicyError) as err:
        ce.Policy.from_dict({"limits": {"reply": "soon", "speed": 3}, "callbacks": {"attempts": 0},
                             "calendar": "CN"})
    paths = {p for p, _ in err.value.problems}
    assert {"$.limits.reply", "$.limits.speed", "$.callbacks.attempts", "$.calendar"} <= paths


def test_recurrence_min_must_be_a_few_months() -> None:
    with pytest.raises(PolicyError, match=r"\$\.analysis\.recurrence_min.*1 is not between 2 and 120"):
        ce.Policy.from_dict({"analysis": {"recurrence_min": 1}})
    assert ce.Policy.from_dict({"analysis": {"recurrence_min": 6}}).analysis.recurrence_min == 6


def test_a_time_zone_that_does_not_exist_is_refused_when_the_policy_loads() -> None:
    with pytest.raises(ce.PolicyError, match=r"\$\.calendar\.tz: 'Mars/Base' is not an IANA zone"):
        ce.Policy.from_dict({"calendar": {"tz": "Mars/Base"}})
