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
from collections.abc import Callable
from typing import ClassVar, TypeVar

import attrs

from complaint_engine.commands.base import (
    COMPLAINT_ID,
    NUMBER,
    CAPACommand,
    Command,
    ComplaintCommand,
    action_positions,
    clock_names,
)
from complaint_engine.commands.fields import (
    action_ref,
    actions,
    announcement_channel,
    any_text,
    attachments,
    boolean,
    channel,
    clocks,
    contact_method,
    evidence_kind,
    ids,
    instant,
    method,
    optional_boolean,
    optional_instant,
    optional_text,
    problem,
    satisfaction,
    severity,
    text,
    urgency,
)
from complaint_engine.errors import ValidationError
from complaint_engine.messages import Message
from complaint_engine.model import (
    Announcement,
    AnnouncementChannel,
    CallbackMethod,
    CAPAReport,
    Channel,
    Complaint,
    ContactMethod,
    Event,
    EvidenceKind,
    HandlingNotice,
    Satisfaction,
    Severity,
    Urgency,
    refuse_unstorable_text,
)

__all__ = [
    "COMMANDS",
    "AddEvidence",
    "Announce",
    "CAPACommand",
    "Close",
    "CloseCAPA",
    "Command",
    "ComplaintCommand",
    "CompleteCAPAAction",
    "CoverByAnnouncement",
    "Decide",
    "Defer",
    "Dispatch",
    "Escalate",
    "Flag",
    "ImplementCAPA",
    "Inform",
    "Investigate",
    "LinkCAPA",
    "LinkDuplicate",
    "Merge",
    "OpenCAPA",
    "Pause",
    "PlanCAPA",
    "Receive",
    "RecordActionOverdue",
    "RecordArrival",
    "RecordBreach",
    "RecordCallback",
    "RecordMeasure",
    "Refer",
    "Register",
    "Reopen",
    "Reply",
    "Resolve",
    "Resume",
    "Start",
    "Transfer",
    "VerifyCAPA",
]

R = TypeVar("R", covariant=True)
E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")
Validator = Callable[[object, "attrs.Attribute[T]", T], None]


# ------------------------------------------------------------------------------------------- intake
@attrs.frozen
class Receive(Command[Complaint]):
    """Record a complaint from any channel, any hour (P-6.1.1, E-intake-24h). Personal fields stay out of
    ``repr``."""

    event: ClassVar[Event] = Event.RECEIVE
    owner: str = attrs.field(validator=text(), repr=False)
    unit: str = attrs.field(validator=text(), repr=False)
    channel: Channel = attrs.field(converter=channel)
    category: str = attrs.field(validator=text("category"))
    summary: str = attrs.field(validator=text(), repr=False)
    severity: Severity = attrs.field(default=Severity.NORMAL, converter=severity)
    urgency: Urgency | None = attrs.field(default=None, converter=urgency)
    relayed_by: str | None = attrs.field(default=None, validator=optional_text(), repr=False)
    document_number: str | None = attrs.field(default=None, validator=optional_text())
    attachments: tuple[str, ...] = attrs.field(default=(), converter=attachments)
    location: str | None = attrs.field(default=None, validator=optional_text("location"))


@attrs.frozen
class Refer(ComplaintCommand[Complaint]):
    """Not ours: explain politely and help the owner elsewhere (E-classify). → REFERRED, no serial."""

    event: ClassVar[Event] = Event.REFER
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    reason: str = attrs.field(validator=text())
    referred_to: str = attrs.field(validator=text())


@attrs.frozen
class Register(ComplaintCommand[Complaint]):
    """Enter a valid complaint in the register with the next serial (P-6.1.2, P-6.1.3). → REGISTERED."""

    event: ClassVar[Event] = Event.REGISTER
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)


# ------------------------------------------------------------------------------------------- handling
@attrs.frozen
class Dispatch(ComplaintCommand[HandlingNotice]):
    """Issue the handling notice (P-6.2.1); ``department`` defaults to the category's; ``agreed_reply_by`` is
    the reply time agreed with the owner (E-reply). → DISPATCHED."""

    event: ClassVar[Event] = Event.DISPATCH
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    department: str | None = attrs.field(default=None, validator=optional_text("department"))
    assignee: str | None = attrs.field(default=None)
    agreed_reply_by: dt.datetime | None = attrs.field(default=None, validator=optional_instant)

    @assignee.validator
    def _assignee(self, _: attrs.Attribute[str | None], value: object) -> None:
        if value is not None and (not isinstance(value, str) or not value):
            raise ValidationError.of("assignee", value, "None or an actor id")
        refuse_unstorable_text("assignee", value)


