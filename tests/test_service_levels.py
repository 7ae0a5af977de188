"""Service levels chosen per complaint and per office, and the acknowledge, start and update clocks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import CALLBACK, MANAGER, MONDAY, OTHER_OFFICE, RECEPTION, TECH, Scenario, at

import complaint_engine as ce
from complaint_engine.rules import ClockHours, ClockMinutes, WorkingCalendar, WorkingDays

LEVELS = [
    {"name": "major", "when": {"severity": "major"}, "reply": "24 hours"},
    {"name": "fees", "when": {"category": ["fees", "parking"]}, "reply": "5 working days"},
]


def desk_with(levels: list[dict[str, Any]], **settings: Any) -> Scenario:
    return Scenario(policy=ce.Policy.from_dict({"service_levels": levels, **settings}))


# --- choosing the level -----------------------------------------------------------------------------------------
def test_the_first_matching_level_wins_and_each_clock_records_its_level() -> None:
    s = desk_with(LEVELS)
    fees = s.registered("fees")
    assert fees.deadlines["reply"].service_level == "fees"
    assert fees.deadlines["reply"].rule == WorkingDays(5)
    major_fees = s.registered("fees", severity="major")  # both match: the first listed wins
    assert (major_fees.deadlines["reply"].service_level, major_fees.deadlines["reply"].rule) == ("major",
                                                                                                 ClockHours(24))
    noise = s.registered("noise")
    assert noise.deadlines["reply"].service_level == "default"
    assert noise.deadlines["reply"].rule == s.desk.policy.limits.reply


def test_a_clock_the_winning_level_does_not_set_runs_under_the_default_rule() -> None:
    s = desk_with([{"name": "repairs", "when": {"category": "repair"}, "reply": "1 working days"}])
    c = s.dispatched("repair")
    assert c.deadlines["reply"].service_level == "repairs"
    assert (c.deadlines["arrival"].service_level, c.deadlines["arrival"].rule) == ("default", ClockMinutes(10))


@pytest.mark.parametrize(("when", "matching", "other"), [
    ({"office": "A"}, {}, {"by": OTHER_OFFICE}),
    ({"category": "cleaning"}, {"category": "cleaning"}, {"category": "noise"}),
    ({"severity": "major"}, {"severity": "major"}, {}),
    ({"urgency": "emergency"}, {"category": "repair", "urgency": "emergency"}, {"category": "repair"}),
    ({"channel": ["letter", "fax"]}, {"channel": "fax"}, {"channel": "phone"}),
], ids=["office", "category", "severity", "urgency", "channel"])
def test_every_condition_field_selects(when: dict[str, Any], matching: dict[str, Any], other: dict[str, Any]) -> None:
    s = desk_with([{"name": "picked", "when": when, "reply": "7 working days"}])

    def reply_level(args: dict[str, Any]) -> str:
        args = dict(args)
        by = args.pop("by", RECEPTION)
        base = {"owner": "o", "unit": "u", "channel": "phone", "category": "noise", "summary": "s"}
        c = s.desk.receive(by=by, **{**base, **args})
        return s.desk.register(c.id, by=by).deadlines["reply"].service_level

    assert reply_level(matching) == "picked"
    assert reply_level(other) == "default"


@given(severity=st.sampled_from(["normal", "major"]), category=st.sampled_from(["noise", "fees", "parking"]),
       channel=st.sampled_from(["phone", "letter", "online"]))
def test_the_level_is_the_first_whose_every_field_matches(severity: str, category: str, channel: str) -> None:
    levels = [{"name": "web fees", "when": {"category": "fees", "channel": "online"}, "reply": "1 working days"},
              *LEVELS]
    policy = ce.Policy.from_dict({"service_levels": levels})
    subject = ce.levels.Subject("A", category, ce.Severity(severity), None, ce.Channel(channel))
    expected = ("web fees" if (category, channel) == ("fees", "online") else "major" if severity == "major"
                else "fees" if category in ("fees", "parking") else "default")
    assert policy.rule_for("reply", subject)[1] == expected


def test_service_levels_load_from_toml_and_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "levels.toml"
    path.write_text("""
acknowledge = "30 minutes"

[[service_levels]]
name = "major"
when = { severity = "major" }
reply = "24 hours"

