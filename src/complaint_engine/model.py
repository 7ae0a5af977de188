"""The domain objects: frozen attrs classes and enums with stable string values.

Nothing here does I/O or reads the clock. Objects are immutable: the lifecycle returns new ones.
Personal data (owner, unit, relayed-by, summary, callback opinion) is kept out of ``repr``.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs

from complaint_engine.errors import ValidationError
from complaint_engine.frozen import FrozenDict, frozen_dict, replace
from complaint_engine.messages import Message
from complaint_engine.records import Evidence, EvidenceKind, Investigation, Measure, Remark, Transfer
from complaint_engine.rules.sla import Deadline

T = TypeVar("T")

__all__ = [
    "Actor",
    "Announcement",
    "AnnouncementChannel",
    "CAPAAction",
    "CAPAReport",
    "CAPAStatus",
    "Callback",
    "CallbackMethod",
    "Channel",
    "Complaint",
    "Contact",
    "ContactMethod",
    "Deferral",
    "Escalation",
    "Event",
    "Evidence",
    "EvidenceKind",
    "HandlingNotice",
    "Investigation",
    "Measure",
    "Referral",
    "Remark",
    "Role",
    "Satisfaction",
    "Severity",
    "Status",
    "Transfer",
    "Transition",
    "Urgency",
    "Verification",
    "refuse_unstorable_text",
    "replace",
]


class Event(enum.StrEnum):
    """Every event of the complaint and CAPA lifecycles. The values are the strings stored in histories and
    used as keys of a policy's permission table (a member equals its string)."""

    RECEIVE = "receive"
    REFER = "refer"
    REGISTER = "register"
    DISPATCH = "dispatch"
    ESCALATE = "escalate"
    DECIDE = "decide"
    START = "start"
    RECORD_ARRIVAL = "record_arrival"
    PAUSE = "pause"
    RESUME = "resume"
    DEFER = "defer"
    RESOLVE = "resolve"
    REPLY = "reply"
    RECORD_CALLBACK = "record_callback"
    REOPEN = "reopen"
    CLOSE = "close"
    FLAG = "flag"
    LINK_CAPA = "link_capa"  # the engine's step on each complaint of an opened CAPA report
    ANNOUNCE = "announce"  # the engine's step on each complaint an announcement covers
    RECORD_BREACH = "record_breach"  # the engine's own (Role.SYSTEM): an overdue sweep
    INFORM = "inform"  # the owner told of progress (the update clock)
    RECORD_ACTION_OVERDUE = "record_action_overdue"  # the sweep's step on a CAPA report (Role.SYSTEM)
    TRANSFER = "transfer"  # a hand-over of a dispatched complaint to another department or person
    ADD_EVIDENCE = "add_evidence"  # a photo, recording or job sheet appended, at any state
    INVESTIGATE = "investigate"  # the cause found (P-5.2), with or without a CAPA
    RECORD_MEASURE = "record_measure"  # the measure taken for a breach (E-accountability)
    COMPLETE_CAPA_ACTION = "complete_capa_action"
    MERGE = "merge"  # a duplicate merged into its master
    LINK_DUPLICATE = "link_duplicate"  # the engine's step on the master of a merge
    CLOSE_YEAR = "close_year"  # a year's register closed: nothing entered with a date in it afterwards
    ERASE = "erase"  # a person's data pseudonymised (PIPL arts. 46-47, GDPR arts. 16-17), at any state
    OPEN_CAPA = "open_capa"
    PLAN_CAPA = "plan_capa"
    IMPLEMENT_CAPA = "implement_capa"
    VERIFY_CAPA = "verify_capa"
    CLOSE_CAPA = "close_capa"


class Channel(enum.Enum):
    """How the complaint arrived (P-6.1.1): 信函, 電話, 傳真, 來人面談, plus online/app."""

    LETTER = "letter"
    PHONE = "phone"
    FAX = "fax"
    VISIT = "visit"
    ONLINE = "online"


