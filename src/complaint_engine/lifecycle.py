"""The complaint and CAPA state machines: transition tables as data, guards as typed callables.

A step is pure: ``(subject, event, actor, policy, instant, parameters) → (new subject, Transition)``.
It checks who may act, picks the first edge for ``(event, state)`` whose guards all pass, applies the
event's effect (fields and clocks), records the transition and returns new objects. A refused step
raises and changes nothing — there is nothing to undo because nothing was mutated.

Several edges may share ``(event, state)``; guards choose among them (a callback that finds the owner
dissatisfied reopens the complaint, a satisfied one completes the callback).
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs

from complaint_engine.errors import InvalidTransition, PermissionDenied, ValidationError
from complaint_engine.model import (
    Actor,
    Callback,
    CallbackMethod,
    CAPAAction,
    CAPAReport,
    CAPAStatus,
    Complaint,
    Deferral,
    Escalation,
    HandlingNotice,
    Referral,
    Satisfaction,
    Severity,
    Status,
    Transition,
    Urgency,
    Verification,
    refuse_unstorable_text,
    replace,
)
from complaint_engine.policy import Policy
from complaint_engine.rules.calendar import WorkingCalendar
from complaint_engine.rules.deadlines import ClockMinutes
from complaint_engine.rules.sla import ClockState, Deadline, Responsible

__all__ = [
    "CAPA_TABLE",
    "COMPLAINT_TABLE",
    "Context",
    "Edge",
    "TransitionTable",
    "step",
    "step_capa",
]

S = TypeVar("S", bound=enum.Enum)
T = TypeVar("T")


class Context:
    """What a guard or an effect may look at. ``subject`` is a Complaint or a CAPAReport.

    A plain slotted class: one is built per step, and guards only read it.
    """

    __slots__ = ("actor", "at", "calendar", "params", "policy", "subject")

    def __init__(self, subject: Any, actor: Actor, policy: Policy, calendar: WorkingCalendar, at: dt.datetime,
                 params: Mapping[str, Any]) -> None:
        self.subject = subject
        self.actor = actor
        self.policy = policy
        self.calendar = calendar
        self.at = at
        self.params = params


Guard = Callable[[Context], str | None]
"""A guard returns None to allow, or the reason it refuses (shown in the error)."""


@attrs.frozen
class Edge(Generic[S]):
    event: str
    source: S
    target: S
    guards: tuple[Guard, ...] = ()


@attrs.frozen
class TransitionTable(Generic[S]):
    """A validated state machine. Construction fails listing every offender."""

    name: str
    states: type[S]
    initial: S
    finals: frozenset[S]
    edges: tuple[Edge[S], ...]
    _index: dict[tuple[str, S], tuple[Edge[S], ...]] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError(f"invalid {self.name} table: " + "; ".join(problems))
        index: dict[tuple[str, S], list[Edge[S]]] = {}
        for edge in self.edges:
            index.setdefault((edge.event, edge.source), []).append(edge)
        object.__setattr__(self, "_index", {k: tuple(v) for k, v in index.items()})

    def problems(self) -> list[str]:
        """One initial state, nothing leaves a final state, every state reaches a final state."""
        problems = []
        states = set(self.states)
        if self.initial not in states:
            problems.append(f"initial state {self.initial!r} is not a state")
        if not self.finals:
            problems.append("no final state")
        for edge in self.edges:
            if edge.source in self.finals:
                problems.append(f"final state {edge.source.value!r} has exit {edge.event!r}")
        targets = {e.target for e in self.edges}
        for state in sorted(states - targets - {self.initial}, key=lambda s: s.value):
            problems.append(f"state {state.value!r} is unreachable")
        reaches = set(self.finals)
        changed = True
        while changed:
            changed = False
            for edge in self.edges:
                if edge.target in reaches and edge.source not in reaches:
                    reaches.add(edge.source)
                    changed = True
        for state in sorted(states - reaches, key=lambda s: s.value):
            problems.append(f"state {state.value!r} cannot reach a final state")
        return problems

    def events_from(self, state: S) -> list[str]:
        return sorted({e.event for e in self.edges if e.source is state})

    def resolve(self, event: str, state: S, ctx: Context, subject: Callable[[], str]) -> Edge[S]:
        """The edge to take, or InvalidTransition naming the state, the allowed events or the guard's reason."""
        edges = self._index.get((event, state))
        if not edges:
            raise InvalidTransition(event, subject(), state.value, self.events_from(state))
        reason = None
        for edge in edges:
            for guard in edge.guards:
                reason = guard(ctx)
                if reason is not None:
                    break
            else:
                return edge
        raise InvalidTransition(event, subject(), state.value, self.events_from(state), reason=reason)

    def to_markdown(self) -> str:
        """The table as Markdown: a Mermaid state diagram and one row per edge with its guards."""
        lines = [f"## {self.name}", "", "```mermaid", "stateDiagram-v2", f"    [*] --> {self.initial.value}"]
        seen = set()
        for e in self.edges:
            key = (e.source, e.target, e.event)
            if key not in seen:
                seen.add(key)
                lines.append(f"    {e.source.value} --> {e.target.value}: {e.event}")
        lines += [f"    {f.value} --> [*]" for f in sorted(self.finals, key=lambda s: s.value)]
        lines += ["```", "", "| event | from | to | guards |", "|---|---|---|---|"]
        for e in self.edges:
            guards = "; ".join((g.__doc__ or g.__name__).strip().splitlines()[0] for g in e.guards) or "—"
            lines.append(f"| `{e.event}` | {e.source.value} | {e.target.value} | {guards} |")
        return "\n".join(lines) + "\n"


