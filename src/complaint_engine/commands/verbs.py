"""One frozen class per desk verb, named in the imperative, validated when made.

A command carries every argument its verb takes, under the verb's parameter names; who acts and when
(``by``, ``at``) travel beside it, to :meth:`ComplaintDesk.execute`. Making a command with a wrong type, an
unknown enum value, a naive instant or text no store can keep raises :class:`ValidationError` naming the
field — before any unit of work opens. Enum fields take their members or their string values.

What a command cannot know alone (that a category or a department exists, that a due date lies after the
instant the verb runs at) is checked when it runs, against the policy and the complaint.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable
from typing import ClassVar, Generic, TypeVar

import attrs

from complaint_engine.errors import ValidationError
from complaint_engine.model import (
    Announcement,
    AnnouncementChannel,
    CallbackMethod,
    CAPAReport,
    Channel,
    Complaint,
    Event,
    HandlingNotice,
    Satisfaction,
    Severity,
    Urgency,
    refuse_unstorable_text,
)

__all__ = [
    "COMMANDS",
    "Announce",
    "CAPACommand",
    "Close",
    "CloseCAPA",
    "Command",
    "ComplaintCommand",
    "CoverByAnnouncement",
    "Decide",
    "Defer",
    "Dispatch",
    "Escalate",
    "Flag",
    "ImplementCAPA",
    "LinkCAPA",
    "OpenCAPA",
    "Pause",
    "PlanCAPA",
    "Receive",
    "RecordArrival",
    "RecordBreach",
    "RecordCallback",
    "Refer",
    "Register",
    "Reopen",
    "Reply",
    "Resolve",
    "Resume",
    "Start",
    "VerifyCAPA",
    "member",
]

R = TypeVar("R", covariant=True)
E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")
Validator = Callable[[object, "attrs.Attribute[T]", T], None]


# ------------------------------------------------------------------------------------------- field checks
def _text(what: str | None = None) -> Validator[str]:
    """A non-empty string every store can keep."""

    def check(_: object, attribute: attrs.Attribute[str], value: object) -> None:
        name = what or attribute.name
        if not isinstance(value, str) or not value.strip():
            raise ValidationError.of(name, value, "a non-empty string")
        refuse_unstorable_text(name, value)

    return check


def _optional_text(what: str | None = None) -> Validator[str | None]:
    """None, or a non-empty string every store can keep."""

    def check(_: object, attribute: attrs.Attribute[str | None], value: object) -> None:
        if value is not None:
            name = what or attribute.name
            if not isinstance(value, str) or not value.strip():
                raise ValidationError.of(name, value, "a non-empty string")
            refuse_unstorable_text(name, value)

    return check


def _any_text(_: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    """None or any string every store can keep (an owner's opinion may be short)."""
    if value is not None and not isinstance(value, str):
        raise ValidationError.of(attribute.name, value, "None or a string")
    refuse_unstorable_text(attribute.name, value)


def _instant(_: object, attribute: attrs.Attribute[dt.datetime], value: object) -> None:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise ValidationError.of(attribute.name, value, "a timezone-aware datetime")


def _optional_instant(_: object, attribute: attrs.Attribute[dt.datetime | None], value: object) -> None:
    if value is not None and (not isinstance(value, dt.datetime) or value.utcoffset() is None):
        raise ValidationError.of(attribute.name, value, "None or a timezone-aware datetime")


def _boolean(_: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError.of(attribute.name, value, "True or False")


def _optional_boolean(_: object, attribute: attrs.Attribute[bool | None], value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise ValidationError.of(attribute.name, value, "True, False or None")


def member(kind: type[E], value: object, what: str) -> E:
    """The member itself, or the member whose value is given; else a ValidationError naming ``what`` and listing
    the allowed values."""
    if isinstance(value, kind):
        return value
    for candidate in kind:
        if candidate.value == value and type(value) is type(candidate.value):
            return candidate
    raise ValidationError.of(what, value, f"one of {[m.value for m in kind]}")


# attrs converters: enum fields take their members or their values
def _channel(value: object) -> Channel:
    return member(Channel, value, "channel")


def _severity(value: object) -> Severity:
    return member(Severity, value, "severity")


def _urgency(value: object) -> Urgency | None:
    return None if value is None else member(Urgency, value, "urgency")


def _method(value: object) -> CallbackMethod:
    return member(CallbackMethod, value, "method")


def _satisfaction(value: object) -> Satisfaction | None:
    return None if value is None else member(Satisfaction, value, "satisfaction")


def _announcement_channel(value: object) -> AnnouncementChannel:
    return member(AnnouncementChannel, value, "announcement channel")


def _problem(value: object) -> str:
    """A CAPA report's problem: a non-empty string every store can keep (a converter, so the desk can pass the
    problem a finding describes, or None for the check to refuse)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError.of("problem", value, "a non-empty string")
    refuse_unstorable_text("problem", value)
    return value


def _clocks(value: object) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(n, str) for n in value):
        raise ValidationError.of("clocks", value, "a list of clock names")
    return tuple(value)


def _ids(value: object) -> tuple[str, ...]:
    """One or more complaint ids, as a tuple."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(i, str) and i for i in value):
        return tuple(value)
    raise ValidationError.of("complaint_ids", value, "one or more complaint ids")


def _attachments(value: object) -> tuple[str, ...]:
    """References to the records of the complaint (E-records): a string is one reference."""
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Iterable):
        raise ValidationError.of("attachments", value, "a list of references")
    refs = tuple(value)
    for i, ref in enumerate(refs):
        if not isinstance(ref, str) or not ref.strip():
            raise ValidationError.of(f"attachments[{i}]", ref, "a non-empty string")
        refuse_unstorable_text(f"attachments[{i}]", ref)
    return refs


def _actions(value: object) -> tuple[tuple[str, dt.datetime], ...]:
    """CAPA actions: one or more (description, timezone-aware due) pairs."""
    refuse_unstorable_text("actions", value)
    if not isinstance(value, (list, tuple)) or not value:
        raise ValidationError.of("actions", value, "one or more (description, due) pairs")
    out = []
    for i, item in enumerate(value):
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str) and item[0].strip()
                and isinstance(item[1], dt.datetime) and item[1].utcoffset() is not None):
            raise ValidationError.of(f"actions[{i}]", item, "(description, timezone-aware due)")
        out.append((item[0], item[1]))
    return tuple(out)


