"""The test kit users build their SLA suites on: its assertions must fail when the rule is broken."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

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


def test_the_plugin_fixtures_are_available(ce_desk: ce.ComplaintDesk, ce_policy: ce.Policy,
                                           ce_clock: ce.FixedClock, ce_scenario: Scenario) -> None:
    assert ce_desk.policy is ce_policy
    assert ce_desk.clock is ce_clock
    assert ce_scenario.desk is ce_desk
    assert ce_clock.now() == dt.datetime(2024, 6, 3, 9, tzinfo=ce_clock.now().tzinfo)


def test_the_plugin_loads_only_where_a_suite_opts_in(tmp_path: Path) -> None:
    """Installing complaint_engine adds nothing to pytest: a suite that does not opt in has no ``ce_`` fixture and
    never imports the plugin; one that opts in gets them."""
    import subprocess
    import sys

    (tmp_path / "test_theirs.py").write_text(
        "import sys\n"
        "def test_nothing_of_ours_loaded(request):\n"
        "    assert 'complaint_engine.pytest_plugin' not in sys.modules\n"
        "    assert 'ce_desk' not in request.fixturenames\n", encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # not this project's options
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)]
    alone = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert alone.returncode == 0, alone.stdout + alone.stderr
    (tmp_path / "test_opted_in.py").write_text(
        "def test_the_desk(ce_desk, ce_scenario):\n    assert ce_scenario.desk is ce_desk\n", encoding="utf-8")
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["complaint_engine.pytest_plugin"]\n', encoding="utf-8")
    opted = subprocess.run([*run, "-k", "the_desk"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert opted.returncode == 0, opted.stdout + opted.stderr


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


def test_the_kit_has_the_steps_of_every_verb_a_rule_may_need() -> None:
    from zoneinfo import ZoneInfo

    sh = ZoneInfo("Asia/Shanghai")

    def on(day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
        return dt.datetime(2024, 6, day, hour, minute, tzinfo=sh)

    s = Scenario().given_a_complaint(received_at=on(3), severity="major")
    s.when_escalated_at(on(3, 10)).then_status("dispatched")
    s.when_paused_at(on(3, 11)).then_clock("reply").is_not_breached()
    s.when_resumed_at(on(3, 12)).when_deferred_at(on(3, 13), until=on(20)).then_status("deferred")
    s.when_evidence_added_at(on(3, 14)).when_investigated_at(on(3, 15)).when_a_duplicate_is_merged_at(on(3, 16))
    s.emits("complaint.duplicate_linked").emits("complaint.evidence_added", kind="photo")
    assert s.complaint.cause == "a worn part"
    moved = Scenario().given_a_complaint(received_at=on(3), category="noise")
    moved.when_transferred_at(on(3, 10), department="engineering").then_clock("reply").owned_by(
        department="engineering")
    moved.when_checked_at(on(10)).then_clock("reply").is_breached()
    moved.when_measure_recorded_at(on(10, 10), clock="reply", person="eng-1").emits(
        "complaint.measure_recorded", clock="reply")
