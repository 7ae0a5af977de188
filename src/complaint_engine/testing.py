"""Helpers for your own test suites: a scenario that reads like the rule it checks, hypothesis strategies,
and (through the pytest plugin) the ``desk``, ``fixed_clock`` and ``policy`` fixtures.

    (Scenario(Policy.estate())
        .given_a_complaint(received_at=monday_9am, category="noise")
        .when_replied_at(friday_9am)
        .then_clock("reply").is_breached().owned_by(department="security"))

The strategies need hypothesis (``pip install hypothesis``); the scenario and the fixtures do not.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from complaint_engine.clock import FixedClock
from complaint_engine.desk import ComplaintDesk
from complaint_engine.model import Actor, CallbackMethod, Complaint, Role, Satisfaction, Status
from complaint_engine.policy import Policy
from complaint_engine.rules.sla import ClockState, Deadline
from complaint_engine.storage.memory import InMemoryRepository

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn, SearchStrategy

    from complaint_engine.rules.calendar import WorkingCalendar
    from complaint_engine.rules.deadlines import DeadlineRule

__all__ = ["ClockCheck", "FixedClock", "Scenario", "actors", "calendars", "complaints", "event_sequences",
           "policies"]

DEFAULT_START = dt.datetime(2024, 6, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def actors(office: str = "A") -> dict[Role, Actor]:
    """One actor per role in ``office``."""
    return {role: Actor(f"{role.value}-1", role, office) for role in Role}


class ClockCheck:
    """Assertions about one clock of the scenario's complaint; each returns itself, so they chain."""

    def __init__(self, scenario: Scenario, name: str) -> None:
        self.scenario = scenario
        self.name = name

    @property
    def deadline(self) -> Deadline:
        c = self.scenario.complaint
        if self.name not in c.deadlines:
            raise AssertionError(f"complaint has no {self.name!r} clock; it has {sorted(c.deadlines)}")
        return c.deadlines[self.name]

    def is_due(self, at: dt.datetime) -> ClockCheck:
        assert self.deadline.due == at, f"{self.name} is due {self.deadline.due.isoformat()}, not {at.isoformat()}"
        return self

    def is_breached(self) -> ClockCheck:
        assert self.deadline.breached, f"{self.name} (due {self.deadline.due.isoformat()}) is not breached"
        return self

    def is_not_breached(self) -> ClockCheck:
        assert not self.deadline.breached, f"{self.name} (due {self.deadline.due.isoformat()}) is breached"
        return self

    def is_met(self) -> ClockCheck:
        assert self.deadline.state is ClockState.MET, f"{self.name} is {self.deadline.state.value}, not met"
        return self

    def owned_by(self, *, department: str | None = None, person: str | None = None) -> ClockCheck:
        owner = self.deadline.responsible
        if department is not None:
            assert owner.department == department, f"{self.name} is owned by {owner}, not department {department!r}"
        if person is not None:
            assert owner.person == person, f"{self.name} is owned by {owner}, not person {person!r}"
        return self

    def then_clock(self, name: str) -> ClockCheck:
        return ClockCheck(self.scenario, name)

    def then_status(self, status: Status | str) -> Scenario:
        return self.scenario.then_status(status)


