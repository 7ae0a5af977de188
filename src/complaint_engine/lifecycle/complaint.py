"""The complaint state machine: its guards, its table and one effect per event.

A step is pure: ``(complaint, command, actor, policy, calendar, instant) → (new complaint, Transition)``. It
checks who may act, picks the first edge for ``(event, state)`` whose guards all pass, applies the event's
effect (fields and clocks), records the transition and returns new objects. A refused step raises and changes
nothing — there is nothing to undo because nothing was mutated.

Several edges may share ``(event, state)``; guards choose among them (a callback that finds the owner
dissatisfied reopens the complaint, a satisfied one completes the callback).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, cast

from complaint_engine.commands.verbs import (
    Close,
    ComplaintCommand,
    CoverByAnnouncement,
    Decide,
    Defer,
    Dispatch,
    Escalate,
    Flag,
    Inform,
    LinkCAPA,
    Pause,
    RecordArrival,
    RecordBreach,
    RecordCallback,
    Refer,
    Register,
    Reopen,
    Reply,
    Resolve,
    Resume,
    Start,
)
from complaint_engine.errors import InvalidTransition, ValidationError
from complaint_engine.lifecycle.clocks import (
    meet,
    needs_updates,
    started,
    stop_all,
    subject_of,
    tightened,
    with_started,
)
from complaint_engine.lifecycle.common import authorize, transition_note
from complaint_engine.lifecycle.table import Changes, Context, Edge, Effect, Guard, TransitionTable
from complaint_engine.model import (
    Actor,
    Callback,
    Complaint,
    Contact,
    Deferral,
    Escalation,
    HandlingNotice,
    Referral,
    Satisfaction,
    Severity,
    Status,
    Transition,
    Urgency,
    replace,
)
from complaint_engine.rules.deadlines import ClockMinutes
from complaint_engine.rules.sla import ClockState, Deadline, Responsible

if TYPE_CHECKING:
    from complaint_engine.policy import Policy
    from complaint_engine.rules.calendar import WorkingCalendar

__all__ = ["COMPLAINT_TABLE", "step"]

Ctx = Context[Complaint]


# ================================================================================ guards
def major_escalated_and_decided(ctx: Ctx) -> str | None:
    """A MAJOR complaint is escalated and decided before work starts (P-6.2.2)."""
    c = ctx.subject
    if c.severity is Severity.MAJOR and (c.escalation is None or c.escalation.decision is None):
        return "a major complaint must be escalated and decided before work starts"
    return None


def actor_is_escalation_target(ctx: Ctx) -> str | None:
    """Only the policy's escalation role decides (P-6.2.2 general manager / E-major supervisor)."""
    if ctx.actor.role is not ctx.policy.escalation_role:
        return (f"only the escalation role {ctx.policy.escalation_role.value!r} decides; "
                f"actor is {ctx.actor.role.value!r}")
    return None


def agreed_reply_within_policy(ctx: Ctx) -> str | None:
    """An agreed reply time is not later than the policy's maximum (E-reply)."""
    cmd = ctx.command
    agreed = cmd.agreed_reply_by if isinstance(cmd, Dispatch) else None
    if agreed is None:
        return None
    rule, _ = ctx.policy.rule_for("reply", subject_of(ctx.subject))
    if rule is None:
        return None
    limit = rule.due(ctx.subject.received_at, ctx.calendar)
    if agreed > limit:
        return (f"agreed reply time {agreed.isoformat()} is later than the policy maximum "
                f"{limit.isoformat()} ({rule.describe()})")
    if agreed < ctx.at:
        return f"agreed reply time {agreed.isoformat()} is in the past"
    return None


def has_notice(ctx: Ctx) -> str | None:
    """The handling notice was issued: work goes on at the department."""
    return None if ctx.subject.notice is not None else "no handling notice yet"


def has_no_notice(ctx: Ctx) -> str | None:
    """Escalated at intake, before a notice: back to the register for dispatch."""
    return None if ctx.subject.notice is None else "a handling notice exists"


def is_repair(ctx: Ctx) -> str | None:
    """Only repair complaints record an arrival."""
    return None if ctx.subject.is_repair else "only repair complaints record an arrival on site"


def _callback(ctx: Ctx) -> tuple[bool, Satisfaction | None]:
    cmd = ctx.command
    return (cmd.reached, cmd.satisfaction) if isinstance(cmd, RecordCallback) else (True, None)