_COMPLAINT_ID = _text("complaint id")
_NUMBER = _text("number")


# ------------------------------------------------------------------------------------------- the base classes
class Command(Generic[R]):
    """A desk verb as data. ``R`` is what the verb returns; ``event`` is the lifecycle event it runs."""

    __slots__ = ()
    event: ClassVar[Event]


class ComplaintCommand(Command[R]):
    """A command that steps one stored complaint (it has a ``complaint_id``)."""

    __slots__ = ()
    complaint_id: str


class CAPACommand(Command[CAPAReport]):
    """A command that steps one stored CAPA report (it has a ``number``)."""

    __slots__ = ()
    number: str


# ------------------------------------------------------------------------------------------- intake
@attrs.frozen
class Receive(Command[Complaint]):
    """Record a complaint from any channel, any hour (P-6.1.1, E-intake-24h). Personal fields stay out of
    ``repr``."""

    event: ClassVar[Event] = Event.RECEIVE
    owner: str = attrs.field(validator=_text(), repr=False)
    unit: str = attrs.field(validator=_text(), repr=False)
    channel: Channel = attrs.field(converter=_channel)
    category: str = attrs.field(validator=_text("category"))
    summary: str = attrs.field(validator=_text(), repr=False)
    severity: Severity = attrs.field(default=Severity.NORMAL, converter=_severity)
    urgency: Urgency | None = attrs.field(default=None, converter=_urgency)
    relayed_by: str | None = attrs.field(default=None, validator=_optional_text(), repr=False)
    document_number: str | None = attrs.field(default=None, validator=_optional_text())
    attachments: tuple[str, ...] = attrs.field(default=(), converter=_attachments)


@attrs.frozen
class Refer(ComplaintCommand[Complaint]):
    """Not ours: explain politely and help the owner elsewhere (E-classify). → REFERRED, no serial."""

    event: ClassVar[Event] = Event.REFER
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)
    reason: str = attrs.field(validator=_text())
    referred_to: str = attrs.field(validator=_text())


@attrs.frozen
class Register(ComplaintCommand[Complaint]):
    """Enter a valid complaint in the register with the next serial (P-6.1.2, P-6.1.3). → REGISTERED."""

    event: ClassVar[Event] = Event.REGISTER
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)