class Status(enum.Enum):
    RECEIVED = "received"
    REFERRED = "referred"
    REGISTERED = "registered"
    DISPATCHED = "dispatched"
    ESCALATED = "escalated"
    IN_PROGRESS = "in_progress"
    DEFERRED = "deferred"
    RESOLVED = "resolved"
    REPLIED = "replied"
    CALLED_BACK = "called_back"
    CLOSED = "closed"
    MERGED = "merged"  # a duplicate of another complaint of the same owner and unit, handled as that one

    @property
    def ended(self) -> bool:
        """Closed, referred or merged: the complaint's clocks have stopped and no sweep visits it."""
        return self in _ENDED


_ENDED = frozenset({Status.CLOSED, Status.REFERRED, Status.MERGED})


class Severity(enum.Enum):
    NORMAL = "normal"
    MAJOR = "major"  # 重大投訴: a department cannot handle it, or it needs coordination


class Urgency(enum.Enum):
    """For repairs: 零修 (minor) or 急修 (emergency, not left overnight)."""

    MINOR = "minor"
    EMERGENCY = "emergency"


class Role(enum.Enum):
    RECEPTION = "reception"  # duty staff of the receiving office (值班人員 / 客戶助理)
    DEPARTMENT_MANAGER = "department_manager"
    SUPERVISOR = "supervisor"  # 客戶主管 / 物業主管
    GENERAL_MANAGER = "general_manager"
    TECHNICIAN = "technician"
    CALLBACK_OFFICER = "callback_officer"
    SYSTEM = "system"  # the engine itself, e.g. an overdue sweep recording a breach


class CallbackMethod(enum.Enum):
    PHONE = "phone"
    VISIT = "visit"


class ContactMethod(enum.Enum):
    """How the owner was told of progress (the ``inform`` verb)."""

    PHONE = "phone"
    VISIT = "visit"
    SMS = "sms"
    LETTER = "letter"
    ONLINE = "online"


