"""An example SLA suite, as a property-management company would write it with complaint_engine's test kit.

It uses the pytest plugin's fixtures (``ce_policy``, ``ce_clock``, ``ce_desk``, ``ce_scenario``), the Scenario
helper and the hypothesis strategies. It runs in this project's CI exactly as it would in yours; your suite opts
in to the fixtures with ``pytest_plugins = ["complaint_engine.pytest_plugin"]`` in its top-level conftest.py.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings

import complaint_engine as ce
from complaint_engine.testing import Scenario, complaints, policies

SH = ZoneInfo("Asia/Shanghai")


def on(day: int, hour: int = 9, minute: int = 0, month: int = 6) -> dt.datetime:
    return dt.datetime(2024, month, day, hour, minute, tzinfo=SH)


@pytest.fixture
def ce_policy() -> ce.Policy:
    """Our company: the estate plans' commitments, with minor repairs within 8 hours."""
    return ce.Policy.from_dict({"preset": "estate", "minor_repair": "8 hours"})


def test_a_reply_after_three_working_days_is_breached_and_owned_by_security(ce_scenario: Scenario) -> None:
    (ce_scenario.given_a_complaint(received_at=on(3), category="noise")      # Monday
        .when_replied_at(on(7, 0, 1))                                      # Friday 00:01: a minute late
        .then_clock("reply").is_breached().owned_by(department="security"))


def test_a_reply_within_three_working_days_is_on_time(ce_scenario: Scenario) -> None:
    (ce_scenario.given_a_complaint(received_at=on(3), category="noise")
        .when_replied_at(on(6, 23, 59))
        .then_clock("reply").is_met().is_not_breached())


def test_the_technician_is_on_site_within_ten_minutes(ce_scenario: Scenario) -> None:
    (ce_scenario.given_a_complaint(received_at=on(3), category="repair", urgency="minor")
        .when_dispatched_at(on(3, 9, 5), assignee="technician-1")
        .when_arrived_at(on(3, 9, 16))
        .then_clock("arrival").is_breached().owned_by(department="engineering", person="technician-1"))


def test_our_minor_repairs_take_at_most_eight_hours(ce_scenario: Scenario) -> None:
    (ce_scenario.given_a_complaint(received_at=on(3), category="repair", urgency="minor")
        .then_clock("repair").is_due(on(3, 17)))


def test_emergency_repairs_are_not_left_overnight(ce_scenario: Scenario) -> None:
    (ce_scenario.given_a_complaint(received_at=on(3, 22), category="repair", urgency="emergency")
        .when_checked_at(on(4, 0, 30))
        .then_clock("repair").is_breached())


def test_a_complaint_cannot_close_without_a_callback(ce_scenario: Scenario) -> None:
    ce_scenario.given_a_complaint(received_at=on(3)).when_replied_at(on(3, 15))
    with pytest.raises(ce.InvalidTransition, match="callback"):
        ce_scenario.when_closed_at(on(4))
    ce_scenario.when_called_back_at(on(4)).when_closed_at(on(4)).then_status("closed")


def test_the_fixtures_share_one_clock(ce_desk: ce.ComplaintDesk, ce_clock: ce.FixedClock) -> None:
    ce_clock.advance(hours=1)
    assert ce_desk.clock.now() == ce_clock.now()


@settings(max_examples=25, deadline=None)
@given(complaints())
def test_every_complaint_the_procedure_can_produce_keeps_one_serial(c: ce.Complaint) -> None:
    if c.notice is not None:
        assert c.notice.serial == c.serial == c.document_number
    if c.status is ce.Status.REFERRED:
        assert c.serial is None


@settings(max_examples=15, deadline=None)
@given(policies())
def test_every_policy_round_trips_through_plain_data(p: ce.Policy) -> None:
    assert ce.Policy.from_dict(p.to_dict()) == p