# ================================================================================ complaint guards
def major_escalated_and_decided(ctx: Context) -> str | None:
    """A MAJOR complaint is escalated and decided before work starts (P-6.2.2)."""
    c: Complaint = ctx.subject
    if c.severity is Severity.MAJOR and (c.escalation is None or c.escalation.decision is None):
        return "a major complaint must be escalated and decided before work starts"
    return None


def actor_is_escalation_target(ctx: Context) -> str | None:
    """Only the policy's escalation role decides (P-6.2.2 general manager / E-major supervisor)."""
    if ctx.actor.role is not ctx.policy.escalation_role:
        return (f"only the escalation role {ctx.policy.escalation_role.value!r} decides; "
                f"actor is {ctx.actor.role.value!r}")
    return None


def agreed_reply_within_policy(ctx: Context) -> str | None:
    """An agreed reply time is not later than the policy's maximum (E-reply)."""
    agreed = ctx.params.get("agreed_reply_by")
    if agreed is None:
        return None
    c: Complaint = ctx.subject
    limit = ctx.policy.reply.due(c.received_at, ctx.calendar)
    if agreed > limit:
        return (f"agreed reply time {agreed.isoformat()} is later than the policy maximum "
                f"{limit.isoformat()} ({ctx.policy.reply.describe()})")
    if agreed < ctx.at:
        return f"agreed reply time {agreed.isoformat()} is in the past"
    return None


def has_notice(ctx: Context) -> str | None:
    """The handling notice was issued: work goes on at the department."""
    return None if ctx.subject.notice is not None else "no handling notice yet"


def has_no_notice(ctx: Context) -> str | None:
    """Escalated at intake, before a notice: back to the register for dispatch."""
    return None if ctx.subject.notice is None else "a handling notice exists"


def is_repair(ctx: Context) -> str | None:
    """Only repair complaints record an arrival."""
    return None if ctx.subject.is_repair else "only repair complaints record an arrival on site"


def callback_reached_satisfied(ctx: Context) -> str | None:
    """The owner was reached and is satisfied or basically satisfied."""
    p = ctx.params
    if p.get("reached", True) and p.get("satisfaction") is not Satisfaction.DISSATISFIED:
        return None
    return "owner not reached or dissatisfied"


