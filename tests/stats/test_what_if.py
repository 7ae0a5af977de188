"""What-if replay (#19): every clock recomputed under another policy from the recorded instants."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import CALLBACK, GM, MANAGER, MONDAY, RECEPTION, TECH, at
from tests.storage.conftest import BACKENDS, make_repository

import complaint_engine as ce
from complaint_engine.levels import Condition, ServiceLevel
from complaint_engine.rules import ClockHours, WorkingDays
from complaint_engine.stats import ComplaintFrame, what_if
from complaint_engine.stats.replay import FRAME_CLOCKS

# the policy in force: service levels that tighten major complaints and quicken noise, so escalations matter
IN_FORCE = attrs.evolve(ce.Policy.default(), name="in force", service_levels=(
    ServiceLevel(name="major", when=Condition(severity="major"), rules={"reply": ClockHours(24)}),
    ServiceLevel(name="noise", when=Condition(category="noise"), rules={"reply": ClockHours(30),
                                                                         "start": ClockHours(2)}),
))
# the procedure's path; each step may be skipped, and a verb the lifecycle refuses changes nothing
PATH = ("register", "dispatch", "escalate", "decide", "work", "pause", "resume", "sweep", "pause", "resume",
        "resolve", "reply", "callback", "work", "resolve", "reply", "callback", "close")


def _walk(desk: ce.ComplaintDesk, clock: ce.FixedClock, data: st.DataObject) -> None:
    """A few complaints taken along the procedure, steps skipped or taken at random gaps (minutes to days),
    escalated, paused, reopened by a dissatisfied owner, swept."""
    for _ in range(data.draw(st.integers(1, 3))):
        category = data.draw(st.sampled_from(["noise", "repair", "fees"]))
        c = desk.receive(by=RECEPTION, owner="o", unit="3-1201", channel="phone", category=category, summary="s",
                         urgency=data.draw(st.sampled_from(["minor", "emergency"])) if category == "repair" else None)
        for step in PATH:
            if not data.draw(st.integers(0, 4)):  # one step in five is skipped
                continue
            clock.advance(minutes=data.draw(st.sampled_from([1, 30, 4 * 60, 20 * 60, 50 * 60, 4 * 24 * 60])))
            with contextlib.suppress(ce.ComplaintEngineError):
                _step(desk, c, step, data)


def _step(desk: ce.ComplaintDesk, c: ce.Complaint, step: str, data: st.DataObject) -> None:
    cid = c.id
    if step == "register":
        desk.register(cid, by=RECEPTION)
    elif step == "dispatch":
        desk.dispatch(cid, by=RECEPTION, assignee=TECH.id)
    elif step == "escalate":
        desk.escalate(cid, by=MANAGER, reason="r")
    elif step == "decide":
        desk.decide(cid, by=GM, decision="d")
    elif step == "work":
        desk.record_arrival(cid, by=TECH) if c.is_repair else desk.start(cid, by=MANAGER)
    elif step == "pause":
        desk.pause(cid, by=TECH, reason="r")
    elif step == "resume":
        desk.resume(cid, by=TECH)
    elif step == "resolve":
        desk.resolve(cid, by=MANAGER, result="done")
    elif step == "reply":
        desk.reply(cid, by=RECEPTION)
    elif step == "callback":
        desk.record_callback(cid, by=CALLBACK, method="phone",
                             satisfaction=data.draw(st.sampled_from(["satisfied", "dissatisfied"])))
    elif step == "close":
        desk.close(cid, by=CALLBACK)
    else:
        desk.sweep()


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_replaying_under_the_policy_in_force_gives_exactly_the_recorded_breaches(backend: str, tmp_path: Path,
                                                                                 data: st.DataObject) -> None:
    repo = make_repository(backend, tmp_path)
    try:
        clock = ce.FixedClock(MONDAY + dt.timedelta(minutes=data.draw(st.integers(0, 60 * 24 * 300))))
        desk = ce.ComplaintDesk(policy=IN_FORCE, repository=repo, clock=clock)  # type: ignore[arg-type]
        _walk(desk, clock, data)
        as_of = clock.now() + dt.timedelta(minutes=data.draw(st.integers(0, 5 * 24 * 60)))
        result = what_if(repo, IN_FORCE, as_of=as_of)
        for name, c in result.clocks.items():
            assert (name, c.newly_breached, c.no_longer_breached) == (name, (), ())
            assert c.recorded == c.replayed
        assert result.kpis_recorded.to_dict() == result.kpis_replayed.to_dict()
        # the frame replays the clocks that start at receipt, in bulk, the same way — for clocks never paused
        complaints = repo.find()  # type: ignore[attr-defined]
        never_paused = [c for c in complaints if not any(d.pauses or d.paused_at for d in
                                                         (*c.deadlines.values(), *c.past_deadlines))]
        by_frame = what_if(ComplaintFrame.from_complaints(never_paused), IN_FORCE, as_of=as_of)
        for name in FRAME_CLOCKS:
            if name in by_frame.clocks:
                assert by_frame.clocks[name].newly_breached == ()
                assert by_frame.clocks[name].no_longer_breached == ()
    finally:
        repo.close()  # type: ignore[attr-defined]


THREE_DAYS = attrs.evolve(ce.Policy.default(), name="3 working days",
                          limits=attrs.evolve(ce.Policy.default().limits, reply=WorkingDays(3)))


def _half_year() -> ce.ComplaintDesk:
    """Complaints replied to after 1, 2 and 3 working days, in three departments, under 3 working days."""
    clock = ce.FixedClock(at(2024, 3, 4, 9))  # a Monday
    desk = ce.ComplaintDesk(clock=clock, policy=THREE_DAYS)
    for category, days in (("noise", 1), ("noise", 2), ("fees", 3), ("fees", 2), ("cleaning", 1)):
        clock.set(at(2024, 3, 4, 9))
        c = desk.receive(by=RECEPTION, owner="o", unit="3-1201", channel="phone", category=category, summary="s")
        desk.register(c.id, by=RECEPTION)
        desk.dispatch(c.id, by=RECEPTION, assignee=TECH.id)
        desk.start(c.id, by=MANAGER)
        clock.set(at(2024, 3, 4 + days, 15))  # on the n-th working day after receipt
        desk.resolve(c.id, by=MANAGER, result="done")
        desk.reply(c.id, by=RECEPTION)
    return desk


def test_two_working_days_instead_of_three_breaches_the_replies_of_the_third_day() -> None:
    desk = _half_year()
    two = attrs.evolve(desk.policy, name="2 working days", limits=attrs.evolve(desk.policy.limits,
                                                                               reply=WorkingDays(2)))
    result = what_if(desk, two, period="2024H1")
    reply = result.clocks["reply"]
    assert (reply.recorded, reply.replayed) == (0, 1)
    [third_day] = [c.id for c in desk.find() if any(t.event == "reply" and t.at.day == 7 for t in c.history)]
    assert reply.newly_breached == (third_day,)  # the one replied on the third working day
    assert reply.no_longer_breached == ()
    assert reply.by_department == {"finance": (0, 1)}
    assert result.kpis_recorded["replied_on_time"].value.rate == 1.0
    assert result.kpis_replayed["replied_on_time"].value.rate == pytest.approx(0.8)
    text = result.to_markdown("en")
    assert "| Reply | 0 | 1 | 1 | 0 |" in text
    assert "| Finance | 0 | 1 |" in text
    assert "<table>" in result._repr_html_()
    # the same from the frame: the reply clock starts at receipt
    by_frame = what_if(ComplaintFrame.from_complaints(desk.find()), two, period="2024H1")
    assert by_frame.clocks["reply"].newly_breached == (third_day,)


def test_a_looser_policy_lifts_breaches_and_a_clock_switched_off_breaches_nothing() -> None:
    desk = _half_year()
    hours = attrs.evolve(desk.policy, limits=attrs.evolve(desk.policy.limits, reply=ClockHours(30)))
    tight = what_if(desk, hours)
    assert tight.clocks["reply"].replayed == 3  # the replies of the first working day came within 30 hours
    off = attrs.evolve(desk.policy, limits=attrs.evolve(desk.policy.limits, reply=WorkingDays(1), start=None))
    replayed = what_if(desk, off)
    assert "start" not in replayed.clocks or replayed.clocks["start"].replayed == 0


def test_bad_input_is_refused_and_an_empty_period_is_an_empty_result() -> None:
    desk = _half_year()
    with pytest.raises(ce.ValidationError, match="source"):
        what_if(object(), desk.policy)
    with pytest.raises(ce.ValidationError, match="policy"):
        what_if(desk, "new.toml")  # type: ignore[arg-type]
    with pytest.raises(ce.ValidationError, match="period"):
        what_if(desk, desk.policy, period="2024H3")
    empty = what_if(desk, desk.policy, period="2023")
    assert empty.complaints == 0
    assert dict(empty.clocks) == {}
    assert "2023" in empty.to_markdown("en")


def test_a_pause_begun_after_the_due_instant_stays_a_breach_when_replayed() -> None:
    """The reply is due at the end of Friday; work pauses on Saturday (already late) until Tuesday, which moves
    the due to the end of Tuesday; the reply on Tuesday is within it — and still breached, as recorded."""
    clock = ce.FixedClock(at(2024, 3, 5, 9))  # Tuesday: three working days end on Friday
    desk = ce.ComplaintDesk(clock=clock, policy=THREE_DAYS)
    c = desk.receive(by=RECEPTION, owner="o", unit="3-1201", channel="phone", category="fees", summary="s")
    desk.register(c.id, by=RECEPTION)
    desk.dispatch(c.id, by=RECEPTION, assignee=TECH.id)
    desk.start(c.id, by=MANAGER)
    clock.set(at(2024, 3, 9, 10))  # Saturday: after the due
    desk.pause(c.id, by=TECH, reason="parts")
    clock.set(at(2024, 3, 12, 10))  # Tuesday
    desk.resume(c.id, by=TECH)
    desk.resolve(c.id, by=MANAGER, result="done")
    replied = desk.reply(c.id, by=RECEPTION)
    reply = replied.deadlines.get("reply") or replied.past_deadlines[0]
    assert reply.breached
    assert reply.met_at is not None
    assert reply.met_at < reply.due  # met within the moved due: the breach is the late pause's
    result = what_if(desk, THREE_DAYS, as_of=at(2024, 3, 20, 9))
    assert (result.clocks["reply"].recorded, result.clocks["reply"].replayed) == (1, 1)
    assert result.clocks["reply"].no_longer_breached == ()
