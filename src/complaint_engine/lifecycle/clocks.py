"""The clocks of a complaint as the lifecycle starts, meets, stops and tightens them, under the rule the
complaint's service level gives each (``complaint_engine.levels``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from complaint_engine.levels import Subject
from complaint_engine.lifecycle.table import Context
from complaint_engine.model import Complaint, Severity, Status, Urgency, replace
from complaint_engine.rules.sla import ClockState, Deadline, Responsible

if TYPE_CHECKING:
    from complaint_engine.policy import Policy
    from complaint_engine.rules.calendar import WorkingCalendar

__all__ = ["meet", "needs_updates", "started", "stop_all", "subject_of", "tightened", "with_started"]

Ctx = Context[Complaint]


def meet(clocks: Mapping[str, Deadline], at: dt.datetime, *names: str) -> dict[str, Deadline]:
    out = dict(clocks)
    for name in names:
        if name in out:
            out[name] = out[name].meet(at)
    return out


def stop_all(clocks: Mapping[str, Deadline], at: dt.datetime, reason: str) -> dict[str, Deadline]:
    """Every clock not yet met stopped: the complaint has ended, and with it every obligation it carried."""
    return {n: d if d.state is ClockState.MET else d.stop(at, reason) for n, d in clocks.items()}


def subject_of(c: Complaint, severity: Severity | None = None) -> Subject:
    """What a service level's condition looks at (``severity``: as it is about to become)."""
    return Subject(c.office, c.category, severity or c.severity, c.urgency, c.channel)


def started(name: str, c: Complaint, policy: Policy, calendar: WorkingCalendar, at: dt.datetime,
            owner: Responsible, *, rule_of: str | None = None) -> Deadline | None:
    """A clock started under the rule the complaint's service level gives it (None: that clock is off)."""
    rule, level = policy.rule_for(rule_of or name, subject_of(c))
    return None if rule is None else Deadline.start(name, rule, at, calendar, owner, level)


def with_started(clocks: dict[str, Deadline], name: str, c: Complaint, ctx: Ctx, at: dt.datetime,
                  owner: Responsible, *, rule_of: str | None = None) -> dict[str, Deadline]:
    clock = started(name, c, ctx.policy, ctx.calendar, at, owner, rule_of=rule_of)
    if clock is not None:
        clocks[name] = clock
    return clocks


def needs_updates(c: Complaint, clocks: Mapping[str, Deadline], at: dt.datetime) -> bool:
    """The owner must be kept informed: the complaint is deferred, or unresolved past its reply's due."""
    if c.status is Status.DEFERRED:
        return True
    reply = clocks.get("reply")
    unresolved = c.status in (Status.REGISTERED, Status.DISPATCHED, Status.ESCALATED, Status.IN_PROGRESS)
    return unresolved and reply is not None and reply.met_at is None and reply.due < at


# which rule each clock name runs under (a repair's clock takes its urgency's rule)
def _rule_name(c: Complaint, clock: str) -> str:
    if clock == "repair":
        return "emergency_repair" if c.urgency is Urgency.EMERGENCY else "minor_repair"
    return clock


def tightened(c: Complaint, ctx: Ctx) -> dict[str, Deadline]:
    """Escalation makes the complaint major: each clock not yet met is recomputed, from its original start and
    pauses, under the level that now matches — and takes the new due only when it comes sooner. A promised
    time limit is never loosened (P-6.2: the policy is the commitment)."""
    major = subject_of(c, Severity.MAJOR)
    clocks = dict(c.deadlines)
    for name, clock in c.deadlines.items():
        if clock.met_at is not None or name == "plan":
            continue
        rule, level = ctx.policy.rule_for(_rule_name(c, name), major)
        if rule is None or (rule == clock.rule and level == clock.service_level):
            continue
        due = rule.due(clock.started_at, ctx.calendar, pauses=clock.pauses)
        if due < clock.due:
            clocks[name] = replace(clock, {"rule": rule, "due": due, "service_level": level})
    return clocks