def callback_reached_dissatisfied(ctx: Context) -> str | None:
    """The owner was reached and is dissatisfied: the complaint reopens."""
    p = ctx.params
    return None if p.get("reached", True) and p.get("satisfaction") is Satisfaction.DISSATISFIED else "n/a"


def callback_not_reached(ctx: Context) -> str | None:
    """The owner could not be reached: the attempt is recorded."""
    return None if not ctx.params.get("reached", True) else "n/a"


def callback_done_or_not_required(ctx: Context) -> str | None:
    """Closing needs a reached callback, or the policy's unreachable attempts, unless callbacks are off."""
    c: Complaint = ctx.subject
    if c.status is Status.CALLED_BACK or not ctx.policy.callback_required:
        return None
    if c.unreached_attempts >= ctx.policy.callback_attempts:
        return None
    return (f"no callback reached the owner ({c.unreached_attempts} unreachable attempt(s) of "
            f"{ctx.policy.callback_attempts} allowed)")


def capa_number_if_needed(ctx: Context) -> str | None:
    """A complaint needing corrective action has a CAPA number on its notice (P-6.2.3)."""
    c: Complaint = ctx.subject
    if ctx.policy.require_capa_number and c.needs_capa and not (c.notice and c.notice.capa_numbers):
        return "it needs corrective action and its notice has no CAPA report number"
    return None


def announcement_if_widespread(ctx: Context) -> str | None:
    """A widespread complaint is covered by a public announcement (E-announce)."""
    c: Complaint = ctx.subject
    if ctx.policy.require_announcement and c.widespread and not c.announcements:
        return "it is widespread and no announcement covers it"
    return None


def not_paused(ctx: Context) -> str | None:
    """Clocks are not paused (resume first)."""
    return None if ctx.subject.paused_since is None else "its clocks are paused; resume first"


def paused(ctx: Context) -> str | None:
    """Clocks are paused."""
    return None if ctx.subject.paused_since is not None else "its clocks are not paused"


St = Status
_WORK = (St.DISPATCHED, St.IN_PROGRESS)


def _edges(event: str, sources: Sequence[Status], target: Status | None, *guards: Guard) -> list[Edge[Status]]:
    return [Edge(event, s, s if target is None else target, tuple(guards)) for s in sources]


_OPEN = (St.REGISTERED, St.DISPATCHED, St.ESCALATED, St.IN_PROGRESS, St.DEFERRED, St.RESOLVED, St.REPLIED,
         St.CALLED_BACK)

COMPLAINT_TABLE: TransitionTable[Status] = TransitionTable(
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
        *_edges("record_breach", _OPEN, None),
    ),
)


# ================================================================================ complaint effects
def _with(obj: T, **changes: Any) -> T:
    return replace(obj, changes)