def callback_reached_satisfied(ctx: Ctx) -> str | None:
    """The owner was reached and is satisfied or basically satisfied."""
    reached, satisfaction = _callback(ctx)
    return None if reached and satisfaction is not Satisfaction.DISSATISFIED else "owner not reached or dissatisfied"


def callback_reached_dissatisfied(ctx: Ctx) -> str | None:
    """The owner was reached and is dissatisfied: the complaint reopens."""
    reached, satisfaction = _callback(ctx)
    return None if reached and satisfaction is Satisfaction.DISSATISFIED else "n/a"


def callback_not_reached(ctx: Ctx) -> str | None:
    """The owner could not be reached: the attempt is recorded."""
    return None if not _callback(ctx)[0] else "n/a"


def callback_done_or_not_required(ctx: Ctx) -> str | None:
    """Closing needs a reached callback, or the policy's unreachable attempts, unless callbacks are off."""
    c = ctx.subject
    if c.status is Status.CALLED_BACK or not ctx.policy.callbacks.required:
        return None
    if c.unreached_attempts >= ctx.policy.callbacks.attempts:
        return None
    return (f"no callback reached the owner ({c.unreached_attempts} unreachable attempt(s) of "
            f"{ctx.policy.callbacks.attempts} allowed)")


def capa_number_if_needed(ctx: Ctx) -> str | None:
    """A complaint needing corrective action has a CAPA number on its notice (P-6.2.3)."""
    c = ctx.subject
    if ctx.policy.closing.require_capa_number and c.needs_capa and not (c.notice and c.notice.capa_numbers):
        return "it needs corrective action and its notice has no CAPA report number"
    return None


def announcement_if_widespread(ctx: Ctx) -> str | None:
    """A widespread complaint is covered by a public announcement (E-announce)."""
    c = ctx.subject
    if ctx.policy.closing.require_announcement and c.widespread and not c.announcements:
        return "it is widespread and no announcement covers it"
    return None


def not_paused(ctx: Ctx) -> str | None:
    """Clocks are not paused (resume first)."""
    return None if ctx.subject.paused_since is None else "its clocks are paused; resume first"


def paused(ctx: Ctx) -> str | None:
    """Clocks are paused."""
    return None if ctx.subject.paused_since is not None else "its clocks are not paused"


# ================================================================================ effects
def _owner(c: Complaint) -> Responsible:
    return Responsible(c.notice.department, c.notice.assignee) if c.notice else Responsible()


def _informer(c: Complaint, ctx: Ctx) -> Responsible:
    """Who keeps the owner informed: the department handling the complaint, reception before a notice."""
    return _owner(c) if c.notice else Responsible(ctx.policy.reception_department, None)


def _restart_reply(c: Complaint, clocks: Mapping[str, Deadline], ctx: Ctx) -> Changes:
    """Reopening: the old reply, callback and plan clocks are archived; a new reply clock starts now."""
    archived = tuple(clocks[n] for n in ("reply", "callback", "plan") if n in clocks)
    fresh = {n: d for n, d in clocks.items() if n not in ("reply", "callback", "plan")}
    with_started(fresh, "reply", c, ctx, ctx.at, _owner(c))
    return {"deadlines": fresh, "past_deadlines": c.past_deadlines + archived, "deferral": None}


def _refer(c: Complaint, cmd: Refer, ctx: Ctx) -> Changes:
    return {"referral": Referral(reason=cmd.reason, referred_to=cmd.referred_to),
            "deadlines": stop_all(meet(c.deadlines, ctx.at, "acknowledge"), ctx.at, "refer")}


def _register(c: Complaint, cmd: Register, ctx: Ctx) -> Changes:
    serial = ctx.serial
    if serial is None:
        raise ValidationError.of("serial", serial, "the serial the register allocated")
    reception = Responsible(ctx.policy.reception_department, ctx.actor.id)
    clocks = meet(c.deadlines, ctx.at, "acknowledge")  # registered: the complaint was answered
    with_started(clocks, "reply", c, ctx, c.received_at, reception)
    if c.is_repair:
        repair = "emergency_repair" if c.urgency is Urgency.EMERGENCY else "minor_repair"
        with_started(clocks, "repair", c, ctx, c.received_at, reception, rule_of=repair)
    return {"serial": serial, "document_number": serial, "deadlines": clocks}


