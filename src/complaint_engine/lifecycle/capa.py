"""The CAPA state machine (P-5.2, P-6.2.3): planned actions, implemented, verified effective, closed."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from complaint_engine.commands.verbs import (
    CAPACommand,
    CloseCAPA,
    CompleteCAPAAction,
    ImplementCAPA,
    PlanCAPA,
    RecordActionOverdue,
    VerifyCAPA,
)
from complaint_engine.errors import ValidationError
from complaint_engine.lifecycle.common import authorize, transition_note
from complaint_engine.lifecycle.table import Changes, Context, Edge, Effect, TransitionTable
from complaint_engine.messages import Message
from complaint_engine.model import Actor, CAPAAction, CAPAReport, CAPAStatus, Transition, Verification, replace

if TYPE_CHECKING:
    from complaint_engine.policy import Policy
    from complaint_engine.rules.calendar import WorkingCalendar

__all__ = ["CAPA_TABLE", "step_capa"]

Ctx = Context[CAPAReport]


def _effective(ctx: Ctx) -> bool | None:
    cmd = ctx.command
    return cmd.effective if isinstance(cmd, VerifyCAPA) else None


def capa_verified_effective(ctx: Ctx) -> str | None:
    """The verification found the action effective (P-5.2)."""
    return None if _effective(ctx) is True else "n/a"


def capa_verified_ineffective(ctx: Ctx) -> str | None:
    """The verification found the action ineffective: back to action planning."""
    return None if _effective(ctx) is False else "effective must be True or False"


def all_actions_done(ctx: Ctx) -> str | None:
    """Every planned action is completed (complete_capa_action) before the report is implemented."""
    undone = [a.description for a in ctx.subject.actions if a.done_at is None]
    return Message("actions not completed yet: {0}", undone) if undone else None


def _plan_capa(r: CAPAReport, cmd: PlanCAPA, ctx: Ctx) -> Changes:
    for i, (description, due, _owner) in enumerate(cmd.actions):
        if due <= ctx.at:
            raise ValidationError.of(Message("actions[{i}]", i=i), (description, due),
                                     Message("(description, aware due after {0})", ctx.at.isoformat()))
    # an action nobody was named for is owned by the person who planned it
    return {"cause": cmd.cause,
            "actions": tuple(CAPAAction(description=text, due=due, owner=owner or ctx.actor.id)
                             for text, due, owner in cmd.actions)}


def _complete_capa_action(r: CAPAReport, cmd: CompleteCAPAAction, ctx: Ctx) -> Changes:
    names = [a.description for a in r.actions]
    if isinstance(cmd.action, int):
        if cmd.action >= len(r.actions):
            raise ValidationError.of("action", cmd.action, Message("a position below {0} (the report's actions)",
                                                                   len(r.actions)))
        index = cmd.action
    elif cmd.action in names:
        index = names.index(cmd.action)
    else:
        raise ValidationError.of("action", cmd.action, Message("one of the report's actions {names}", names=names))
    completed = r.actions[index].done_at
    if completed is not None:
        raise ValidationError.of("action", cmd.action, Message("an action not completed yet (completed at {0})",
                                                               completed.isoformat()))
    done = replace(r.actions[index], {"done_at": ctx.at, "done_by": ctx.actor.id})
    return {"actions": (*r.actions[:index], done, *r.actions[index + 1:])}


def _implement_capa(r: CAPAReport, cmd: ImplementCAPA, ctx: Ctx) -> Changes:
    return {"implemented_at": ctx.at}


def _verify_capa(r: CAPAReport, cmd: VerifyCAPA, ctx: Ctx) -> Changes:
    v = Verification(effective=cmd.effective, by=ctx.actor.id, at=ctx.at, note=cmd.note)
    changes: Changes = {"verification": v, "verifications": (*r.verifications, v)}
    if not v.effective:
        changes["implemented_at"] = None
        changes["actions"] = tuple(replace(a, {"done_at": None, "done_by": None}) for a in r.actions)
    return changes


def _close_capa(r: CAPAReport, cmd: CloseCAPA, ctx: Ctx) -> Changes:
    return {}


def _record_action_overdue(r: CAPAReport, cmd: RecordActionOverdue, ctx: Ctx) -> Changes:
    return {"actions": tuple(replace(a, {"overdue_told": True}) if i in cmd.actions else a
                             for i, a in enumerate(r.actions))}


C = CAPAStatus
CAPA_TABLE: TransitionTable[CAPAStatus, CAPAReport] = TransitionTable(
    name="CAPA lifecycle",
    states=CAPAStatus,
    initial=C.OPEN,
    finals=frozenset({C.CLOSED}),
    edges=(
        Edge("plan_capa", C.OPEN, C.PLANNED),
        Edge("plan_capa", C.PLANNED, C.PLANNED),
        Edge("complete_capa_action", C.PLANNED, C.PLANNED),
        Edge("implement_capa", C.PLANNED, C.IMPLEMENTED, (all_actions_done,)),
        Edge("verify_capa", C.IMPLEMENTED, C.VERIFIED, (capa_verified_effective,)),
        Edge("verify_capa", C.IMPLEMENTED, C.PLANNED, (capa_verified_ineffective,)),
        Edge("close_capa", C.VERIFIED, C.CLOSED),
        Edge("record_action_overdue", C.PLANNED, C.PLANNED),
    ),
    effects=(
        Effect.of(PlanCAPA, _plan_capa),
        Effect.of(CompleteCAPAAction, _complete_capa_action),
        Effect.of(ImplementCAPA, _implement_capa),
        Effect.of(VerifyCAPA, _verify_capa),
        Effect.of(CloseCAPA, _close_capa),
        Effect.of(RecordActionOverdue, _record_action_overdue),
    ),
)


def step_capa(report: CAPAReport, command: CAPACommand, actor: Actor, policy: Policy, calendar: WorkingCalendar,
              at: dt.datetime, *, recorded_at: dt.datetime | None = None) -> tuple[CAPAReport, Transition]:
    """One pure step of the CAPA lifecycle (``recorded_at``: when it was entered)."""
    event = command.event
    authorize(event, actor, policy, report.office)
    ctx = Context(report, command, actor, policy, calendar, at)
    edge = CAPA_TABLE.resolve(event, report.status, ctx, lambda: Message("CAPA {0}", report.number))
    changes = CAPA_TABLE.effect(command).apply(report, ctx)
    transition = Transition(event=event._value_, source=report.status, target=edge.target, actor=actor, at=at,
                            note=transition_note(command), recorded_at=recorded_at)
    changes["status"] = edge.target
    changes["history"] = (*report.history, transition)
    return replace(report, changes), transition