def _text(params: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = params.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError.of(key, value, "a non-empty string")
    return value


Changes = dict[str, Any]
"""What an effect returns: the fields it changes. The step applies them, with the status and the history,
in one copy of the complaint."""


def _meet(clocks: Mapping[str, Deadline], at: dt.datetime, *names: str) -> dict[str, Deadline]:
    out = dict(clocks)
    for name in names:
        if name in out:
            out[name] = out[name].meet(at)
    return out


def _restart_reply(c: Complaint, clocks: Mapping[str, Deadline], ctx: Context) -> Changes:
    """Reopening: the old reply, callback and plan clocks are archived; a new reply clock starts now."""
    archived = tuple(clocks[n] for n in ("reply", "callback", "plan") if n in clocks)
    fresh = {n: d for n, d in clocks.items() if n not in ("reply", "callback", "plan")}
    owner = Responsible(c.notice.department, c.notice.assignee) if c.notice else Responsible()
    fresh["reply"] = Deadline.start("reply", ctx.policy.reply, ctx.at, ctx.calendar, owner)
    return {"deadlines": fresh, "past_deadlines": c.past_deadlines + archived, "deferral": None}


def _register(c: Complaint, ctx: Context) -> Changes:
    serial = ctx.params["serial"]
    reception = Responsible(ctx.policy.reception_department, ctx.actor.id)
    clocks = dict(c.deadlines)
    clocks["reply"] = Deadline.start("reply", ctx.policy.reply, c.received_at, ctx.calendar, reception)
    if c.is_repair:
        rule = ctx.policy.repair_rule(c.urgency is Urgency.EMERGENCY)
        if rule is not None:
            clocks["repair"] = Deadline.start("repair", rule, c.received_at, ctx.calendar, reception)
    return {"serial": serial, "document_number": serial, "deadlines": clocks}


def _dispatch(c: Complaint, ctx: Context) -> Changes:
    p = ctx.params
    department = p["department"]
    ctx.policy.department(department)  # refuses unknown codes
    assignee = p.get("assignee")
    if assignee is not None and (not isinstance(assignee, str) or not assignee):
        raise ValidationError.of("assignee", assignee, "None or an actor id")
    agreed = p.get("agreed_reply_by")
    assert c.serial is not None  # registered complaints always have a serial
    notice = HandlingNotice(serial=c.serial, department=department, issued_at=ctx.at, assignee=assignee,
                            agreed_reply_by=agreed)
    owner = Responsible(department, assignee)
    clocks = {n: d.assign(owner) if d.state is not ClockState.MET else d for n, d in c.deadlines.items()}
    if agreed is not None and "reply" in clocks:
        clocks["reply"] = _with(clocks["reply"], due=agreed)  # the owner was promised this time
    if c.is_repair and ctx.policy.arrival is not None:
        clocks["arrival"] = Deadline.start("arrival", ctx.policy.arrival, ctx.at, ctx.calendar, owner)
    return {"notice": notice, "deadlines": clocks}


def _defer(c: Complaint, ctx: Context) -> Changes:
    plan = _text(ctx.params, "plan")
    planned_for = ctx.params.get("planned_for")
    if not isinstance(planned_for, dt.datetime) or planned_for.utcoffset() is None or planned_for <= ctx.at:
        raise ValidationError.of("planned_for", planned_for, f"an aware datetime after {ctx.at.isoformat()}")
    minutes = max(1, math.ceil((planned_for - ctx.at) / dt.timedelta(minutes=1)))
    owner = Responsible(c.notice.department, c.notice.assignee) if c.notice else Responsible()
    clocks = _meet(c.deadlines, ctx.at, "reply")  # the owner was answered with the plan (E-defer)
    clocks["plan"] = Deadline(name="plan", rule=ClockMinutes(minutes), started_at=ctx.at, due=planned_for,
                              responsible=owner)
    return {"deferral": Deferral(plan=str(plan), planned_for=planned_for), "deadlines": clocks}


def _resolve(c: Complaint, ctx: Context) -> Changes:
    result = _text(ctx.params, "result")
    assert c.notice is not None  # resolve is reachable only after dispatch
    return {"notice": _with(c.notice, result=result), "deadlines": _meet(c.deadlines, ctx.at, "repair", "plan")}


def _reply(c: Complaint, ctx: Context) -> Changes:
    clocks = _meet(c.deadlines, ctx.at, "reply")
    if ctx.policy.callback is not None:
        owner = Responsible(ctx.policy.reception_department, None)
        clocks["callback"] = Deadline.start("callback", ctx.policy.callback, ctx.at, ctx.calendar, owner)
    return {"deadlines": clocks, "reply_note": _text(ctx.params, "note", required=False)}


def _record_callback(c: Complaint, ctx: Context) -> Changes:
    p = ctx.params
    method, reached, satisfaction = p.get("method"), p.get("reached", True), p.get("satisfaction")
    if not isinstance(method, CallbackMethod):
        raise ValidationError.of("callback method", method, f"one of {[m.value for m in CallbackMethod]}")
    if not isinstance(reached, bool):
        raise ValidationError.of("reached", reached, "True or False")
    if reached and not isinstance(satisfaction, Satisfaction):
        raise ValidationError.of("satisfaction", satisfaction, f"one of {[s.value for s in Satisfaction]}")
    if not reached and satisfaction is not None:
        raise ValidationError.of("satisfaction", satisfaction, "None when the owner was not reached")
    opinion = p.get("opinion")
    if opinion is not None and not isinstance(opinion, str):
        raise ValidationError.of("opinion", opinion, "None or a string")
    cb = Callback(method=method, reached=reached, satisfaction=satisfaction, opinion=opinion, by=ctx.actor.id,
                  at=ctx.at)
    changes: Changes = {"callbacks": (*c.callbacks, cb)}
    if not reached:
        return changes
    clocks = _meet(c.deadlines, ctx.at, "callback")
    if satisfaction is Satisfaction.DISSATISFIED:
        return {**changes, **_restart_reply(c, clocks, ctx)}
    return {**changes, "deadlines": clocks}


def _flag(c: Complaint, ctx: Context) -> Changes:
    changes: Changes = {}
    for key in ("needs_capa", "widespread"):
        value = ctx.params.get(key)
        if value is not None:
            if not isinstance(value, bool):
                raise ValidationError.of(key, value, "True, False or None")
            changes[key] = value
    if not changes:
        raise ValidationError.of("flag", ctx.params, "needs_capa and/or widespread set to True or False")
    return changes


def _link_capa(c: Complaint, ctx: Context) -> Changes:
    number = str(ctx.params["number"])
    if c.notice is None:
        raise InvalidTransition("link_capa", f"complaint {c.serial or c.id}", c.status.value, [],
                                reason="it has no handling notice yet; dispatch it first")
    if number in c.notice.capa_numbers:
        return {}
    return {"notice": _with(c.notice, capa_numbers=(*c.notice.capa_numbers, number))}


def _pause(c: Complaint, ctx: Context) -> Changes:
    _text(ctx.params, "reason")
    clocks = {n: d.pause(ctx.at) if d.state is ClockState.RUNNING else d for n, d in c.deadlines.items()}
    return {"deadlines": clocks, "paused_since": ctx.at}


def _resume(c: Complaint, ctx: Context) -> Changes:
    clocks = {n: d.resume(ctx.at, ctx.calendar) if d.state is ClockState.PAUSED else d
              for n, d in c.deadlines.items()}
    return {"deadlines": clocks, "paused_since": None}


def _escalate(c: Complaint, ctx: Context) -> Changes:
    reason = _text(ctx.params, "reason")
    return {"severity": Severity.MAJOR,
            "escalation": Escalation(reason=str(reason), escalated_by=ctx.actor.id, escalated_at=ctx.at)}


def _decide(c: Complaint, ctx: Context) -> Changes:
    decision = _text(ctx.params, "decision")
    assert c.escalation is not None  # ESCALATED is entered only through escalate
    return {"escalation": _with(c.escalation, decision=decision, decided_by=ctx.actor.id, decided_at=ctx.at)}


def _refer(c: Complaint, ctx: Context) -> Changes:
    reason, target = _text(ctx.params, "reason"), _text(ctx.params, "referred_to")
    return {"referral": Referral(reason=str(reason), referred_to=str(target)),
            "deadlines": _stop_all(c.deadlines, ctx.at, "refer")}


def _stop_all(clocks: Mapping[str, Deadline], at: dt.datetime, reason: str) -> dict[str, Deadline]:
    """Every clock not yet met stopped: the complaint has ended, and with it every obligation it carried."""
    return {n: d if d.state is ClockState.MET else d.stop(at, reason) for n, d in clocks.items()}


def _close(c: Complaint, ctx: Context) -> Changes:
    # the callback is what a close completes; anything else still running (an arrival nobody recorded, a
    # repair limit) stops here, breached if it had already run out
    return {"deadlines": _stop_all(_meet(c.deadlines, ctx.at, "callback"), ctx.at, "close")}


def _reopen(c: Complaint, ctx: Context) -> Changes:
    _text(ctx.params, "reason")
    return _restart_reply(c, c.deadlines, ctx)


def _nothing(c: Complaint, ctx: Context) -> Changes:
    return {}


COMPLAINT_EFFECTS: Mapping[str, Callable[[Complaint, Context], Changes]] = {
    "refer": _refer,
    "register": _register,
    "dispatch": _dispatch,
    "escalate": _escalate,
    "decide": _decide,
    "start": _nothing,
    "record_arrival": lambda c, ctx: {"deadlines": _meet(c.deadlines, ctx.at, "arrival")},
    "pause": _pause,
    "resume": _resume,
    "defer": _defer,
    "resolve": _resolve,
    "reply": _reply,
    "record_callback": _record_callback,
    "reopen": _reopen,
    "close": _close,
    "flag": _flag,
    "link_capa": _link_capa,
    "announce": lambda c, ctx: {"announcements": (*c.announcements, str(ctx.params["number"]))},
    "record_breach": _nothing,
}
NOTE_KEYS = ("reason", "decision", "plan", "result", "note", "opinion", "number")


def authorize(event: str, actor: Actor, policy: Policy, office: str) -> None:
    """Role from the policy and the same office, or PermissionDenied naming both."""
    allowed = policy.allowed_roles(event)
    if actor.role not in allowed:
        raise PermissionDenied(str(actor), event, sorted(r.value for r in allowed))
    if actor.office != office:
        raise PermissionDenied(str(actor), event, sorted(r.value for r in allowed),
                               reason=f"the complaint belongs to office {office!r}")


def _note(params: Mapping[str, Any]) -> str | None:
    parts = [f"{k}: {v}" for k, v in params.items() if k in NOTE_KEYS and isinstance(v, str)]
    return "; ".join(parts) or None


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


def _storable(params: Mapping[str, Any]) -> None:
    """A step's text must be text every store can keep (the actor's is checked when the Actor is made)."""
    for key, value in params.items():
        refuse_unstorable_text(key, value)


def step(complaint: Complaint, event: str, actor: Actor, policy: Policy, calendar: WorkingCalendar,
         at: dt.datetime, **params: Any) -> tuple[Complaint, Transition]:
    """One pure step of the complaint lifecycle; see the module docstring."""
    _storable(params)
    authorize(event, actor, policy, complaint.office)
    ctx = Context(complaint, actor, policy, calendar, at, params)
    edge = COMPLAINT_TABLE.resolve(event, complaint.status, ctx,
                                   lambda: f"complaint {complaint.serial or complaint.id}")
    changes = COMPLAINT_EFFECTS[event](complaint, ctx)
    changes["deadlines"] = _checked(changes.get("deadlines", complaint.deadlines), at)
    transition = Transition.record(event, complaint.status, edge.target, actor, at,
                                   _note(params) if params else None)
    changes["status"] = edge.target
    changes["history"] = (*complaint.history, transition)
    return replace(complaint, changes), transition


# ================================================================================ CAPA
def capa_verified_effective(ctx: Context) -> str | None:
    """The verification found the action effective (P-5.2)."""
    return None if ctx.params.get("effective") is True else "n/a"


def capa_verified_ineffective(ctx: Context) -> str | None:
    """The verification found the action ineffective: back to action planning."""
    return None if ctx.params.get("effective") is False else "effective must be True or False"


C = CAPAStatus
CAPA_TABLE: TransitionTable[CAPAStatus] = TransitionTable(
    name="CAPA lifecycle",
    states=CAPAStatus,
    initial=C.OPEN,
    finals=frozenset({C.CLOSED}),
    edges=(
        Edge("plan_capa", C.OPEN, C.PLANNED),
        Edge("plan_capa", C.PLANNED, C.PLANNED),
        Edge("implement_capa", C.PLANNED, C.IMPLEMENTED),
        Edge("verify_capa", C.IMPLEMENTED, C.VERIFIED, (capa_verified_effective,)),
        Edge("verify_capa", C.IMPLEMENTED, C.PLANNED, (capa_verified_ineffective,)),
        Edge("close_capa", C.VERIFIED, C.CLOSED),
    ),
)


def _plan_capa(r: CAPAReport, ctx: Context) -> CAPAReport:
    cause = _text(ctx.params, "cause")
    raw = ctx.params.get("actions")
    if not isinstance(raw, (list, tuple)) or not raw:
        raise ValidationError.of("actions", raw, "one or more (description, due) pairs")
    actions = []
    for i, item in enumerate(raw):
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str) and item[0].strip()
                and isinstance(item[1], dt.datetime) and item[1].utcoffset() is not None and item[1] > ctx.at):
            raise ValidationError.of(f"actions[{i}]", item, f"(description, aware due after {ctx.at.isoformat()})")
        actions.append(CAPAAction(description=item[0], due=item[1]))
    return _with(r, cause=cause, actions=tuple(actions))