class Scenario:
    """One complaint driven through a real desk on a fixed clock. Each ``when_…`` step first performs the
    steps the procedure requires before it (register, dispatch, start…), at the same instant."""

    def __init__(self, policy: Policy | None = None, *, office: str = "A", start: dt.datetime = DEFAULT_START,
                 desk: ComplaintDesk | None = None) -> None:
        self.clock = desk.clock if desk is not None and isinstance(desk.clock, FixedClock) else FixedClock(start)
        self.desk = desk or ComplaintDesk(policy=policy or Policy.default(), repository=InMemoryRepository(),
                                          clock=self.clock)
        self.people = actors(office)
        self.decider = self.people[self.desk.policy.escalation_role]
        self._id: str | None = None

    @property
    def complaint(self) -> Complaint:
        if self._id is None:
            raise AssertionError("no complaint yet: start with given_a_complaint(...)")
        return self.desk.get(self._id)

    def _move(self, at: dt.datetime) -> dt.datetime:
        if at > self.clock.now():
            self.clock.set(at)
        return at

    # ------------------------------------------------------------------------------------------ given
    def given_a_complaint(self, *, received_at: dt.datetime | None = None, category: str = "noise",
                          urgency: str | None = None, severity: str = "normal", channel: str = "phone",
                          unit: str = "1-0101", owner: str = "業主", summary: str = "test complaint",
                          register: bool = True) -> Scenario:
        at = self._move(received_at or self.clock.now())
        c = self.desk.receive(by=self.people[Role.RECEPTION], owner=owner, unit=unit, channel=channel,
                              category=category, summary=summary, urgency=urgency, severity=severity, at=at)
        self._id = c.id
        if register:
            self.desk.register(c.id, by=self.people[Role.RECEPTION], at=at)
        return self

    # ------------------------------------------------------------------------------------------ when
    def when_dispatched_at(self, at: dt.datetime, *, department: str | None = None,
                           assignee: str | None = "technician-1", agreed_reply_by: dt.datetime | None = None,
                           ) -> Scenario:
        self._move(at)
        self.desk.dispatch(self.complaint.id, by=self.people[Role.RECEPTION], department=department,
                           assignee=assignee, agreed_reply_by=agreed_reply_by, at=at)
        return self

    def _ensure(self, status: Status, at: dt.datetime) -> None:
        c = self.complaint
        if c.status is Status.REGISTERED:
            self.when_dispatched_at(at)
            c = self.complaint
        if c.status is Status.DISPATCHED and c.severity.value == "major" and c.escalation is None:
            self.desk.escalate(c.id, by=self.people[Role.DEPARTMENT_MANAGER], reason="major", at=at)
            self.desk.decide(c.id, by=self.decider, decision="go ahead", at=at)
            c = self.complaint
        if status in (Status.IN_PROGRESS, Status.RESOLVED) and c.status is Status.DISPATCHED:
            if c.is_repair:
                self.desk.record_arrival(c.id, by=self.people[Role.TECHNICIAN], at=at)
            else:
                self.desk.start(c.id, by=self.people[Role.DEPARTMENT_MANAGER], at=at)
        if status is Status.RESOLVED and self.complaint.status is Status.IN_PROGRESS:
            self.desk.resolve(c.id, by=self.people[Role.DEPARTMENT_MANAGER], result="done", at=at)

    def when_arrived_at(self, at: dt.datetime) -> Scenario:
        self._move(at)
        self._ensure(Status.DISPATCHED, at)
        self.desk.record_arrival(self.complaint.id, by=self.people[Role.TECHNICIAN], at=at)
        return self

    def when_resolved_at(self, at: dt.datetime) -> Scenario:
        self._move(at)
        self._ensure(Status.RESOLVED, at)
        return self

    def when_replied_at(self, at: dt.datetime) -> Scenario:
        self._move(at)
        self._ensure(Status.RESOLVED, at)
        self.desk.reply(self.complaint.id, by=self.people[Role.RECEPTION], at=at)
        return self

    def when_called_back_at(self, at: dt.datetime, *, satisfaction: Satisfaction | str = Satisfaction.SATISFIED,
                            reached: bool = True) -> Scenario:
        self._move(at)
        if self.complaint.status is not Status.REPLIED:
            self.when_replied_at(at)
        self.desk.record_callback(self.complaint.id, by=self.people[Role.CALLBACK_OFFICER],
                                  method=CallbackMethod.PHONE, satisfaction=satisfaction if reached else None,
                                  reached=reached, at=at)
        return self

    def when_closed_at(self, at: dt.datetime) -> Scenario:
        self._move(at)
        self.desk.close(self.complaint.id, by=self.people[Role.CALLBACK_OFFICER], at=at)
        return self

    def when_escalated_at(self, at: dt.datetime, *, reason: str = "needs coordination",
                          decision: str | None = "go ahead") -> Scenario:
        """The complaint escalated (after its dispatch) and, unless ``decision`` is None, decided at ``at``."""
        self._move(at)
        if self.complaint.status is Status.REGISTERED:
            self.when_dispatched_at(at)
        self.desk.escalate(self.complaint.id, by=self.people[Role.DEPARTMENT_MANAGER], reason=reason, at=at)
        if decision is not None:
            self.desk.decide(self.complaint.id, by=self.decider, decision=decision, at=at)
        return self

    def when_paused_at(self, at: dt.datetime, *, reason: str = "the owner is away") -> Scenario:
        """Work started (as the procedure requires) and its clocks paused at ``at``."""
        self._move(at)
        self._ensure(Status.IN_PROGRESS, at)
        self.desk.pause(self.complaint.id, by=self.people[Role.TECHNICIAN], reason=reason, at=at)
        return self

    def when_resumed_at(self, at: dt.datetime) -> Scenario:
        self._move(at)
        self.desk.resume(self.complaint.id, by=self.people[Role.TECHNICIAN], at=at)
        return self

    def when_deferred_at(self, at: dt.datetime, *, until: dt.datetime, plan: str = "parts ordered") -> Scenario:
        """Work started and deferred at ``at`` with a plan for ``until`` (E-defer)."""
        self._move(at)
        self._ensure(Status.IN_PROGRESS, at)
        self.desk.defer(self.complaint.id, by=self.people[Role.DEPARTMENT_MANAGER], plan=plan, planned_for=until,
                        at=at)
        return self

    def when_transferred_at(self, at: dt.datetime, *, department: str, assignee: str | None = None,
                            reason: str = "misrouted") -> Scenario:
        """Dispatched (if not yet) and handed over to ``department`` at ``at``."""
        self._move(at)
        if self.complaint.status is Status.REGISTERED:
            self.when_dispatched_at(at)
        self.desk.transfer(self.complaint.id, by=self.people[Role.RECEPTION], department=department,
                           assignee=assignee, reason=reason, at=at)
        return self

    def when_evidence_added_at(self, at: dt.datetime, *, reference: str = "file://photo.jpg",
                               kind: str = "photo") -> Scenario:
        self._move(at)
        self.desk.add_evidence(self.complaint.id, by=self.people[Role.RECEPTION], reference=reference, kind=kind,
                               at=at)
        return self

    def when_investigated_at(self, at: dt.datetime, *, cause: str = "a worn part") -> Scenario:
        self._move(at)
        self.desk.investigate(self.complaint.id, by=self.people[Role.DEPARTMENT_MANAGER], cause=cause, at=at)
        return self

    def when_measure_recorded_at(self, at: dt.datetime, *, clock: str, person: str,
                                 measure: str = "written warning") -> Scenario:
        """The supervisor records the measure taken for the complaint's breached ``clock`` (E-accountability)."""
        self._move(at)
        self.desk.record_measure(self.complaint.id, by=self.people[Role.SUPERVISOR], clock=clock, person=person,
                                 measure=measure, at=at)
        return self

    def when_a_duplicate_is_merged_at(self, at: dt.datetime) -> Scenario:
        """The same owner reports the same problem again at ``at``; the duplicate is merged into this complaint."""
        self._move(at)
        c = self.complaint
        dup = self.desk.receive(by=self.people[Role.RECEPTION], owner=c.owner, unit=c.unit, channel=c.channel,
                                category=c.category, summary=c.summary, at=at)
        self.desk.merge(dup.id, into=c.id, by=self.people[Role.RECEPTION], reason="reported twice", at=at)
        return self

    def when_checked_at(self, at: dt.datetime) -> Scenario:
        """The overdue sweep runs at ``at``: running clocks past due become breached."""
        self._move(at)
        self.desk.sweep(at)
        return self

    # ------------------------------------------------------------------------------------------ then
    def then_clock(self, name: str) -> ClockCheck:
        return ClockCheck(self, name)

    def emits(self, kind: str, /, **data: object) -> Scenario:
        """The desk recorded an event of ``kind`` for this complaint whose data has every given value
        (``emits("deadline.breached", clock="arrival")``)."""
        found = [e for e in self.desk.events(kinds=[kind]) if e.complaint_id == self.complaint.id]
        matching = [e for e in found if all(e.data.get(k) == v for k, v in data.items())]
        assert matching, (f"no {kind} event with {data} for the complaint; its {kind} events: "
                          f"{[dict(e.data) for e in found]}")
        return self

    def then_status(self, status: Status | str) -> Scenario:
        expected = status if isinstance(status, Status) else Status(status)
        assert self.complaint.status is expected, f"status is {self.complaint.status.value}, not {expected.value}"
        return self