def _dispatch(c: Complaint, cmd: Dispatch, ctx: Ctx) -> Changes:
    department = cmd.department or ctx.policy.category(c.category).department
    ctx.policy.department(department)  # refuses unknown codes
    assert c.serial is not None  # registered complaints always have a serial
    notice = HandlingNotice(serial=c.serial, department=department, issued_at=ctx.at, assignee=cmd.assignee,
                            agreed_reply_by=cmd.agreed_reply_by)
    owner = Responsible(department, cmd.assignee)
    clocks = {n: d.assign(owner) if d.state is not ClockState.MET else d for n, d in c.deadlines.items()}
    if cmd.agreed_reply_by is not None and "reply" in clocks:
        clocks["reply"] = replace(clocks["reply"], {"due": cmd.agreed_reply_by})  # the owner was promised this
    if c.is_repair:
        with_started(clocks, "arrival", c, ctx, ctx.at, owner)
    with_started(clocks, "start", c, ctx, ctx.at, owner)  # remedial work starts "immediately" (P-6.3.4)
    return {"notice": notice, "deadlines": clocks}


def _escalate(c: Complaint, cmd: Escalate, ctx: Ctx) -> Changes:
    return {"severity": Severity.MAJOR, "deadlines": tightened(c, ctx),
            "escalation": Escalation(reason=cmd.reason, escalated_by=ctx.actor.id, escalated_at=ctx.at)}


def _decide(c: Complaint, cmd: Decide, ctx: Ctx) -> Changes:
    assert c.escalation is not None  # ESCALATED is entered only through escalate
    return {"escalation": replace(c.escalation, {"decision": cmd.decision, "decided_by": ctx.actor.id,
                                                 "decided_at": ctx.at})}


def _start(c: Complaint, cmd: Start, ctx: Ctx) -> Changes:
    return {"deadlines": meet(c.deadlines, ctx.at, "start")}


def _record_arrival(c: Complaint, cmd: RecordArrival, ctx: Ctx) -> Changes:
    return {"deadlines": meet(c.deadlines, ctx.at, "arrival", "start")}


def _pause(c: Complaint, cmd: Pause, ctx: Ctx) -> Changes:
    clocks = {n: d.pause(ctx.at) if d.state is ClockState.RUNNING else d for n, d in c.deadlines.items()}
    return {"deadlines": clocks, "paused_since": ctx.at}


def _resume(c: Complaint, cmd: Resume, ctx: Ctx) -> Changes:
    clocks = {n: d.resume(ctx.at, ctx.calendar) if d.state is ClockState.PAUSED else d
              for n, d in c.deadlines.items()}
    return {"deadlines": clocks, "paused_since": None}


def _defer(c: Complaint, cmd: Defer, ctx: Ctx) -> Changes:
    if cmd.planned_for <= ctx.at:
        raise ValidationError.of("planned_for", cmd.planned_for, f"an aware datetime after {ctx.at.isoformat()}")
    minutes = max(1, math.ceil((cmd.planned_for - ctx.at) / dt.timedelta(minutes=1)))
    clocks = meet(c.deadlines, ctx.at, "reply")  # the owner was answered with the plan (E-defer)
    clocks["plan"] = Deadline(name="plan", rule=ClockMinutes(minutes), started_at=ctx.at, due=cmd.planned_for,
                              responsible=_owner(c))
    if "update" not in clocks or clocks["update"].met_at is not None:  # keep the owner informed of the plan
        with_started(clocks, "update", c, ctx, ctx.at, _informer(c, ctx))
    return {"deferral": Deferral(plan=cmd.plan, planned_for=cmd.planned_for), "deadlines": clocks}


def _resolve(c: Complaint, cmd: Resolve, ctx: Ctx) -> Changes:
    assert c.notice is not None  # resolve is reachable only after dispatch
    return {"notice": replace(c.notice, {"result": cmd.result}),
            "deadlines": meet(c.deadlines, ctx.at, "repair", "plan", "update", "start")}


def _reply(c: Complaint, cmd: Reply, ctx: Ctx) -> Changes:
    clocks = meet(c.deadlines, ctx.at, "reply", "update")
    with_started(clocks, "callback", c, ctx, ctx.at, Responsible(ctx.policy.reception_department, None))
    return {"deadlines": clocks, "reply_note": cmd.note}


def _record_callback(c: Complaint, cmd: RecordCallback, ctx: Ctx) -> Changes:
    cb = Callback(method=cmd.method, reached=cmd.reached, satisfaction=cmd.satisfaction, opinion=cmd.opinion,
                  by=ctx.actor.id, at=ctx.at)
    changes: Changes = {"callbacks": (*c.callbacks, cb)}
    if not cmd.reached:
        return changes
    clocks = meet(c.deadlines, ctx.at, "callback")
    if cmd.satisfaction is Satisfaction.DISSATISFIED:
        return {**changes, **_restart_reply(c, clocks, ctx)}
    return {**changes, "deadlines": clocks}


