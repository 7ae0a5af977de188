"""The test kit users build their SLA suites on: its assertions must fail when the rule is broken."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from hypothesis import given, settings
from tests.conftest import MONDAY, at

import complaint_engine as ce
from complaint_engine.testing import Scenario, calendars, complaints, event_sequences


def test_clock_assertions_fail_with_a_message_when_the_rule_does_not_hold() -> None:
    s = Scenario(ce.Policy.estate()).given_a_complaint(received_at=at(2024, 6, 3, 9)).when_replied_at(at(2024, 6, 4))
    with pytest.raises(AssertionError, match=r"reply .* is not breached"):
        s.then_clock("reply").is_breached()
    with pytest.raises(AssertionError, match="not department 'engineering'"):
        s.then_clock("reply").owned_by(department="engineering")
    with pytest.raises(AssertionError, match="is due 2024-06-07"):
        s.then_clock("reply").is_due(at(2024, 6, 6))
    with pytest.raises(AssertionError, match="no 'arrival' clock"):
        s.then_clock("arrival").is_met()
    with pytest.raises(AssertionError, match="status is replied, not closed"):
        s.then_status("closed")


def test_a_major_complaint_is_escalated_and_decided_by_the_policys_role_on_the_way() -> None:
    s = Scenario(ce.Policy.estate()).given_a_complaint(received_at=at(2024, 6, 3, 9), severity="major")
    s.when_replied_at(at(2024, 6, 3, 15))
    assert s.complaint.escalation is not None
    assert s.complaint.escalation.decided_by == "supervisor-1"


def test_checks_chain_from_clock_to_clock_and_steps_fill_in_what_the_procedure_requires() -> None:
    """A repair resolved straight from registration goes through dispatch and the technician's arrival; a
    callback straight after resolution replies first; checks chain clock to clock and back to the status."""
    s = Scenario(ce.Policy.estate()).given_a_complaint(received_at=at(2024, 6, 3, 9), category="repair",
                                                       urgency="minor")
    s.when_resolved_at(at(2024, 6, 3, 9, 5))
    assert [t.event for t in s.complaint.history] == ["receive", "register", "dispatch", "record_arrival", "resolve"]
    s.when_called_back_at(at(2024, 6, 3, 10))  # not replied yet: the kit replies first
    assert [t.event for t in s.complaint.history][-2:] == ["reply", "record_callback"]
    s.then_clock("arrival").is_met().then_clock("reply").is_met().then_status("called_back")
    with pytest.raises(AssertionError, match="status is called_back, not closed"):
        s.then_clock("reply").then_status("closed")


def test_asking_for_the_complaint_before_giving_one_says_how_to_start() -> None:
    with pytest.raises(AssertionError, match=r"no complaint yet: start with given_a_complaint"):
        Scenario().then_status("registered")


def test_the_plugin_fixtures_are_available(desk: ce.ComplaintDesk, policy: ce.Policy,
                                           fixed_clock: ce.FixedClock, scenario: Scenario) -> None:
    assert desk.policy is policy
    assert desk.clock is fixed_clock
    assert scenario.desk is desk
    assert fixed_clock.now() == dt.datetime(2024, 6, 3, 9, tzinfo=fixed_clock.now().tzinfo)


seen: Counter[str] = Counter()


@settings(max_examples=120, deadline=None)
@given(complaints())
def test_the_complaint_strategy_reaches_every_stage(c: ce.Complaint) -> None:
    seen[c.status.value] += 1


def test_the_strategy_reached_every_stage() -> None:
    if not seen:  # run alone: generate here
        test_the_complaint_strategy_reaches_every_stage()
    assert {"referred", "registered", "dispatched", "resolved", "replied", "called_back", "closed"} <= set(seen), seen


@settings(max_examples=20, deadline=None)
@given(calendars(), event_sequences())
def test_calendar_and_event_strategies_make_valid_values(cal: ce.rules.WorkingCalendar,
                                                         events: list[tuple[str, int]]) -> None:
    assert cal.region in {"CN", "HK", "TW", "SG"}
    assert [e for e, _ in events] == ["dispatch", "work", "resolve", "reply", "callback", "close"][:len(events)]


def test_emits_finds_the_complaints_event_and_names_what_it_found_when_it_does_not() -> None:
    s = Scenario().given_a_complaint(category="repair").when_dispatched_at(MONDAY)
    s.when_arrived_at(MONDAY + dt.timedelta(minutes=30))
    s.emits("deadline.breached", clock="arrival").emits("complaint.dispatched", department="engineering")
    with pytest.raises(AssertionError, match=r"no deadline.breached event with \{'clock': 'reply'\}.*'arrival'"):
        s.emits("deadline.breached", clock="reply")