# ---------------------------------------------------------------------------------------------- strategies
def _need_hypothesis() -> None:
    if importlib.util.find_spec("hypothesis") is None:
        raise ImportError("the strategies need hypothesis: pip install hypothesis")


def calendars() -> SearchStrategy[WorkingCalendar]:
    """Working-day calendars of a few regions (built once each: calendars are cached)."""
    _need_hypothesis()
    from hypothesis import strategies as st

    from complaint_engine.rules.calendar import WorkingCalendar as Calendar

    return st.sampled_from(["CN", "HK", "TW", "SG"]).map(lambda code: Calendar.for_region(code))


def policies() -> SearchStrategy[Policy]:
    """The presets and variations of their commitments."""
    _need_hypothesis()
    from hypothesis import strategies as st

    from complaint_engine.rules.deadlines import CalendarDays, ClockMinutes, Earliest, WorkingDays

    replies = st.one_of(st.builds(WorkingDays, st.integers(1, 5)), st.builds(CalendarDays, st.integers(1, 5)),
                        st.builds(lambda a, b: Earliest(CalendarDays(a), WorkingDays(b)), st.integers(1, 5),
                                  st.integers(1, 5)))
    return st.builds(
        lambda preset, reply, arrival, attempts: Policy.from_dict({
            "preset": preset, "limits": {"reply": _text(reply), "arrival": _text(ClockMinutes(arrival))},
            "callbacks": {"attempts": attempts}}),
        st.sampled_from(["default", "procedure", "estate"]), replies, st.integers(5, 60), st.integers(1, 5))