# ------------------------------------------------------------------------------------------- handling
@attrs.frozen
class Dispatch(ComplaintCommand[HandlingNotice]):
    """Issue the handling notice (P-6.2.1); ``department`` defaults to the category's; ``agreed_reply_by`` is
    the reply time agreed with the owner (E-reply). → DISPATCHED."""

    event: ClassVar[Event] = Event.DISPATCH
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)
    department: str | None = attrs.field(default=None, validator=_optional_text("department"))
    assignee: str | None = attrs.field(default=None)
    agreed_reply_by: dt.datetime | None = attrs.field(default=None, validator=_optional_instant)

    @assignee.validator
    def _assignee(self, _: attrs.Attribute[str | None], value: object) -> None:
        if value is not None and (not isinstance(value, str) or not value):
            raise ValidationError.of("assignee", value, "None or an actor id")
        refuse_unstorable_text("assignee", value)


@attrs.frozen
class Escalate(ComplaintCommand[Complaint]):
    """A major complaint goes to the policy's escalation role (P-6.2.2, E-major). → ESCALATED."""

    event: ClassVar[Event] = Event.ESCALATE
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)
    reason: str = attrs.field(validator=_text())


@attrs.frozen
class Decide(ComplaintCommand[Complaint]):
    """The escalation role records its decision. → DISPATCHED (or REGISTERED before a notice)."""

    event: ClassVar[Event] = Event.DECIDE
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)
    decision: str = attrs.field(validator=_text())


@attrs.frozen
class Start(ComplaintCommand[Complaint]):
    """The department manager starts remedial action (P-6.2.1 a, P-6.3.4). → IN_PROGRESS."""

    event: ClassVar[Event] = Event.START
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)


@attrs.frozen
class RecordArrival(ComplaintCommand[Complaint]):
    """The technician is on site (E-repair-arrive): meets the arrival clock. → IN_PROGRESS."""

    event: ClassVar[Event] = Event.RECORD_ARRIVAL
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)


@attrs.frozen
class Pause(ComplaintCommand[Complaint]):
    """Stop the running clocks (e.g. waiting for the owner to open the door)."""

    event: ClassVar[Event] = Event.PAUSE
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)
    reason: str = attrs.field(validator=_text())


@attrs.frozen
class Resume(ComplaintCommand[Complaint]):
    """Restart paused clocks; their due instants move by the paused time in each rule's units."""

    event: ClassVar[Event] = Event.RESUME
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)


@attrs.frozen
class Defer(ComplaintCommand[Complaint]):
    """Cannot be solved now: a plan explained to the owner; its date is the commitment (E-defer)."""

    event: ClassVar[Event] = Event.DEFER
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)
    plan: str = attrs.field(validator=_text())
    planned_for: dt.datetime = attrs.field(validator=_instant)


@attrs.frozen
class Resolve(ComplaintCommand[Complaint]):
    """Remedial work done; the result goes on the notice (P-6.2.4). → RESOLVED."""

    event: ClassVar[Event] = Event.RESOLVE
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)
    result: str = attrs.field(validator=_text())


@attrs.frozen
class Reply(ComplaintCommand[Complaint]):
    """The receiving office tells the owner the result (P-6.2.4): meets the reply clock. → REPLIED."""

    event: ClassVar[Event] = Event.REPLY
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)
    note: str | None = attrs.field(default=None, validator=_optional_text(), repr=False)


@attrs.frozen
class RecordCallback(ComplaintCommand[Complaint]):
    """回訪 (E-callback): reached and satisfied → CALLED_BACK; dissatisfied → reopened; unreached → an attempt.
    A reached owner gives a satisfaction; an unreached one none."""

    event: ClassVar[Event] = Event.RECORD_CALLBACK
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)
    method: CallbackMethod = attrs.field(converter=_method)
    satisfaction: Satisfaction | None = attrs.field(default=None, converter=_satisfaction)
    opinion: str | None = attrs.field(default=None, validator=_any_text, repr=False)
    reached: bool = attrs.field(default=True, validator=_boolean)

    def __attrs_post_init__(self) -> None:
        if self.reached and self.satisfaction is None:
            raise ValidationError.of("satisfaction", None, f"one of {[s.value for s in Satisfaction]}")
        if not self.reached and self.satisfaction is not None:
            raise ValidationError.of("satisfaction", self.satisfaction, "None when the owner was not reached")


@attrs.frozen
class Reopen(ComplaintCommand[Complaint]):
    """Back to the department: a new reply clock starts. → IN_PROGRESS."""

    event: ClassVar[Event] = Event.REOPEN
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)
    reason: str = attrs.field(validator=_text())


@attrs.frozen
class Close(ComplaintCommand[Complaint]):
    """Close after a reached callback (or the allowed unreachable attempts); every clock stops. → CLOSED."""

    event: ClassVar[Event] = Event.CLOSE
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)