@attrs.frozen
class Escalate(ComplaintCommand[Complaint]):
    """A major complaint goes to the policy's escalation role (P-6.2.2, E-major). → ESCALATED."""

    event: ClassVar[Event] = Event.ESCALATE
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    reason: str = attrs.field(validator=text())


@attrs.frozen
class Decide(ComplaintCommand[Complaint]):
    """The escalation role records its decision. → DISPATCHED (or REGISTERED before a notice)."""

    event: ClassVar[Event] = Event.DECIDE
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    decision: str = attrs.field(validator=text())


@attrs.frozen
class Start(ComplaintCommand[Complaint]):
    """The department manager starts remedial action (P-6.2.1 a, P-6.3.4). → IN_PROGRESS."""

    event: ClassVar[Event] = Event.START
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)


@attrs.frozen
class RecordArrival(ComplaintCommand[Complaint]):
    """The technician is on site (E-repair-arrive): meets the arrival clock. → IN_PROGRESS."""

    event: ClassVar[Event] = Event.RECORD_ARRIVAL
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)


@attrs.frozen
class Pause(ComplaintCommand[Complaint]):
    """Stop the running clocks (e.g. waiting for the owner to open the door)."""

    event: ClassVar[Event] = Event.PAUSE
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    reason: str = attrs.field(validator=text())


@attrs.frozen
class Resume(ComplaintCommand[Complaint]):
    """Restart paused clocks; their due instants move by the paused time in each rule's units."""

    event: ClassVar[Event] = Event.RESUME
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)


@attrs.frozen
class Defer(ComplaintCommand[Complaint]):
    """Cannot be solved now: a plan explained to the owner; its date is the commitment (E-defer)."""

    event: ClassVar[Event] = Event.DEFER
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    plan: str = attrs.field(validator=text())
    planned_for: dt.datetime = attrs.field(validator=instant)


@attrs.frozen
class Resolve(ComplaintCommand[Complaint]):
    """Remedial work done; the result goes on the notice (P-6.2.4). → RESOLVED."""

    event: ClassVar[Event] = Event.RESOLVE
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    result: str = attrs.field(validator=text())


@attrs.frozen
class Reply(ComplaintCommand[Complaint]):
    """The receiving office tells the owner the result (P-6.2.4): meets the reply clock. → REPLIED."""

    event: ClassVar[Event] = Event.REPLY
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    note: str | None = attrs.field(default=None, validator=optional_text(), repr=False)


@attrs.frozen
class RecordCallback(ComplaintCommand[Complaint]):
    """回訪 (E-callback): reached and satisfied → CALLED_BACK; dissatisfied → reopened; unreached → an attempt.
    A reached owner gives a satisfaction; an unreached one none."""

    event: ClassVar[Event] = Event.RECORD_CALLBACK
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    method: CallbackMethod = attrs.field(converter=method)
    satisfaction: Satisfaction | None = attrs.field(default=None, converter=satisfaction)
    opinion: str | None = attrs.field(default=None, validator=any_text, repr=False)
    reached: bool = attrs.field(default=True, validator=boolean)

    def __attrs_post_init__(self) -> None:
        if self.reached and self.satisfaction is None:
            raise ValidationError.of("satisfaction", None, Message("one of {0}", [s.value for s in Satisfaction]))
        if not self.reached and self.satisfaction is not None:
            raise ValidationError.of("satisfaction", self.satisfaction, "None when the owner was not reached")


@attrs.frozen
class Reopen(ComplaintCommand[Complaint]):
    """Back to the department: a new reply clock starts. → IN_PROGRESS."""

    event: ClassVar[Event] = Event.REOPEN
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    reason: str = attrs.field(validator=text())


@attrs.frozen
class Close(ComplaintCommand[Complaint]):
    """Close after a reached callback (or the allowed unreachable attempts); every clock stops. → CLOSED."""

    event: ClassVar[Event] = Event.CLOSE
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)