def _text(rule: DeadlineRule) -> str:
    from complaint_engine.rules.text import rule_text

    return rule_text(rule)


EVENTS = ("dispatch", "work", "resolve", "reply", "callback", "close")


def event_sequences() -> SearchStrategy[list[tuple[str, int]]]:
    """Lists of (event, minutes after the previous one) along the procedure, possibly cut short."""
    _need_hypothesis()
    from hypothesis import strategies as st

    # sampled_from spreads the cut evenly; integers() would lean to the shortest and longest sequences
    return st.sampled_from(range(len(EVENTS) + 1)).flatmap(
        lambda k: st.tuples(*(st.tuples(st.just(e), st.integers(0, 3 * 24 * 60)) for e in EVENTS[:k])).map(list))


def complaints(policy: Policy | None = None) -> SearchStrategy[Complaint]:
    """Complaints taken a random way along the procedure on a real desk (referrals and repairs included)."""
    _need_hypothesis()
    from hypothesis import strategies as st


    def build(draw: DrawFn) -> Complaint:
        start = DEFAULT_START + dt.timedelta(minutes=draw(st.integers(0, 60 * 24 * 365)))
        category = draw(st.sampled_from(["noise", "repair", "fees", "cleaning", "municipal"]))
        s = Scenario(policy, start=start)
        urgency = draw(st.sampled_from(["minor", "emergency"])) if category == "repair" else None
        if category == "municipal":
            s.given_a_complaint(category=category, register=False)
            return s.desk.refer(s.complaint.id, by=s.people[Role.RECEPTION], reason="not ours",
                                referred_to="utility")
        s.given_a_complaint(category=category, urgency=urgency, unit=draw(st.sampled_from(["1-0101", "2-0303"])))
        at = start
        for event, minutes in draw(event_sequences()):
            at = at + dt.timedelta(minutes=minutes)
            steps = {"dispatch": s.when_dispatched_at, "work": s.when_arrived_at if urgency else s.when_resolved_at,
                     "resolve": s.when_resolved_at, "reply": s.when_replied_at, "callback": s.when_called_back_at,
                     "close": s.when_closed_at}
            if event == "dispatch" and s.complaint.status is not Status.REGISTERED:
                continue
            if event in ("resolve", "work") and s.complaint.status not in (Status.DISPATCHED, Status.IN_PROGRESS):
                continue
            steps[event](at)
        return s.complaint

    return st.composite(build)()