def _reopen(c: Complaint, cmd: Reopen, ctx: Ctx) -> Changes:
    return _restart_reply(c, c.deadlines, ctx)


def _close(c: Complaint, cmd: Close, ctx: Ctx) -> Changes:
    # the callback is what a close completes; anything else still running (an arrival nobody recorded, a
    # repair limit) stops here, breached if it had already run out
    return {"deadlines": stop_all(meet(c.deadlines, ctx.at, "callback"), ctx.at, "close")}


def _flag(c: Complaint, cmd: Flag, ctx: Ctx) -> Changes:
    changes: Changes = {}
    if cmd.needs_capa is not None:
        changes["needs_capa"] = cmd.needs_capa
    if cmd.widespread is not None:
        changes["widespread"] = cmd.widespread
    return changes


def _link_capa(c: Complaint, cmd: LinkCAPA, ctx: Ctx) -> Changes:
    if c.notice is None:
        raise InvalidTransition("link_capa", f"complaint {c.serial or c.id}", c.status.value, [],
                                reason="it has no handling notice yet; dispatch it first")
    if cmd.number in c.notice.capa_numbers:
        return {}
    return {"notice": replace(c.notice, {"capa_numbers": (*c.notice.capa_numbers, cmd.number)})}


def _announce(c: Complaint, cmd: CoverByAnnouncement, ctx: Ctx) -> Changes:
    return {"announcements": (*c.announcements, cmd.number)}


def _record_breach(c: Complaint, cmd: RecordBreach, ctx: Ctx) -> Changes:
    # the step marks every late clock breached; a reply past due on an unresolved complaint starts the update
    # clock from the reply's due: the owner, promised an answer, must now be kept informed
    clocks = dict(c.deadlines)
    for item in cmd.warnings:  # "clock@threshold": told once each
        name, _, threshold = item.partition("@")
        if name in clocks and threshold not in clocks[name].warned:
            clocks[name] = replace(clocks[name], {"warned": (*clocks[name].warned, threshold)})
    reply = clocks.get("reply")
    if "update" not in clocks and reply is not None and needs_updates(c, clocks, ctx.at):
        with_started(clocks, "update", c, ctx, reply.due, _informer(c, ctx))
    return {"deadlines": clocks}


def _inform(c: Complaint, cmd: Inform, ctx: Ctx) -> Changes:
    """The owner told of progress: the contact is recorded, the update clock met and, while the owner must still
    be kept informed, started again from now."""
    contact = Contact(method=cmd.method, note=cmd.note, by=ctx.actor.id, at=ctx.at)
    clocks = meet(c.deadlines, ctx.at, "update")
    changes: Changes = {"contacts": (*c.contacts, contact), "deadlines": clocks}
    again = started("update", c, ctx.policy, ctx.calendar, ctx.at, _informer(c, ctx))
    if "update" in clocks and again is not None and needs_updates(c, clocks, ctx.at):
        changes["past_deadlines"] = (*c.past_deadlines, clocks["update"])  # the interval met, kept on record
        clocks["update"] = again
    return changes


# ================================================================================ the table
St = Status
_WORK = (St.DISPATCHED, St.IN_PROGRESS)
_OPEN = (St.REGISTERED, St.DISPATCHED, St.ESCALATED, St.IN_PROGRESS, St.DEFERRED, St.RESOLVED, St.REPLIED,
         St.CALLED_BACK)


def _edges(event: str, sources: Sequence[Status], target: Status | None,
           *guards: Guard[Complaint]) -> list[Edge[Status, Complaint]]:
    return [Edge(event, s, s if target is None else target, tuple(guards)) for s in sources]


