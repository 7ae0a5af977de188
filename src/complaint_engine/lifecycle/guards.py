"""The guards of the complaint lifecycle: each says why an edge is not taken (None: it may be)."""

from __future__ import annotations

from complaint_engine.commands.verbs import Dispatch, RecordCallback
from complaint_engine.lifecycle.clocks import subject_of
from complaint_engine.lifecycle.table import Context
from complaint_engine.messages import Message, Verbatim
from complaint_engine.model import Complaint, Satisfaction, Severity, Status

Ctx = Context[Complaint]


def major_escalated_and_decided(ctx: Ctx) -> str | None:
    """A MAJOR complaint is escalated and decided before work starts (P-6.2.2)."""
    c = ctx.subject
    if c.severity is Severity.MAJOR and (c.escalation is None or c.escalation.decision is None):
        return "a major complaint must be escalated and decided before work starts"
    return None


def actor_is_escalation_target(ctx: Ctx) -> str | None:
    """Only the policy's escalation role decides (P-6.2.2 general manager / E-major supervisor)."""
    if ctx.actor.role is not ctx.policy.escalation_role:
        return Message("only the escalation role {0!r} decides; actor is {1!r}", ctx.policy.escalation_role.value,
                       ctx.actor.role.value)
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
        return Message("agreed reply time {0} is later than the policy maximum {1} ({2})", agreed.isoformat(),
                       limit.isoformat(), Verbatim(rule.describe()))
    if agreed < ctx.at:
        return Message("agreed reply time {0} is in the past", agreed.isoformat())
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
    return Message("no callback reached the owner ({0} unreachable attempt(s) of {1} allowed)",
                   c.unreached_attempts, ctx.policy.callbacks.attempts)


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


def not_a_master(ctx: Ctx) -> str | None:
    """Complaints were not merged into this one (merging it would make a chain)."""
    merged = ctx.subject.merged
    return Message("{0} complaint(s) were merged into it; merge into it instead", len(merged)) if merged else None