def _implement_capa(r: CAPAReport, ctx: Context) -> CAPAReport:
    actions = tuple(a if a.done_at else _with(a, done_at=ctx.at) for a in r.actions)
    return _with(r, implemented_at=ctx.at, actions=actions)


def _verify_capa(r: CAPAReport, ctx: Context) -> CAPAReport:
    v = Verification(effective=bool(ctx.params["effective"]), by=ctx.actor.id, at=ctx.at,
                     note=_text(ctx.params, "note", required=False))
    changes: dict[str, Any] = {"verification": v, "verifications": (*r.verifications, v)}
    if not v.effective:
        changes["implemented_at"] = None
        changes["actions"] = tuple(_with(a, done_at=None) for a in r.actions)
    return _with(r, **changes)


CAPA_EFFECTS: Mapping[str, Callable[[CAPAReport, Context], CAPAReport]] = {
    "plan_capa": _plan_capa,
    "implement_capa": _implement_capa,
    "verify_capa": _verify_capa,
    "close_capa": lambda r, ctx: r,
}


def step_capa(report: CAPAReport, event: str, actor: Actor, policy: Policy, calendar: WorkingCalendar,
              at: dt.datetime, **params: Any) -> tuple[CAPAReport, Transition]:
    """One pure step of the CAPA lifecycle."""
    _storable(params)
    authorize(event, actor, policy, report.office)
    ctx = Context(report, actor, policy, calendar, at, params)
    edge = CAPA_TABLE.resolve(event, report.status, ctx, lambda: f"CAPA {report.number}")
    changed = CAPA_EFFECTS[event](report, ctx)
    transition = Transition(event=event, source=report.status, target=edge.target, actor=actor, at=at,
                            note=_note(params))
    return _with(changed, status=edge.target, history=(*report.history, transition)), transition


def render_markdown() -> str:
    """docs/lifecycle.md, generated from the tables (a test fails when the committed file is stale)."""
    head = ("# Lifecycle\n\nGenerated from `complaint_engine.lifecycle` by "
            "`python -m complaint_engine lifecycle > docs/lifecycle.md`; do not edit by hand.\n\n"
            "A complaint enters at `received` through `receive`. `referred` and `closed` are final. Events whose "
            "source and target are the same change data and clocks, not the status. Every step is recorded as a "
            "`Transition` in the complaint's history (the quality record, P-7).\n\n")
    return head + COMPLAINT_TABLE.to_markdown() + "\n" + CAPA_TABLE.to_markdown()