[[service_levels]]
name = "fees"
when = { category = ["fees", "parking"] }
reply = "5 working days"
start = "none"
""", encoding="utf-8")
    policy = ce.Policy.from_toml(path)
    assert [level.name for level in policy.service_levels] == ["major", "fees"]
    assert policy.service_levels[1].rules == {"reply": WorkingDays(5), "start": None}
    assert policy.limits.acknowledge == ClockMinutes(30)
    assert ce.Policy.from_dict(policy.to_dict()) == policy


@pytest.mark.parametrize(("level", "path", "fragment"), [
    ({"name": "x", "when": {"colour": "red"}}, "$.service_levels[0].when.colour", "unknown field"),
    ({"name": "x", "when": {"category": "weather"}}, "$.service_levels[0].when.category", "'weather' is not one of"),
    ({"name": "x", "when": {"severity": "huge"}}, "$.service_levels[0].when.severity", "'huge' is not one of"),
    ({"name": "x", "when": {"channel": "pigeon"}}, "$.service_levels[0].when.channel", "'pigeon' is not one of"),
    ({"name": "x", "when": {"urgency": "soon"}}, "$.service_levels[0].when.urgency", "'soon' is not one of"),
    ({"when": {"severity": "major"}}, "$.service_levels[0].name", "not a level's name"),
    ({"name": "", "when": {"severity": "major"}}, "$.service_levels[0].name", "needs a name"),
    ({"name": "x", "reply": "soon"}, "$.service_levels[0].reply", "deadline rule 'soon'"),
    ({"name": "x", "speed": "fast"}, "$.service_levels[0].speed", "unknown setting"),
    ({"name": "x", "when": {"office": 5}}, "$.service_levels[0].when.office", "not a value or a list"),
], ids=["unknown field", "category", "severity", "channel", "urgency", "no name", "empty name", "rule text",
        "unknown clock", "office not text"])
def test_a_bad_level_is_refused_naming_its_path(level: dict[str, Any], path: str, fragment: str) -> None:
    with pytest.raises(ce.PolicyError) as err:
        ce.Policy.from_dict({"service_levels": [level]})
    assert any(p == path and fragment in why for p, why in err.value.problems), err.value.problems


def test_repeated_names_and_levels_that_can_never_match_are_refused() -> None:
    with pytest.raises(ce.PolicyError) as err:
        ce.Policy.from_dict({"service_levels": [
            {"name": "fees", "when": {"category": ["fees", "parking"]}, "reply": "5 working days"},
            {"name": "fees", "when": {"severity": "major"}, "reply": "1 working days"},
            {"name": "parking", "when": {"category": "parking", "channel": "phone"}, "reply": "2 working days"},
        ]})
    problems = dict(err.value.problems)
    assert "repeated" in problems["$.service_levels[1].name"]
    assert "can never match" in problems["$.service_levels[2].when"]
    assert "'fees'" in problems["$.service_levels[2].when"]


def test_a_refused_policy_loads_nothing() -> None:
    with pytest.raises(ce.PolicyError):
        ce.Policy.from_dict({"service_levels": [*LEVELS, {"name": "x", "when": {"colour": "red"}}]})


# --- escalation -------------------------------------------------------------------------------------------------
def test_escalation_to_major_tightens_running_clocks_from_their_start() -> None:
    s = desk_with(LEVELS)
    c = s.dispatched("noise")
    before = c.deadlines["reply"]
    assert before.due == at(2024, 6, 6)  # the earlier of 2 days and 3 working days
    s.later(hours=1)
    escalated = s.desk.escalate(c.id, by=MANAGER, reason="affects the whole block")
    reply = escalated.deadlines["reply"]
    assert (reply.service_level, reply.rule, reply.started_at) == ("major", ClockHours(24), before.started_at)
    assert reply.due == MONDAY + dt.timedelta(hours=24)


def test_escalation_never_loosens_a_promised_clock() -> None:
    s = desk_with([{"name": "major", "when": {"severity": "major"}, "reply": "10 working days"}])
    c = s.dispatched("noise")
    escalated = s.desk.escalate(c.id, by=MANAGER, reason="needs the owners' committee")
    assert escalated.deadlines["reply"] == c.deadlines["reply"]


# --- offices with their own policy --------------------------------------------------------------------------------
HK = ZoneInfo("Asia/Hong_Kong")


def hk_policy() -> ce.Policy:
    return ce.Policy.from_dict({"calendar": {"region": "HK", "tz": "Asia/Hong_Kong"},
                                "limits": {"reply": "3 working days"}})


def test_each_office_runs_on_its_own_calendar() -> None:
    """A Hong Kong complaint received on Christmas Eve at 17:00 is due at the end of the third Hong Kong working
    day: 25 and 26 December are holidays; python-holidays keeps Hong Kong's weekend to Sundays, so Saturday
    28 December counts — the third working day is Monday 30 December."""
    clock = ce.FixedClock(dt.datetime(2024, 12, 24, 17, tzinfo=HK))
    desk = ce.ComplaintDesk(policy=ce.Policy.default(), office_policies={"H": hk_policy()}, clock=clock)
    duty_hk = ce.Actor("duty-hk", ce.Role.RECEPTION, "H")
    c = desk.register(desk.receive(by=duty_hk, owner="o", unit="u", channel="phone", category="noise",
                                   summary="s").id, by=duty_hk)
    assert c.deadlines["reply"].due == dt.datetime(2024, 12, 31, tzinfo=HK)
    assert desk.policy_for("H").calendar_settings.region == "HK"
    mainland = desk.register(desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise",
                                          summary="s").id, by=RECEPTION)
    assert desk.policy_for("A") is desk.policy
    assert mainland.deadlines["reply"].due == at(2024, 12, 27)  # the mainland: 2 days, Christmas is no holiday


def test_with_only_office_policies_other_offices_are_refused_naming_them() -> None:
    desk = ce.ComplaintDesk(office_policies={"H": hk_policy()}, clock=ce.FixedClock(MONDAY))
    with pytest.raises(ce.ValidationError, match=r"office 'A'.*\['H'\]"):
        desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
    assert desk.find() == []


@pytest.mark.parametrize("office", ["", "  ", 5])
def test_an_office_code_in_office_policies_must_be_text(office: Any) -> None:
    with pytest.raises(ce.ValidationError, match="office in office_policies"):
        ce.ComplaintDesk(office_policies={office: hk_policy()})


@pytest.mark.parametrize(("region", "received", "expected"), [
    # the lunar new year week (8-14 Feb), then 15, 16 and the make-up Saturday 17 February
    ("TW", dt.datetime(2024, 2, 7, 10), dt.datetime(2024, 2, 18)),
    ("SG", dt.datetime(2024, 12, 24, 10), dt.datetime(2024, 12, 31)),  # Christmas, then 26, 27 and 30 December
    # Good Friday, then across the start of summer time (31 March): 1, 2 and 3 April (Easter Monday is England's,
    # not the whole kingdom's: a company in England gives subdivision="ENG")
    ("GB", dt.datetime(2024, 3, 28, 10), dt.datetime(2024, 4, 4)),
], ids=["TW", "SG", "GB"])
def test_calendars_beyond_the_mainland(region: str, received: dt.datetime, expected: dt.datetime) -> None:
    cal = WorkingCalendar.for_region(region)
    start = received.replace(tzinfo=cal.tz)
    assert WorkingDays(3).due(start, cal) == expected.replace(tzinfo=cal.tz)


def test_only_the_mainland_and_taiwan_have_make_up_working_days() -> None:
    import holidays

    for code in ("CN", "TW"):
        assert holidays.country_holidays(code, years=range(2020, 2027)).weekend_workdays
    for code in ("HK", "MO", "SG", "GB", "US", "JP"):
        assert not getattr(holidays.country_holidays(code, years=range(2020, 2027)), "weekend_workdays", set())


# --- the acknowledge, start and update clocks ------------------------------------------------------------------
CLOCKS = {"limits": {"acknowledge": "30 minutes", "start": "1 hours", "update": "2 working days"}}


def test_acknowledge_runs_from_receipt_to_registration_and_is_owned_by_reception() -> None:
    s = Scenario(policy=ce.Policy.from_dict(CLOCKS))
    c = s.received()
    ack = c.deadlines["acknowledge"]
    assert (ack.due, ack.responsible) == (MONDAY + dt.timedelta(minutes=30),
                                          ce.Responsible("customer_service", RECEPTION.id))
    s.later(minutes=45)
    registered = s.desk.register(c.id, by=RECEPTION)
    assert registered.deadlines["acknowledge"].breached
    assert registered.deadlines["acknowledge"].met_at == MONDAY + dt.timedelta(minutes=45)
    referred = s.desk.refer(s.received().id, by=RECEPTION, reason="utility", referred_to="water company")
    assert referred.deadlines["acknowledge"].met_at is not None
    assert not referred.deadlines["acknowledge"].breached


def test_start_runs_from_dispatch_to_remedial_work() -> None:
    s = Scenario(policy=ce.Policy.from_dict(CLOCKS))
    c = s.dispatched()
    assert c.deadlines["start"].responsible == ce.Responsible("security", None)
    s.later(minutes=30)
    assert not s.desk.start(c.id, by=MANAGER).deadlines["start"].breached
    late = s.dispatched("repair")
    s.later(hours=2)
    arrived = s.desk.record_arrival(late.id, by=TECH)
    assert arrived.deadlines["start"].breached
    assert arrived.deadlines["start"].met_at == s.clock.now()


def test_update_runs_while_deferred_and_inform_re_arms_it() -> None:
    s = Scenario(policy=ce.Policy.from_dict(CLOCKS))
    c = s.desk.start(s.dispatched().id, by=MANAGER)
    deferred = s.desk.defer(c.id, by=MANAGER, plan="replace the pump", planned_for=MONDAY + dt.timedelta(days=20))
    first = deferred.deadlines["update"]
    assert first.due == at(2024, 6, 6)  # 2 working days after Monday
    s.later(days=1)
    informed = s.desk.inform(c.id, by=RECEPTION, note="parts ordered", method="sms")
    assert informed.contacts[-1].method is ce.ContactMethod.SMS
    assert informed.deadlines["update"].started_at == s.clock.now()
    assert informed.past_deadlines[-1].met_at == s.clock.now()
    s.later(hours=1)
    resolved = s.desk.resolve(c.id, by=MANAGER, result="pump replaced")
    assert resolved.deadlines["update"].met_at == s.clock.now()


def test_a_reply_past_due_starts_the_update_clock_from_the_reply_due() -> None:
    s = Scenario(policy=ce.Policy.from_dict(CLOCKS))
    c = s.desk.start(s.dispatched().id, by=MANAGER)
    s.clock.set(at(2024, 6, 13))
    s.desk.sweep()
    update = s.desk.get(c.id).deadlines["update"]
    assert update.started_at == c.deadlines["reply"].due
    assert update.breached  # two working days after Thursday 6 June (10 June is the Dragon Boat holiday): 11 June


def test_inform_is_refused_without_a_note_and_on_a_closed_complaint() -> None:
    s = Scenario(policy=ce.Policy.from_dict(CLOCKS))
    c = s.dispatched()
    with pytest.raises(ce.ValidationError, match="note"):
        s.desk.inform(c.id, by=RECEPTION, note="")
    closed = s.desk.close(s.called_back().id, by=CALLBACK)
    with pytest.raises(ce.InvalidTransition, match="inform"):
        s.desk.inform(closed.id, by=RECEPTION, note="all done")


# --- analysis of a store of several offices -----------------------------------------------------------------------
def test_the_analysis_judges_each_complaint_by_its_own_offices_policy() -> None:
    """Office H promises dispatch within 10 minutes and counts only "satisfied"; office A keeps the defaults
    (120 minutes, "basically satisfied" counts too). The same history is on time in A and late in H."""
    from complaint_engine.stats import ComplaintFrame, analyse

    strict = ce.Policy.from_dict({"analysis": {"dispatch_within_minutes": 10},
                                  "callbacks": {"satisfied": ["satisfied"]}})
    clock = ce.FixedClock(MONDAY)
    desk = ce.ComplaintDesk(policy=ce.Policy.default(), office_policies={"H": strict}, clock=clock)
    duty_h = ce.Actor("duty-h", ce.Role.RECEPTION, "H")
    officer_h = ce.Actor("cs-h", ce.Role.CALLBACK_OFFICER, "H")
    manager_h = ce.Actor("mgr-h", ce.Role.DEPARTMENT_MANAGER, "H")
    for duty, manager, officer in ((RECEPTION, MANAGER, CALLBACK), (duty_h, manager_h, officer_h)):
        c = desk.register(desk.receive(by=duty, owner="o", unit="u", channel="phone", category="noise",
                                       summary="s").id, by=duty)
        clock.advance(minutes=30)
        desk.dispatch(c.id, by=duty)
        desk.start(c.id, by=manager)
        desk.resolve(c.id, by=manager, result="done")
        desk.reply(c.id, by=duty)
        desk.record_callback(c.id, by=officer, method="phone", satisfaction="basically_satisfied")
    frame = ComplaintFrame.from_repository(desk.repository)
    judged = analyse(frame, "2024H1", policy=desk.policy, office_policies={"H": strict})
    dispatched = judged.kpis["dispatched_on_time"].value
    assert (dispatched.numerator, dispatched.denominator) == (1, 2)
    assert (judged.kpis["satisfaction"].value.numerator, judged.kpis["satisfaction"].value.denominator) == (1, 2)
    one_policy = analyse(frame, "2024H1", policy=desk.policy)
    assert one_policy.kpis["dispatched_on_time"].value.numerator == 2
    assert one_policy.kpis["satisfaction"].value.numerator == 2
