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

from complaint_engine.commands.privacy import EraseComplaint
from complaint_engine.commands.verbs import (
    AddEvidence,
    Close,
    ComplaintCommand,
    CoverByAnnouncement,
    Decide,
    Defer,
    Dispatch,
    Escalate,
    Flag,
    Inform,
    Investigate,
    LinkCAPA,
    LinkDuplicate,
    Merge,
    Pause,
    RecordArrival,
    RecordBreach,
    RecordCallback,
    RecordMeasure,
    Refer,
    Register,
    Reopen,
    Reply,
    Resolve,
    Resume,
    Start,
    Transfer,
)
from complaint_engine.errors import InvalidTransition, ValidationError
from complaint_engine.lifecycle.clocks import (
    meet,
    needs_updates,
    started,
    stop_all,
    tightened,
    with_started,
)
from complaint_engine.lifecycle.common import authorize, transition_note
from complaint_engine.lifecycle.erasure import erase
from complaint_engine.lifecycle.guards import (
    actor_is_escalation_target,
    agreed_reply_within_policy,
    announcement_if_widespread,
    callback_done_or_not_required,
    callback_not_reached,
    callback_reached_dissatisfied,
    callback_reached_satisfied,
    capa_number_if_needed,
    has_no_notice,
    has_notice,
    is_repair,
    major_escalated_and_decided,
    not_a_master,
    not_paused,
    paused,
)
from complaint_engine.lifecycle.table import Changes, Context, Edge, Effect, Guard, TransitionTable
from complaint_engine.messages import Message, Verbatim
from complaint_engine.model import (
    Actor,
    Callback,
    Complaint,
    Contact,
    Deferral,
    Escalation,
    Evidence,
    HandlingNotice,
    Investigation,
    Measure,
    Referral,
    Remark,
    Satisfaction,
    Severity,
    Status,
    Transition,
    Urgency,
    replace,
)
from complaint_engine.model import (
    Transfer as Handover,
)
from complaint_engine.rules.deadlines import ClockMinutes
from complaint_engine.rules.sla import ClockState, Deadline, Responsible

if TYPE_CHECKING:
    from complaint_engine.policy import Policy
    from complaint_engine.rules.calendar import WorkingCalendar

__all__ = ["COMPLAINT_TABLE", "step"]

Ctx = Context[Complaint]


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
    # the serial is written on the original document; the reference the document came with is kept beside it
    external = c.external_reference if c.external_reference is not None else c.document_number
    return {"serial": serial, "document_number": serial, "external_reference": external, "deadlines": clocks}


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


def _remarked(c: Complaint, ctx: Ctx, text: str) -> tuple[Remark, ...]:
    return (*c.remarks, Remark(event=ctx.command.event._value_, text=text, by=ctx.actor.id, at=ctx.at))


def _pause(c: Complaint, cmd: Pause, ctx: Ctx) -> Changes:
    clocks = {n: d.pause(ctx.at) if d.state is ClockState.RUNNING else d for n, d in c.deadlines.items()}
    return {"deadlines": clocks, "paused_since": ctx.at, "remarks": _remarked(c, ctx, cmd.reason)}


def _resume(c: Complaint, cmd: Resume, ctx: Ctx) -> Changes:
    clocks = {n: d.resume(ctx.at, ctx.calendar) if d.state is ClockState.PAUSED else d
              for n, d in c.deadlines.items()}
    return {"deadlines": clocks, "paused_since": None}