class Satisfaction(enum.Enum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


class AnnouncementChannel(enum.Enum):
    BULLETIN_BOARD = "bulletin_board"  # 公告欄
    COMMUNITY_PLATFORM = "community_platform"  # 小區寬帶網 / community network platform


class CAPAStatus(enum.Enum):
    OPEN = "open"
    PLANNED = "planned"
    IMPLEMENTED = "implemented"
    VERIFIED = "verified"
    CLOSED = "closed"


def refuse_unstorable_text(what: str, value: object) -> None:
    """Refuse text that not every store can keep — PostgreSQL text cannot hold a NUL character, and no
    UTF-8 store a lone surrogate (half of a character, as a bad decoding leaves) — so that no record is kept
    by one backend and refused by another; looking inside lists and tuples."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValidationError.of(what, value, "text without NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError.of(what, value, "text of whole characters (no lone surrogates)") from None
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            refuse_unstorable_text(f"{what}[{i}]", item)



def _storable_text(what: str) -> Any:
    """An attrs validator: :func:`refuse_unstorable_text` for the field."""
    return lambda _instance, _attribute, value: refuse_unstorable_text(what, value)


def _actor_text(what: str) -> Any:
    """An attrs validator: non-empty text every store can keep (an office of ``5`` from JSON would be written, and
    poison every read of the register)."""

    def check(instance: object, _attribute: object, value: object) -> None:
        # the engine's own sweeps act for every office at once: only a SYSTEM actor may name no office
        may_be_empty = what == "actor office" and getattr(instance, "role", None) is Role.SYSTEM
        if not isinstance(value, str) or not (value.strip() or (may_be_empty and value == "")):
            raise ValidationError.of(what, value, "a non-empty string")
        refuse_unstorable_text(what, value)

    return check


def _actor_role(value: object) -> Role:
    """An attrs converter: a Role, or its text value (``"reception"``)."""
    if isinstance(value, Role):
        return value
    if isinstance(value, str):
        try:
            return Role(value)
        except ValueError:
            pass
    raise ValidationError.of("actor role", value, Message("one of {0}", [r.value for r in Role]))


@attrs.frozen
class Actor:
    """Someone acting on the desk: an id, a role (a Role or its value) and the office they act for — non-empty
    text every store can keep, checked when the Actor is made (a SYSTEM actor may name no office: a sweep of
    every office)."""

    id: str = attrs.field(validator=_actor_text("actor id"))
    role: Role = attrs.field(converter=_actor_role)
    office: str = attrs.field(validator=_actor_text("actor office"))

    def __str__(self) -> str:
        return f"{self.id!r} ({self.role.value}, office {self.office!r})"


@attrs.frozen(slots=False)
class Transition:
    """One recorded change — the quality record (P-7). ``source`` is None only for the first. ``at`` is when it
    took effect; ``recorded_at`` when it was entered (the desk's clock), None for rows stored before it was kept."""

    event: str
    source: Status | CAPAStatus | None
    target: Status | CAPAStatus
    actor: Actor
    at: dt.datetime
    note: str | None = None
    recorded_at: dt.datetime | None = None
    # the stored row's link in its complaint's hash chain (read back by SQL stores, for the audit; not compared)
    hash: str | None = attrs.field(default=None, eq=False, repr=False)

    @classmethod
    def record(cls, event: str, source: Status | CAPAStatus | None, target: Status | CAPAStatus, actor: Actor,
               at: dt.datetime, note: str | None, recorded_at: dt.datetime | None = None,
               hash: str | None = None) -> Transition:
        """The same object as ``Transition(...)``, built by filling its dict: one is made per lifecycle step,
        and the class has no validators or converters for ``__init__`` to run."""
        t = object.__new__(cls)
        t.__dict__.update(event=event, source=source, target=target, actor=actor, at=at, note=note,
                          recorded_at=recorded_at, hash=hash)
        return t


@attrs.frozen(slots=False)
class HandlingNotice:
    """投訴處理通知單: its serial is the complaint's register serial (P-6.1.3). ``department`` and ``assignee``
    are the current ones; ``transfers`` lists every hand-over since the notice was issued."""

    serial: str
    department: str
    issued_at: dt.datetime
    assignee: str | None = None
    agreed_reply_by: dt.datetime | None = None
    capa_numbers: tuple[str, ...] = ()
    result: str | None = None
    transfers: tuple[Transfer, ...] = ()


@attrs.frozen
class Referral:
    """A complaint outside the office's responsibility: why, and where the owner was sent (E-classify)."""

    reason: str
    referred_to: str


@attrs.frozen(slots=False)
class Escalation:
    """A major complaint escalated to the policy's target role and decided by it (P-6.2.2 / E-major)."""

    reason: str
    escalated_by: str
    escalated_at: dt.datetime
    decision: str | None = None
    decided_by: str | None = None
    decided_at: dt.datetime | None = None


@attrs.frozen
class Deferral:
    """A problem that cannot be solved now: the plan explained to the owner and its date (E-defer)."""

    plan: str
    planned_for: dt.datetime


@attrs.frozen(slots=False)
class Callback:
    """回訪: one callback attempt (E-callback). ``reached`` False is an unreachable attempt."""

    method: CallbackMethod
    reached: bool
    by: str
    at: dt.datetime
    satisfaction: Satisfaction | None = None
    opinion: str | None = attrs.field(default=None, repr=False)


@attrs.frozen(slots=False)
class Contact:
    """The owner told of progress (the update clock): how, by whom, when, and what was said."""

    method: ContactMethod
    by: str
    at: dt.datetime
    note: str = attrs.field(repr=False)


@attrs.frozen(slots=False)
class Complaint:
    """A complaint and its register entry. ``history`` is the chain of transitions ending in ``status``."""

    id: str
    office: str
    owner: str = attrs.field(repr=False)
    unit: str = attrs.field(repr=False)
    channel: Channel
    category: str
    summary: str = attrs.field(repr=False)
    received_at: dt.datetime
    status: Status
    severity: Severity = Severity.NORMAL
    urgency: Urgency | None = None
    serial: str | None = None
    relayed_by: str | None = attrs.field(default=None, repr=False)
    document_number: str | None = None
    attachments: tuple[str, ...] = ()
    notice: HandlingNotice | None = None
    referral: Referral | None = None
    escalation: Escalation | None = None
    deferral: Deferral | None = None
    needs_capa: bool = False
    widespread: bool = False
    announcements: tuple[str, ...] = ()
    deadlines: Mapping[str, Deadline] = attrs.field(factory=FrozenDict, converter=frozen_dict, repr=False)
    past_deadlines: tuple[Deadline, ...] = attrs.field(default=(), repr=False)
    callbacks: tuple[Callback, ...] = attrs.field(default=(), repr=False)
    reply_note: str | None = attrs.field(default=None, repr=False)
    contacts: tuple[Contact, ...] = attrs.field(default=(), repr=False)
    paused_since: dt.datetime | None = None
    external_reference: str | None = None  # the reference the owner's letter or the relaying body gave it
    location: str | None = None  # where the problem is (a building, a facility), when the intake named it
    evidence: tuple[Evidence, ...] = attrs.field(default=(), repr=False)
    investigations: tuple[Investigation, ...] = attrs.field(default=(), repr=False)
    measures: tuple[Measure, ...] = attrs.field(default=(), repr=False)
    merged_into: str | None = None  # the id of the complaint this duplicate was merged into
    merged: tuple[str, ...] = ()  # the ids of the duplicates merged into this one
    remarks: tuple[Remark, ...] = attrs.field(default=(), repr=False)
    history: tuple[Transition, ...] = attrs.field(default=(), repr=False)
    version: int = 1

    def _repr_markdown_(self) -> str:
        from complaint_engine.display import complaint_markdown

        return complaint_markdown(self)

    def _repr_html_(self) -> str:
        from complaint_engine.display import complaint_html

        return complaint_html(self)

    @property
    def cause(self) -> str | None:
        """The cause the latest investigation found."""
        return self.investigations[-1].cause if self.investigations else None

    @property
    def is_repair(self) -> bool:
        return self.urgency is not None

    @property
    def last_at(self) -> dt.datetime:
        return self.history[-1].at if self.history else self.received_at

    @property
    def unreached_attempts(self) -> int:
        """Unreachable callback attempts since the last reply."""
        count = 0
        for cb in reversed(self.callbacks):
            if cb.reached:
                break
            count += 1
        return count

    @property
    def reached_callback(self) -> Callback | None:
        return next((cb for cb in reversed(self.callbacks) if cb.reached), None)


@attrs.frozen(slots=False)
class CAPAAction:
    """One planned action of a CAPA report: what, by when, who owns it (a person or a department), and when it
    was completed and by whom."""

    description: str
    due: dt.datetime
    done_at: dt.datetime | None = None
    overdue_told: bool = False  # the sweep told once that the action passed its due undone
    owner: str | None = None
    done_by: str | None = None


@attrs.frozen
class Verification:
    """P-5.2: the effectiveness of the corrective action, verified before the CAPA closes."""

    effective: bool
    by: str
    at: dt.datetime
    note: str | None = None


@attrs.frozen(slots=False)
class CAPAReport:
    """糾正/預防措施報告 (P-6.2.3): its number is written on every linked complaint's notice."""

    number: str
    office: str
    complaint_serials: tuple[str, ...]
    problem: str
    opened_at: dt.datetime
    status: CAPAStatus = CAPAStatus.OPEN
    cause: str | None = None
    actions: tuple[CAPAAction, ...] = ()
    implemented_at: dt.datetime | None = None
    verification: Verification | None = None
    verifications: tuple[Verification, ...] = ()
    history: tuple[Transition, ...] = attrs.field(default=(), repr=False)
    version: int = 1


@attrs.frozen
class Announcement:
    """A public announcement of the solution to a widespread complaint (E-announce)."""

    number: str
    office: str
    channel: AnnouncementChannel
    text: str
    complaint_serials: tuple[str, ...]
    at: dt.datetime
    by: str