COMPLAINT_TABLE: TransitionTable[Status, Complaint] = TransitionTable(
    name="Complaint lifecycle",
    states=Status,
    initial=St.RECEIVED,
    finals=frozenset({St.REFERRED, St.CLOSED}),
    edges=(
        *_edges("refer", [St.RECEIVED], St.REFERRED),
        *_edges("register", [St.RECEIVED], St.REGISTERED),
        *_edges("dispatch", [St.REGISTERED], St.DISPATCHED, agreed_reply_within_policy),
        *_edges("escalate", [St.REGISTERED, St.DISPATCHED], St.ESCALATED),
        *_edges("decide", [St.ESCALATED], St.DISPATCHED, actor_is_escalation_target, has_notice),
        *_edges("decide", [St.ESCALATED], St.REGISTERED, actor_is_escalation_target, has_no_notice),
        *_edges("start", [St.DISPATCHED], St.IN_PROGRESS, major_escalated_and_decided),
        *_edges("start", [St.DEFERRED], St.IN_PROGRESS),
        *_edges("record_arrival", [St.DISPATCHED], St.IN_PROGRESS, is_repair, major_escalated_and_decided),
        *_edges("record_arrival", [St.IN_PROGRESS], None, is_repair),
        *_edges("pause", _WORK, None, not_paused),
        *_edges("resume", _WORK, None, paused),
        *_edges("defer", [St.IN_PROGRESS], St.DEFERRED, not_paused),
        *_edges("resolve", [St.IN_PROGRESS, St.DEFERRED], St.RESOLVED, not_paused),
        *_edges("reply", [St.RESOLVED], St.REPLIED),
        *_edges("record_callback", [St.REPLIED], St.CALLED_BACK, callback_reached_satisfied),
        *_edges("record_callback", [St.REPLIED], St.IN_PROGRESS, callback_reached_dissatisfied),
        *_edges("record_callback", [St.REPLIED], None, callback_not_reached),
        *_edges("reopen", [St.REPLIED, St.CALLED_BACK], St.IN_PROGRESS),
        *_edges("close", [St.REPLIED, St.CALLED_BACK], St.CLOSED, callback_done_or_not_required,
                capa_number_if_needed, announcement_if_widespread),
        *_edges("flag", _OPEN, None),
        *_edges("link_capa", _OPEN, None),
        *_edges("announce", _OPEN, None),
        *_edges("record_breach", (St.RECEIVED, *_OPEN), None),  # the acknowledge clock runs from receipt
        *_edges("inform", _OPEN, None),
    ),
    effects=(
        Effect.of(Refer, _refer),
        Effect.of(Register, _register),
        Effect.of(Dispatch, _dispatch),
        Effect.of(Escalate, _escalate),
        Effect.of(Decide, _decide),
        Effect.of(Start, _start),
        Effect.of(RecordArrival, _record_arrival),
        Effect.of(Pause, _pause),
        Effect.of(Resume, _resume),
        Effect.of(Defer, _defer),
        Effect.of(Resolve, _resolve),
        Effect.of(Reply, _reply),
        Effect.of(RecordCallback, _record_callback),
        Effect.of(Reopen, _reopen),
        Effect.of(Close, _close),
        Effect.of(Flag, _flag),
        Effect.of(LinkCAPA, _link_capa),
        Effect.of(CoverByAnnouncement, _announce),
        Effect.of(RecordBreach, _record_breach),
        Effect.of(Inform, _inform),
    ),
)


# ================================================================================ the step
def _checked(clocks: Mapping[str, Deadline], at: dt.datetime) -> Mapping[str, Deadline]:
    """Clocks with every newly late one marked breached; the same mapping when none is."""
    late = [n for n, d in clocks.items()
            if d.met_at is None and not d.breached and (d.paused_at or at) > d.due]
    if not late:
        return clocks
    fresh = dict(clocks)
    for name in late:
        fresh[name] = fresh[name].check(at)
    return fresh


def step(complaint: Complaint, command: ComplaintCommand[object], actor: Actor, policy: Policy,
         calendar: WorkingCalendar, at: dt.datetime, *, serial: str | None = None) -> tuple[Complaint, Transition]:
    """One pure step of the complaint lifecycle; see the module docstring. ``serial`` is the number the
    register allocated, for a ``Register`` command."""
    event = command.event
    authorize(event, actor, policy, complaint.office)
    ctx = Context(complaint, command, actor, policy, calendar, at, serial)
    edge = COMPLAINT_TABLE.resolve(event, complaint.status, ctx,
                                   lambda: f"complaint {complaint.serial or complaint.id}")
    changes = COMPLAINT_TABLE.effect(command).apply(complaint, ctx)
    changes["deadlines"] = _checked(cast(Mapping[str, Deadline], changes.get("deadlines", complaint.deadlines)), at)
    transition = Transition.record(event._value_, complaint.status, edge.target, actor, at, transition_note(command))
    changes["status"] = edge.target
    changes["history"] = (*complaint.history, transition)
    return replace(complaint, changes), transition