def _defer(c: Complaint, cmd: Defer, ctx: Ctx) -> Changes:
    if cmd.planned_for <= ctx.at:
        raise ValidationError.of("planned_for", cmd.planned_for, Message("an aware datetime after {0}",
                                                                         ctx.at.isoformat()))
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
    return {**_restart_reply(c, c.deadlines, ctx), "remarks": _remarked(c, ctx, cmd.reason)}


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
        raise InvalidTransition("link_capa", Message("complaint {0}", c.serial or c.id), c.status.value, [],
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


def _transfer(c: Complaint, cmd: Transfer, ctx: Ctx) -> Changes:
    notice = c.notice
    assert notice is not None  # the has_notice guard
    ctx.policy.department(cmd.department)  # refuses unknown codes
    if (cmd.department, cmd.assignee) == (notice.department, notice.assignee):
        current = repr(notice.department) + (f" / {notice.assignee!r}" if notice.assignee else "")
        raise ValidationError.of("department", cmd.department,
                                 Message("a department or assignee other than the current {0}", Verbatim(current)))
    new_owner = Responsible(cmd.department, cmd.assignee)
    clocks = {}
    for name, clock in c.deadlines.items():
        # a clock that ran out before the hand-over stays with the department it ran out under: the breach is
        # theirs; every other clock of the old department runs on, owned from now on by the new one
        clock = clock.check(ctx.at)
        if clock.met_at is None and not clock.breached and clock.responsible.department == notice.department:
            clock = clock.assign(new_owner)
        clocks[name] = clock
    handover = Handover(from_department=notice.department, to_department=cmd.department, by=ctx.actor.id,
                        at=ctx.at, reason=cmd.reason, from_assignee=notice.assignee, to_assignee=cmd.assignee)
    return {"notice": replace(notice, {"department": cmd.department, "assignee": cmd.assignee,
                                       "transfers": (*notice.transfers, handover)}),
            "deadlines": clocks}


def _add_evidence(c: Complaint, cmd: AddEvidence, ctx: Ctx) -> Changes:
    item = Evidence(kind=cmd.kind, reference=cmd.reference, by=ctx.actor.id, at=ctx.at, note=cmd.note)
    return {"evidence": (*c.evidence, item)}


def _investigate(c: Complaint, cmd: Investigate, ctx: Ctx) -> Changes:
    return {"investigations": (*c.investigations, Investigation(cause=cmd.cause, by=ctx.actor.id, at=ctx.at))}


def _record_measure(c: Complaint, cmd: RecordMeasure, ctx: Ctx) -> Changes:
    breached = sorted({d.name for d in (*c.deadlines.values(), *c.past_deadlines) if d.breached})
    if cmd.clock not in breached:
        raise ValidationError.of("clock", cmd.clock, Message("one of the complaint's breached clocks {breached}",
                                                             breached=breached))
    measure = Measure(clock=cmd.clock, person=cmd.person, measure=cmd.measure, by=ctx.actor.id, at=ctx.at)
    return {"measures": (*c.measures, measure)}


def _merge(c: Complaint, cmd: Merge, ctx: Ctx) -> Changes:
    # the duplicate's obligations are the master's now: its clocks stop, met by the merge
    return {"merged_into": cmd.into, "deadlines": stop_all(c.deadlines, ctx.at, "merge"),
            "remarks": _remarked(c, ctx, cmd.reason)}


def _link_duplicate(c: Complaint, cmd: LinkDuplicate, ctx: Ctx) -> Changes:
    return {"merged": (*c.merged, cmd.duplicate)}


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
_HANDLED = (St.DISPATCHED, St.ESCALATED, St.IN_PROGRESS, St.DEFERRED)  # at a department, work not yet done


def _edges(event: str, sources: Sequence[Status], target: Status | None,
           *guards: Guard[Complaint]) -> list[Edge[Status, Complaint]]:
    return [Edge(event, s, s if target is None else target, tuple(guards)) for s in sources]


COMPLAINT_TABLE: TransitionTable[Status, Complaint] = TransitionTable(
    name="Complaint lifecycle",
    states=Status,
    initial=St.RECEIVED,
    finals=frozenset({St.REFERRED, St.CLOSED, St.MERGED}),
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
        *_edges("transfer", _HANDLED, None, has_notice),
        # appending to a quality record is allowed at any state, a closed or referred one included
        *_edges("add_evidence", tuple(St), None),
        *_edges("investigate", (*_OPEN, St.CLOSED), None),
        *_edges("record_measure", (*_OPEN, St.CLOSED), None),
        *_edges("merge", (St.RECEIVED, *_OPEN), St.MERGED, not_a_master),
        *_edges("link_duplicate", (St.RECEIVED, *_OPEN), None),
        *_edges("erase", tuple(St), None),  # a person's data pseudonymised, at any state
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
        Effect.of(Transfer, _transfer),
        Effect.of(AddEvidence, _add_evidence),
        Effect.of(Investigate, _investigate),
        Effect.of(RecordMeasure, _record_measure),
        Effect.of(Merge, _merge),
        Effect.of(LinkDuplicate, _link_duplicate),
        Effect.of(EraseComplaint, erase),
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
         calendar: WorkingCalendar, at: dt.datetime, *, serial: str | None = None,
         recorded_at: dt.datetime | None = None) -> tuple[Complaint, Transition]:
    """One pure step of the complaint lifecycle; see the module docstring. ``serial`` is the number the
    register allocated, for a ``Register`` command; ``recorded_at`` when the step was entered (the desk's
    clock), beside ``at``, when it took effect."""
    event = command.event
    authorize(event, actor, policy, complaint.office)
    ctx = Context(complaint, command, actor, policy, calendar, at, serial)
    edge = COMPLAINT_TABLE.resolve(event, complaint.status, ctx,
                                   lambda: Message("complaint {0}",
                                                                   complaint.serial or complaint.id))
    changes = COMPLAINT_TABLE.effect(command).apply(complaint, ctx)
    changes["deadlines"] = _checked(cast(Mapping[str, Deadline], changes.get("deadlines", complaint.deadlines)), at)
    transition = Transition.record(event._value_, complaint.status, edge.target, actor, at, transition_note(command),
                                   recorded_at)
    changes["status"] = edge.target
    changes["history"] = (*complaint.history, transition)
    return replace(complaint, changes), transition
