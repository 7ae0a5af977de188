"""The daily handling of a service centre: transfer, evidence, the cause and the measure for a breach, CAPA
actions one by one, lookups by serial, the letter's own reference."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import CALLBACK, MANAGER, MONDAY, RECEPTION, SUPERVISOR, TECH, Scenario

import complaint_engine as ce
from complaint_engine.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError


def _unchanged(s: Scenario, c: ce.Complaint) -> None:
    assert s.desk.get(c.id) == c


# ------------------------------------------------------------------------------------------- transfer
def test_transfer_moves_the_notice_and_running_clocks_to_the_new_department(s: Scenario) -> None:
    c = s.dispatched("noise")  # the security department's
    assert c.notice is not None
    assert c.notice.department == "security"
    s.later(hours=1)
    moved = s.desk.transfer(c.id, by=RECEPTION, department="engineering", assignee="eng-liu",
                            reason="the noise is the pump room")
    assert moved.serial == c.serial
    assert moved.notice is not None
    assert moved.notice.serial == c.serial
    assert (moved.notice.department, moved.notice.assignee) == ("engineering", "eng-liu")
    [handover] = moved.notice.transfers
    assert (handover.from_department, handover.to_department, handover.to_assignee, handover.by, handover.at) == (
        "security", "engineering", "eng-liu", RECEPTION.id, s.clock.now())
    assert moved.deadlines["reply"].responsible == ce.Responsible("engineering", "eng-liu")
    assert moved.deadlines["reply"].due == c.deadlines["reply"].due  # the clock runs on
    assert moved.status is c.status
    assert moved.history[-1].event == "transfer"


def test_a_clock_that_ran_out_before_the_transfer_stays_with_the_old_department() -> None:
    s = Scenario()
    c = s.dispatched("repair")  # a repair: the arrival clock runs from dispatch
    arrival_due = c.deadlines["arrival"].due
    s.clock.set(arrival_due + dt.timedelta(minutes=5))
    moved = s.desk.transfer(c.id, by=RECEPTION, department="security", reason="misrouted")
    assert moved.deadlines["arrival"].breached
    assert moved.deadlines["arrival"].responsible.department == "engineering"  # it ran out under them
    assert moved.deadlines["reply"].responsible.department == "security"
    # a clock that runs out after the hand-over is the new department's breach
    s.clock.set(moved.deadlines["reply"].due + dt.timedelta(minutes=1))
    late = {item.clock: item.responsible.department for item in s.desk.sweep()}
    assert late["reply"] == "security"
    assert late["arrival"] == "engineering"


def test_transfers_are_all_listed_and_each_emits_an_event(s: Scenario) -> None:
    c = s.dispatched()
    s.desk.transfer(c.id, by=RECEPTION, department="engineering", reason="r1")
    s.desk.transfer(c.id, by=MANAGER, department="cleaning", reason="r2")
    notice = s.desk.get(c.id).notice
    assert notice is not None
    assert [(t.from_department, t.to_department) for t in notice.transfers] == [
        ("security", "engineering"), ("engineering", "cleaning")]
    told = [e for e in s.desk.events() if e.kind == "complaint.transferred"]
    assert [(e.data["from_department"], e.data["department"]) for e in told] == [
        ("security", "engineering"), ("engineering", "cleaning")]
    assert all("reason" not in e.data for e in told)  # free text stays out of events


@pytest.mark.parametrize(("department", "assignee", "message"), [
    ("plumbers", None, r"department.*'plumbers'"),
    ("security", None, r"department.*'security'.*other than the current"),
])
def test_transfer_to_an_unknown_or_the_same_department_is_refused(s: Scenario, department: str,
                                                                   assignee: str | None, message: str) -> None:
    c = s.dispatched()
    with pytest.raises(ValidationError, match=message):
        s.desk.transfer(c.id, by=RECEPTION, department=department, assignee=assignee, reason="r")
    _unchanged(s, c)


def test_transfer_before_dispatch_or_by_a_technician_is_refused(s: Scenario) -> None:
    c = s.registered()
    with pytest.raises(InvalidTransition, match="transfer"):
        s.desk.transfer(c.id, by=RECEPTION, department="engineering", reason="r")
    d = s.dispatched()
    with pytest.raises(PermissionDenied, match="transfer"):
        s.desk.transfer(d.id, by=TECH, department="engineering", reason="r")
    _unchanged(s, c)
    _unchanged(s, d)


# ------------------------------------------------------------------------------------------- evidence
def test_evidence_is_appended_at_any_state_a_closed_record_included(s: Scenario) -> None:
    c = s.called_back()
    closed = s.desk.close(c.id, by=CALLBACK)
    s.later(hours=1)
    added = s.desk.add_evidence(c.id, by=CALLBACK, reference="s3://recordings/cb-0603.mp3", kind="recording",
                                note="callback call")
    assert added.status is ce.Status.CLOSED
    [item] = added.evidence
    assert (item.kind, item.reference, item.by, item.at) == (ce.EvidenceKind.RECORDING,
                                                             "s3://recordings/cb-0603.mp3", CALLBACK.id,
                                                             s.clock.now())
    assert added.history[:-1] == closed.history  # appended; nothing before it changed
    [event] = [e for e in s.desk.events() if e.kind == "complaint.evidence_added"]
    assert event.data["kind"] == "recording"
    assert "s3://" not in str(dict(event.data))


def test_evidence_with_an_empty_reference_or_an_unknown_kind_is_refused(s: Scenario) -> None:
    c = s.registered()
    with pytest.raises(ValidationError, match="reference"):
        s.desk.add_evidence(c.id, by=RECEPTION, reference=" ", kind="photo")
    with pytest.raises(ValidationError, match=r"evidence kind.*'video'.*photo"):
        s.desk.add_evidence(c.id, by=RECEPTION, reference="file://a.mp4", kind="video")
    _unchanged(s, c)


# ------------------------------------------------------------------------------------------- P-5.2, E-accountability
def test_p_5_2_the_cause_is_recorded_without_a_capa(s: Scenario) -> None:
    c = s.dispatched()
    found = s.desk.investigate(c.id, by=MANAGER, cause="the neighbour's party")
    assert found.cause == "the neighbour's party"
    assert found.investigations[0].by == MANAGER.id
    assert s.desk.get(c.id).notice is not None
    assert not s.desk.get(c.id).notice.capa_numbers


def test_e_accountability_a_measure_is_recorded_for_a_breached_clock_only() -> None:
    s = Scenario()
    c = s.dispatched()
    with pytest.raises(ValidationError, match=r"clock.*'reply'.*breached clocks \[\]"):
        s.desk.record_measure(c.id, by=SUPERVISOR, clock="reply", person="sec-wu", measure="warning")
    s.clock.set(c.deadlines["reply"].due + dt.timedelta(hours=1))
    s.desk.sweep()
    done = s.desk.record_measure(c.id, by=SUPERVISOR, clock="reply", person="sec-wu", measure="written warning")
    [m] = done.measures
    assert (m.clock, m.person, m.measure, m.by) == ("reply", "sec-wu", "written warning", SUPERVISOR.id)
    from complaint_engine.stats import ComplaintFrame, Rate, compute_kpis

    def share() -> Rate:
        frame = ComplaintFrame.from_complaints(s.desk.find())
        return compute_kpis(frame, s.desk.policy, s.clock.now()).kpis["breaches_with_measure"].value

    assert share() == Rate(1, 1)
    fresh = s.dispatched()
    assert share() == Rate(1, 1)  # on time so far: not in the denominator
    s.clock.set(fresh.deadlines["reply"].due + dt.timedelta(hours=1))
    s.desk.sweep()
    assert share() == Rate(1, 2)  # a breach nobody answered for
    [event] = [e for e in s.desk.events() if e.kind == "complaint.measure_recorded"]
    assert dict(event.data) == {"source": done.status.value, "target": done.status.value, "clock": "reply"}


# ------------------------------------------------------------------------------------------- CAPA actions
def _planned(s: Scenario) -> ce.CAPAReport:
    c = s.dispatched()
    capa = s.desk.open_capa(by=MANAGER, complaint_ids=[c.id], problem="recurring noise")
    return s.desk.plan_capa(capa.number, by=MANAGER, cause="no quiet hours", actions=[
        ("post the quiet hours", MONDAY + dt.timedelta(days=3), "security"),
        ("patrol at night", MONDAY + dt.timedelta(days=10))])


def test_capa_actions_have_owners_and_are_completed_one_by_one(s: Scenario) -> None:
    report = _planned(s)
    assert [a.owner for a in report.actions] == ["security", MANAGER.id]  # unnamed: the planner owns it
    with pytest.raises(InvalidTransition, match=r"actions not completed yet"):
        s.desk.implement_capa(report.number, by=MANAGER)
    s.later(hours=2)
    one = s.desk.complete_capa_action(report.number, by=MANAGER, action="post the quiet hours")
    assert (one.actions[0].done_at, one.actions[0].done_by, one.actions[1].done_at) == (s.clock.now(), MANAGER.id,
                                                                                        None)
    with pytest.raises(ValidationError, match=r"action.*0.*not completed yet"):
        s.desk.complete_capa_action(report.number, by=MANAGER, action=0)
    with pytest.raises(ValidationError, match=r"action.*'sweep'.*one of the report's actions"):
        s.desk.complete_capa_action(report.number, by=MANAGER, action="sweep")
    with pytest.raises(ValidationError, match=r"action.*5.*a position below 2"):
        s.desk.complete_capa_action(report.number, by=MANAGER, action=5)
    assert s.desk.get_capa(report.number) == one  # the refusals changed nothing
    s.desk.complete_capa_action(report.number, by=MANAGER, action=1)
    assert s.desk.implement_capa(report.number, by=MANAGER).status is ce.CAPAStatus.IMPLEMENTED
    told = [e for e in s.desk.events() if e.kind == "capa.action_completed"]
    assert [(e.data["action"], e.data["owner"]) for e in told] == [(0, "security"), (1, MANAGER.id)]


# ------------------------------------------------------------------------------------------- lookups, references
def test_a_complaint_is_found_by_its_serial(s: Scenario) -> None:
    c = s.registered()
    assert c.serial is not None
    assert s.desk.get(c.serial) == s.desk.get(c.id)
    with pytest.raises(NotFound, match="A-2024-09999"):
        s.desk.get("A-2024-09999")


def test_the_letters_own_reference_is_kept_beside_the_serial(s: Scenario) -> None:
    c = s.received(channel="letter", document_number="LETTER-0603-07")
    registered = s.desk.register(c.id, by=RECEPTION)
    assert registered.document_number == registered.serial  # the serial is written on the document
    assert registered.external_reference == "LETTER-0603-07"  # and its own reference is not lost


def test_a_capa_action_past_its_due_and_not_done_is_overdue_with_its_owner(s: Scenario) -> None:
    report = _planned(s)
    s.desk.complete_capa_action(report.number, by=MANAGER, action=1)
    s.clock.set(MONDAY + dt.timedelta(days=4))
    [item] = [i for i in s.desk.overdue() if i.clock == "capa_action"]
    assert (item.complaint_id, item.action, item.due, item.responsible) == (
        report.number, 0, MONDAY + dt.timedelta(days=3), ce.Responsible(department="security"))
    assert [i for i in s.desk.sweep() if i.clock == "capa_action"] == [item]
    s.desk.complete_capa_action(report.number, by=MANAGER, action=0)  # late, but done: no longer overdue
    assert [i for i in s.desk.overdue() if i.clock == "capa_action"] == []


# ------------------------------------------------------------------------------------------- merge
def test_a_duplicate_is_merged_into_its_master(s: Scenario) -> None:
    master = s.dispatched()
    s.later(minutes=30)
    duplicate = s.received()  # the same owner and unit, the same problem, again
    merged = s.desk.merge(duplicate.id, into=master.id, by=RECEPTION, reason="the same noise, reported twice")
    assert merged.status is ce.Status.MERGED
    assert merged.merged_into == master.id
    assert merged.serial is None  # it had none: the register stays gap-free
    assert all(d.met_at == s.clock.now() and d.stopped_by == "merge" for d in merged.deadlines.values())
    assert s.desk.get(master.id).merged == (duplicate.id,)
    kinds = [e.kind for e in s.desk.events()][-2:]
    assert kinds == ["complaint.merged", "complaint.duplicate_linked"]
    s.later(days=30)
    late = {i.complaint_id for i in s.desk.overdue()}
    assert master.id in late
    assert merged.id not in late


def test_a_registered_duplicate_keeps_its_serial(s: Scenario) -> None:
    master = s.registered()
    duplicate = s.registered()
    merged = s.desk.merge(duplicate.id, into=master.id, by=RECEPTION, reason="twice")
    assert merged.serial == duplicate.serial
    assert merged.status is ce.Status.MERGED


def test_merges_that_would_lose_or_tangle_records_are_refused(s: Scenario) -> None:
    master, duplicate = s.dispatched(), s.received()
    other_owner = s.received(owner="李女士")
    with pytest.raises(ValidationError, match=r"into.*another complaint than the duplicate"):
        s.desk.merge(duplicate.id, into=duplicate.id, by=RECEPTION, reason="r")
    with pytest.raises(ValidationError, match=r"same owner and unit") as refused:
        s.desk.merge(other_owner.id, into=master.id, by=RECEPTION, reason="r")
    assert "李女士" not in str(refused.value)
    assert "陳先生" not in str(refused.value)
    closed = s.desk.close(s.called_back().id, by=CALLBACK)
    with pytest.raises(ValidationError, match=r"an open complaint \(it is closed\)"):
        s.desk.merge(duplicate.id, into=closed.id, by=RECEPTION, reason="r")
    s.desk.merge(duplicate.id, into=master.id, by=RECEPTION, reason="r")
    third = s.received()
    with pytest.raises(ValidationError, match=r"an open complaint \(it is merged\)"):
        s.desk.merge(third.id, into=duplicate.id, by=RECEPTION, reason="r")  # a chain
    with pytest.raises(InvalidTransition, match=r"merged into it"):
        s.desk.merge(master.id, into=third.id, by=RECEPTION, reason="r")  # a master cannot become a duplicate
    with pytest.raises(PermissionDenied):
        s.desk.merge(third.id, into=master.id, by=TECH, reason="r")
    assert s.desk.get(master.id).merged == (duplicate.id,)
    assert s.desk.get(third.id).status is ce.Status.RECEIVED