@attrs.frozen
class Flag(ComplaintCommand[Complaint]):
    """Mark that corrective action is needed (P-6.2.1 b) and/or that the complaint is widespread."""

    event: ClassVar[Event] = Event.FLAG
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    needs_capa: bool | None = attrs.field(default=None, validator=optional_boolean)
    widespread: bool | None = attrs.field(default=None, validator=optional_boolean)

    def __attrs_post_init__(self) -> None:
        if self.needs_capa is None and self.widespread is None:
            raise ValidationError.of("flag", {"needs_capa": None, "widespread": None},
                                     "needs_capa and/or widespread set to True or False")


@attrs.frozen
class Inform(ComplaintCommand[Complaint]):
    """Tell the owner of progress (the update clock): records the contact and re-arms the clock. Allowed in any
    open state."""

    event: ClassVar[Event] = Event.INFORM
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    note: str = attrs.field(validator=text(), repr=False)
    method: ContactMethod = attrs.field(default=ContactMethod.PHONE, converter=contact_method)


@attrs.frozen
class Transfer(ComplaintCommand[Complaint]):
    """Hand a dispatched complaint over to another department (or person): same serial and notice, the notice
    records the hand-over; running clocks continue, owned from now on by the new department."""

    event: ClassVar[Event] = Event.TRANSFER
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    department: str = attrs.field(validator=text("department"))
    reason: str = attrs.field(validator=text(), repr=False)
    assignee: str | None = attrs.field(default=None, validator=optional_text("assignee"))


@attrs.frozen
class AddEvidence(ComplaintCommand[Complaint]):
    """Append a photo, recording, document or job sheet (E-records), at any state — a closed quality record may
    be added to, never changed. ``reference`` is the host's opaque URI of the file."""

    event: ClassVar[Event] = Event.ADD_EVIDENCE
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    reference: str = attrs.field(validator=text("reference"), repr=False)
    kind: EvidenceKind = attrs.field(converter=evidence_kind)
    note: str | None = attrs.field(default=None, validator=optional_text(), repr=False)


@attrs.frozen
class Investigate(ComplaintCommand[Complaint]):
    """Record the cause found for a complaint (P-5.2), whether or not it needs a CAPA report."""

    event: ClassVar[Event] = Event.INVESTIGATE
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    cause: str = attrs.field(validator=text(), repr=False)


@attrs.frozen
class RecordMeasure(ComplaintCommand[Complaint]):
    """Record the measure taken for a breached clock (E-accountability, 處分): against whom (a staff id) and
    what; who decided it is the actor."""

    event: ClassVar[Event] = Event.RECORD_MEASURE
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    clock: str = attrs.field(validator=text("clock"))
    person: str = attrs.field(validator=text("person"))
    measure: str = attrs.field(validator=text(), repr=False)


@attrs.frozen
class Merge(ComplaintCommand[Complaint]):
    """The complaint is a duplicate of ``into`` (same owner and unit): it becomes MERGED, its running clocks stop
    (met by the merge), and the master lists it; a callback on the master covers it."""

    event: ClassVar[Event] = Event.MERGE
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    into: str = attrs.field(validator=text("into"))
    reason: str = attrs.field(validator=text(), repr=False)

    def __attrs_post_init__(self) -> None:
        if self.into == self.complaint_id:
            raise ValidationError.of("into", self.into, "another complaint than the duplicate itself")


# ------------------------------------------------------------------------------------------- the engine's own steps
@attrs.frozen
class LinkCAPA(ComplaintCommand[Complaint]):
    """The engine's step on each complaint of a CAPA report: its number goes on the notice (P-6.2.3)."""

    event: ClassVar[Event] = Event.LINK_CAPA
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    number: str = attrs.field(validator=NUMBER)


@attrs.frozen
class LinkDuplicate(ComplaintCommand[Complaint]):
    """The engine's step on the master of a merge: it lists the duplicate."""

    event: ClassVar[Event] = Event.LINK_DUPLICATE
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    duplicate: str = attrs.field(validator=text("duplicate"))