@attrs.frozen
class Flag(ComplaintCommand[Complaint]):
    """Mark that corrective action is needed (P-6.2.1 b) and/or that the complaint is widespread."""

    event: ClassVar[Event] = Event.FLAG
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)
    needs_capa: bool | None = attrs.field(default=None, validator=_optional_boolean)
    widespread: bool | None = attrs.field(default=None, validator=_optional_boolean)

    def __attrs_post_init__(self) -> None:
        if self.needs_capa is None and self.widespread is None:
            raise ValidationError.of("flag", {"needs_capa": None, "widespread": None},
                                     "needs_capa and/or widespread set to True or False")


# ------------------------------------------------------------------------------------------- the engine's own steps
@attrs.frozen
class LinkCAPA(ComplaintCommand[Complaint]):
    """The engine's step on each complaint of a CAPA report: its number goes on the notice (P-6.2.3)."""

    event: ClassVar[Event] = Event.LINK_CAPA
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)
    number: str = attrs.field(validator=_NUMBER)


@attrs.frozen
class CoverByAnnouncement(ComplaintCommand[Complaint]):
    """The engine's step on each complaint an announcement covers (E-announce)."""

    event: ClassVar[Event] = Event.ANNOUNCE
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)
    number: str = attrs.field(validator=_NUMBER)


@attrs.frozen
class RecordBreach(ComplaintCommand[Complaint]):
    """The overdue sweep's step (Role.SYSTEM): the named clocks were found past due (E-accountability)."""

    event: ClassVar[Event] = Event.RECORD_BREACH
    complaint_id: str = attrs.field(validator=_COMPLAINT_ID)
    clocks: tuple[str, ...] = attrs.field(converter=_clocks)


# ------------------------------------------------------------------------------------------- CAPA and announcements
@attrs.frozen
class OpenCAPA(Command[CAPAReport]):
    """Open a corrective/preventive action report (P-6.2.3) for the listed complaints."""

    event: ClassVar[Event] = Event.OPEN_CAPA
    complaint_ids: tuple[str, ...] = attrs.field(converter=_ids)
    problem: str = attrs.field(converter=_problem)


@attrs.frozen
class PlanCAPA(CAPACommand):
    """Record the cause and the actions with their due dates (P-5.2). → PLANNED."""

    event: ClassVar[Event] = Event.PLAN_CAPA
    number: str = attrs.field(validator=_NUMBER)
    cause: str = attrs.field(validator=_text())
    actions: tuple[tuple[str, dt.datetime], ...] = attrs.field(converter=_actions)


@attrs.frozen
class ImplementCAPA(CAPACommand):
    """The actions are done. → IMPLEMENTED."""

    event: ClassVar[Event] = Event.IMPLEMENT_CAPA
    number: str = attrs.field(validator=_NUMBER)


@attrs.frozen
class VerifyCAPA(CAPACommand):
    """Verify effectiveness (P-5.2): effective → VERIFIED; ineffective → back to PLANNED."""

    event: ClassVar[Event] = Event.VERIFY_CAPA
    number: str = attrs.field(validator=_NUMBER)
    effective: bool = attrs.field(validator=_boolean)
    note: str | None = attrs.field(default=None, validator=_optional_text())


@attrs.frozen
class CloseCAPA(CAPACommand):
    """Close a verified CAPA. → CLOSED."""

    event: ClassVar[Event] = Event.CLOSE_CAPA
    number: str = attrs.field(validator=_NUMBER)


@attrs.frozen
class Announce(Command[Announcement]):
    """Announce the solution of a widespread problem publicly; it covers every listed complaint (E-announce)."""

    event: ClassVar[Event] = Event.ANNOUNCE
    complaint_ids: tuple[str, ...] = attrs.field(converter=_ids)
    channel: AnnouncementChannel = attrs.field(converter=_announcement_channel)
    text: str = attrs.field(validator=_text())


COMMANDS: tuple[type[Command[object]], ...] = (
    Receive, Refer, Register, Dispatch, Escalate, Decide, Start, RecordArrival, Pause, Resume, Defer, Resolve,
    Reply, RecordCallback, Reopen, Close, Flag, LinkCAPA, CoverByAnnouncement, RecordBreach, OpenCAPA, PlanCAPA,
    ImplementCAPA, VerifyCAPA, CloseCAPA, Announce,
)
"""Every command class, by name in :func:`complaint_engine.commands.from_dict`'s ``type`` tag."""