@attrs.frozen
class CoverByAnnouncement(ComplaintCommand[Complaint]):
    """The engine's step on each complaint an announcement covers (E-announce)."""

    event: ClassVar[Event] = Event.ANNOUNCE
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    number: str = attrs.field(validator=NUMBER)


@attrs.frozen
class RecordBreach(ComplaintCommand[Complaint]):
    """The sweep's step (Role.SYSTEM): the named clocks were found past due (E-accountability), and the warnings
    (``"clock@threshold"``) fell due."""

    event: ClassVar[Event] = Event.RECORD_BREACH
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    clocks: tuple[str, ...] = attrs.field(converter=clocks)
    warnings: tuple[str, ...] = attrs.field(default=(), converter=clock_names)


# ------------------------------------------------------------------------------------------- CAPA and announcements
@attrs.frozen
class OpenCAPA(Command[CAPAReport]):
    """Open a corrective/preventive action report (P-6.2.3) for the listed complaints."""

    event: ClassVar[Event] = Event.OPEN_CAPA
    complaint_ids: tuple[str, ...] = attrs.field(converter=ids)
    problem: str = attrs.field(converter=problem)


@attrs.frozen
class PlanCAPA(CAPACommand):
    """Record the cause and the actions with their due dates (P-5.2). → PLANNED."""

    event: ClassVar[Event] = Event.PLAN_CAPA
    number: str = attrs.field(validator=NUMBER)
    cause: str = attrs.field(validator=text())
    actions: tuple[tuple[str, dt.datetime, str | None], ...] = attrs.field(converter=actions)


@attrs.frozen
class CompleteCAPAAction(CAPACommand):
    """One planned action is done (by its position or its exact description)."""

    event: ClassVar[Event] = Event.COMPLETE_CAPA_ACTION
    number: str = attrs.field(validator=NUMBER)
    action: int | str = attrs.field(converter=action_ref)


@attrs.frozen
class ImplementCAPA(CAPACommand):
    """The actions are done. → IMPLEMENTED."""

    event: ClassVar[Event] = Event.IMPLEMENT_CAPA
    number: str = attrs.field(validator=NUMBER)


@attrs.frozen
class VerifyCAPA(CAPACommand):
    """Verify effectiveness (P-5.2): effective → VERIFIED; ineffective → back to PLANNED."""

    event: ClassVar[Event] = Event.VERIFY_CAPA
    number: str = attrs.field(validator=NUMBER)
    effective: bool = attrs.field(validator=boolean)
    note: str | None = attrs.field(default=None, validator=optional_text())


@attrs.frozen
class RecordActionOverdue(CAPACommand):
    """The sweep's step on a CAPA report (Role.SYSTEM): the actions at these positions passed their due undone."""

    event: ClassVar[Event] = Event.RECORD_ACTION_OVERDUE
    number: str = attrs.field(validator=NUMBER)
    actions: tuple[int, ...] = attrs.field(converter=action_positions)


@attrs.frozen
class CloseCAPA(CAPACommand):
    """Close a verified CAPA. → CLOSED."""

    event: ClassVar[Event] = Event.CLOSE_CAPA
    number: str = attrs.field(validator=NUMBER)


@attrs.frozen
class Announce(Command[Announcement]):
    """Announce the solution of a widespread problem publicly; it covers every listed complaint (E-announce)."""

    event: ClassVar[Event] = Event.ANNOUNCE
    complaint_ids: tuple[str, ...] = attrs.field(converter=ids)
    channel: AnnouncementChannel = attrs.field(converter=announcement_channel)
    text: str = attrs.field(validator=text())


COMMANDS: tuple[type[Command[object]], ...] = (
    Receive, Refer, Register, Dispatch, Escalate, Decide, Start, RecordArrival, Pause, Resume, Defer, Resolve,
    Reply, RecordCallback, Reopen, Close, Flag, Inform, Transfer, AddEvidence, Investigate, RecordMeasure, Merge,
    LinkCAPA, LinkDuplicate, CoverByAnnouncement, RecordBreach, OpenCAPA, PlanCAPA, CompleteCAPAAction,
    ImplementCAPA, VerifyCAPA, CloseCAPA, RecordActionOverdue, Announce,
)
"""Every command class, by name in :func:`complaint_engine.commands.from_dict`'s ``type`` tag."""
