"""ComplaintDesk: the use cases of the procedure, tying lifecycle, policy, storage and the clock.

Every verb validates its input, takes the instant (its ``at`` or the clock's now), runs one pure
lifecycle step inside one unit of work and saves the result. A refused verb raises and the store is
unchanged: the unit of work is rolled back, including any serial number it allocated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import attrs

from complaint_engine.clock import Clock, SystemClock, aware
from complaint_engine.errors import ComplaintEngineError, PermissionDenied, ValidationError
from complaint_engine.ids import time_ordered_id
from complaint_engine.lifecycle import authorize, step, step_capa
from complaint_engine.model import (
    Actor,
    Announcement,
    AnnouncementChannel,
    CallbackMethod,
    CAPAReport,
    CAPAStatus,
    Channel,
    Complaint,
    HandlingNotice,
    Role,
    Satisfaction,
    Severity,
    Status,
    Transition,
    Urgency,
    refuse_unstorable_text,
)
from complaint_engine.numbering import format_serial, sequence_key
from complaint_engine.policy import Policy
from complaint_engine.rules.sla import ClockState, Responsible
from complaint_engine.storage import Repository, UnitOfWork
from complaint_engine.storage.memory import InMemoryRepository

__all__ = ["ComplaintDesk", "OverdueItem"]

E = TypeVar("E")


@attrs.frozen
class OverdueItem:
    """A running clock past due: which complaint, which clock, when it was due, who owns it.

    ``problem`` is set when the sweep could not record the breach on this complaint (the refusal's message):
    the item is reported and the sweep goes on with the others.
    """

    complaint_id: str
    serial: str | None
    clock: str
    due: dt.datetime
    responsible: Responsible
    problem: str | None = None


def _enum(kind: type[E], value: Any, what: str) -> E:
    if isinstance(value, kind):
        return value
    try:
        return kind(value)  # type: ignore[call-arg]
    except ValueError:
        allowed = [m.value for m in kind]  # type: ignore[attr-defined]
        raise ValidationError.of(what, value, f"one of {allowed}") from None


def _nonempty(value: Any, what: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError.of(what, value, "a non-empty string")
    refuse_unstorable_text(what, value)
    return value


class ComplaintDesk:
    """The complaint procedure as verbs. Each verb is ``(id, *, by, at=None, ...)``.

    ``policy`` defaults to ``Policy.default()``, ``repository`` to an ``InMemoryRepository`` and
    ``clock`` to the ``SystemClock``. ``id_factory`` makes complaint ids (default: ``time_ordered_id``, a
    UUIDv7 in hex).
    """

    def __init__(self, *, policy: Policy | None = None, repository: Repository | None = None,
                 clock: Clock | None = None, id_factory: Callable[[], str] | None = None) -> None:
        self.policy = policy if policy is not None else Policy.default()
        self.repository: Repository = repository if repository is not None else InMemoryRepository()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.calendar = self.policy.calendar()
        self._new_id = id_factory or time_ordered_id

    # ----------------------------------------------------------------------------- instants
    def _instant(self, at: dt.datetime | None) -> dt.datetime:
        now = self.clock.now()
        if at is None:
            return now.astimezone(self.calendar.tz)
        aware("instant", at)
        if at > now + self.policy.clock_tolerance:
            raise ValidationError.of("instant", at.isoformat(), f"not later than the desk's clock {now.isoformat()} "
                                     f"plus {self.policy.clock_tolerance}")
        return at.astimezone(self.calendar.tz)

    @staticmethod
    def _actor(by: Any) -> Actor:
        if not isinstance(by, Actor):
            raise ValidationError.of("actor", by, "an Actor(id, role, office)")
        return by

    @staticmethod
    def _not_before(last: dt.datetime, at: dt.datetime, subject: str) -> None:
        if at < last:
            raise ValidationError.of(f"instant for {subject}", at.isoformat(),
                                     f"not earlier than its last transition {last.isoformat()}")

    # ----------------------------------------------------------------------------- the core
    def _apply(self, complaint_id: str, event: str, by: Actor, at: dt.datetime | None,
               prepare: Callable[[UnitOfWork, Complaint, dt.datetime], dict[str, Any]] | None = None,
               **params: Any) -> Complaint:
        actor, instant = self._actor(by), self._instant(at)
        with self.repository.unit_of_work() as uow:
            complaint = uow.get(complaint_id)
            self._not_before(complaint.last_at, instant, f"complaint {complaint.serial or complaint.id}")
            if prepare is not None:
                params.update(prepare(uow, complaint, instant))
            new, _ = step(complaint, event, actor, self.policy, self.calendar, instant, **params)
            saved = uow.save(new)
            uow.commit()
        return saved

    # ----------------------------------------------------------------------------- intake
    def receive(self, *, by: Actor, owner: str, unit: str, channel: Channel | str, category: str, summary: str,
                severity: Severity | str = Severity.NORMAL, urgency: Urgency | str | None = None,
                relayed_by: str | None = None, document_number: str | None = None,
                attachments: Iterable[str] = (), at: dt.datetime | None = None) -> Complaint:
        """Record a complaint from any channel, any hour (P-6.1.1, E-intake-24h). → RECEIVED."""
        actor, instant = self._actor(by), self._instant(at)
        authorize("receive", actor, self.policy, actor.office)
        cat = self.policy.category(category)
        urg = None if urgency is None else _enum(Urgency, urgency, "urgency")
        if cat.repair and urg is None:
            urg = Urgency.MINOR
        if not cat.repair and urg is not None:
            raise ValidationError.of("urgency", urg.value, f"None for the non-repair category {category!r}")
        files = tuple(attachments) if not isinstance(attachments, str) else (attachments,)
        for i, ref in enumerate(files):
            _nonempty(ref, f"attachments[{i}]")
        complaint = Complaint(
            id=self._new_id(), office=actor.office, owner=str(_nonempty(owner, "owner")),
            unit=str(_nonempty(unit, "unit")), channel=_enum(Channel, channel, "channel"), category=cat.code,
            summary=str(_nonempty(summary, "summary")), received_at=instant, status=Status.RECEIVED,
            severity=_enum(Severity, severity, "severity"), urgency=urg,
            relayed_by=_nonempty(relayed_by, "relayed_by", optional=True),
            document_number=_nonempty(document_number, "document_number", optional=True), attachments=files,
            history=(Transition(event="receive", source=None, target=Status.RECEIVED, actor=actor, at=instant,
                                note=f"relayed by a third party via {channel}" if relayed_by else None),),
        )
        return self.repository.add(complaint)

    def refer(self, complaint_id: str, *, by: Actor, reason: str, referred_to: str,
              at: dt.datetime | None = None) -> Complaint:
        """Not ours: explain politely and help the owner elsewhere (E-classify). → REFERRED, no serial."""
        return self._apply(complaint_id, "refer", by, at, reason=reason, referred_to=referred_to)

    def register(self, complaint_id: str, *, by: Actor, at: dt.datetime | None = None) -> Complaint:
        """Enter a valid complaint in the register with the next serial (P-6.1.2, P-6.1.3). → REGISTERED."""

        def serial(uow: UnitOfWork, c: Complaint, instant: dt.datetime) -> dict[str, Any]:
            # allocated inside the unit of work: if the lifecycle then refuses, the rollback returns the number
            seq = uow.next_number(sequence_key("complaint", c.office, instant.year))
            return {"serial": format_serial(self.policy.serial_format, c.office, instant, seq)}

        return self._apply(complaint_id, "register", by, at, prepare=serial)

    # ----------------------------------------------------------------------------- handling
    def dispatch(self, complaint_id: str, *, by: Actor, department: str | None = None, assignee: str | None = None,
                 agreed_reply_by: dt.datetime | None = None, at: dt.datetime | None = None) -> HandlingNotice:
        """Issue the handling notice to the responsible department (P-6.2.1). → DISPATCHED.

        ``department`` defaults to the category's; ``agreed_reply_by`` is the reply time agreed with the
        owner, refused when later than the policy's maximum (E-reply).
        """
        if agreed_reply_by is not None and (not isinstance(agreed_reply_by, dt.datetime)
                                            or agreed_reply_by.utcoffset() is None):
            raise ValidationError.of("agreed_reply_by", agreed_reply_by, "None or a timezone-aware datetime")

        def department_of(uow: UnitOfWork, c: Complaint, instant: dt.datetime) -> dict[str, Any]:
            return {"department": department or self.policy.category(c.category).department}

        saved = self._apply(complaint_id, "dispatch", by, at, prepare=department_of, assignee=assignee,
                            agreed_reply_by=agreed_reply_by)
        assert saved.notice is not None  # dispatch always issues the notice
        return saved.notice

    def escalate(self, complaint_id: str, *, by: Actor, reason: str, at: dt.datetime | None = None) -> Complaint:
        """A major complaint goes to the policy's escalation role (P-6.2.2, E-major). → ESCALATED."""
        return self._apply(complaint_id, "escalate", by, at, reason=reason)

    def decide(self, complaint_id: str, *, by: Actor, decision: str, at: dt.datetime | None = None) -> Complaint:
        """The escalation role records its decision. → DISPATCHED (work may start)."""
        return self._apply(complaint_id, "decide", by, at, decision=decision)

    def start(self, complaint_id: str, *, by: Actor, at: dt.datetime | None = None) -> Complaint:
        """The department manager starts remedial action (P-6.2.1 a, P-6.3.4). → IN_PROGRESS."""
        return self._apply(complaint_id, "start", by, at)

    def record_arrival(self, complaint_id: str, *, by: Actor, at: dt.datetime | None = None) -> Complaint:
        """The technician is on site (E-repair-arrive): meets the arrival clock. → IN_PROGRESS."""
        return self._apply(complaint_id, "record_arrival", by, at)

    def pause(self, complaint_id: str, *, by: Actor, reason: str, at: dt.datetime | None = None) -> Complaint:
        """Stop the running clocks (e.g. waiting for the owner to open the door)."""
        return self._apply(complaint_id, "pause", by, at, reason=reason)

    def resume(self, complaint_id: str, *, by: Actor, at: dt.datetime | None = None) -> Complaint:
        """Restart paused clocks; their due instants move by the paused time in each rule's units."""
        return self._apply(complaint_id, "resume", by, at)

    def defer(self, complaint_id: str, *, by: Actor, plan: str, planned_for: dt.datetime,
              at: dt.datetime | None = None) -> Complaint:
        """Cannot be solved now: a plan explained to the owner; its date is the commitment (E-defer)."""
        return self._apply(complaint_id, "defer", by, at, plan=plan, planned_for=planned_for)

    def resolve(self, complaint_id: str, *, by: Actor, result: str, at: dt.datetime | None = None) -> Complaint:
        """Remedial work done; the result goes on the notice (P-6.2.4). → RESOLVED."""
        return self._apply(complaint_id, "resolve", by, at, result=result)

    def reply(self, complaint_id: str, *, by: Actor, note: str | None = None,
              at: dt.datetime | None = None) -> Complaint:
        """The receiving office tells the owner the result (P-6.2.4): meets the reply clock. → REPLIED."""
        return self._apply(complaint_id, "reply", by, at, note=note)

    def record_callback(self, complaint_id: str, *, by: Actor, method: CallbackMethod | str,
                        satisfaction: Satisfaction | str | None = None, opinion: str | None = None,
                        reached: bool = True, at: dt.datetime | None = None) -> Complaint:
        """回訪 (E-callback): reached and satisfied → CALLED_BACK; dissatisfied → reopened; unreached → an
        attempt is recorded."""
        return self._apply(complaint_id, "record_callback", by, at, method=_enum(CallbackMethod, method, "method"),
                           satisfaction=None if satisfaction is None else _enum(Satisfaction, satisfaction,
                                                                                 "satisfaction"),
                           opinion=opinion, reached=reached)

    def reopen(self, complaint_id: str, *, by: Actor, reason: str, at: dt.datetime | None = None) -> Complaint:
        """Back to the department: a new reply clock starts. → IN_PROGRESS."""
        return self._apply(complaint_id, "reopen", by, at, reason=reason)

    def close(self, complaint_id: str, *, by: Actor, at: dt.datetime | None = None) -> Complaint:
        """Close after a reached callback (or the allowed unreachable attempts), with a CAPA number if
        corrective action was needed and an announcement if widespread. → CLOSED."""
        return self._apply(complaint_id, "close", by, at)

    def flag(self, complaint_id: str, *, by: Actor, needs_capa: bool | None = None, widespread: bool | None = None,
             at: dt.datetime | None = None) -> Complaint:
        """Mark that corrective action is needed (P-6.2.1 b) and/or that the complaint is widespread."""
        return self._apply(complaint_id, "flag", by, at, needs_capa=needs_capa, widespread=widespread)

    # ----------------------------------------------------------------------------- reading
    def get(self, complaint_id: str, *, by: Actor | None = None) -> Complaint:
        """The complaint; with ``by``, an actor of another office is refused."""
        complaint = self.repository.get(complaint_id)
        if by is not None and self._actor(by).office != complaint.office:
            raise PermissionDenied(str(by), "read", [], reason=f"the complaint belongs to office {complaint.office!r}")
        return complaint

    def find(self, *, office: str | None = None, status: Status | None = None,
             due_before: dt.datetime | None = None, received_from: dt.datetime | None = None,
             received_before: dt.datetime | None = None) -> list[Complaint]:
        return self.repository.find(office=office, status=status, due_before=due_before,
                                    received_from=received_from, received_before=received_before)

    def overdue(self, at: dt.datetime | None = None, *, office: str | None = None) -> list[OverdueItem]:
        """Every running clock past due at ``at``; each newly found breach is recorded on its complaint.

        One unit of work for the sweep. On PostgreSQL the due complaints are claimed ``FOR UPDATE SKIP
        LOCKED``, so several workers can sweep at once, each taking different complaints.
        """
        instant = self._instant(at)
        items: list[OverdueItem] = []
        system = Actor(id="sla-monitor", role=Role.SYSTEM, office=office or "")
        with self.repository.unit_of_work() as uow:
            claim = getattr(uow, "claim_overdue", None)
            found = (claim(instant, office=office, limit=None) if claim is not None
                     else uow.find(office=office, due_before=instant))
            for c in found:
                if c.status.ended:  # stored before clocks stopped at close: nothing runs on an ended complaint
                    continue
                late = [(n, d) for n, d in c.deadlines.items() if d.state is ClockState.RUNNING and d.due < instant]
                problem = None
                if any(not d.breached for _, d in late) and instant >= c.last_at:
                    try:
                        new, _ = step(c, "record_breach", attrs.evolve(system, office=c.office), self.policy,
                                      self.calendar, instant, note=", ".join(n for n, d in late if not d.breached))
                    except ComplaintEngineError as exc:  # one complaint refused: report it, sweep the rest
                        problem = str(exc)
                    else:
                        uow.save(new)
                items += [OverdueItem(c.id, c.serial, n, d.due, d.responsible, problem) for n, d in late]
            uow.commit()
        return items

    # ----------------------------------------------------------------------------- CAPA
    def open_capa(self, *, by: Actor, complaint_ids: Sequence[str] | None = None, problem: str | None = None,
                  at: dt.datetime | None = None, finding: Any = None) -> CAPAReport:
        """Open a corrective/preventive action report (P-6.2.3) and write its number on every linked
        complaint's notice. ``finding`` (from the recurrence analysis) supplies ids and problem."""
        if finding is not None:
            complaint_ids = complaint_ids or list(getattr(finding, "complaint_ids", ()))
            problem = problem or getattr(finding, "describe", lambda: None)()
        actor, instant = self._actor(by), self._instant(at)
        authorize("open_capa", actor, self.policy, actor.office)
        ids = list(complaint_ids or [])
        if not ids:
            raise ValidationError.of("complaint_ids", complaint_ids, "one or more complaint ids")
        text = str(_nonempty(problem, "problem"))
        with self.repository.unit_of_work() as uow:
            complaints = [uow.get(i) for i in ids]
            for c in complaints:
                if c.office != actor.office:
                    raise PermissionDenied(str(actor), "open_capa", [],
                                           reason=f"complaint {c.serial or c.id} belongs to office {c.office!r}")
                if c.status is Status.REFERRED:
                    raise ValidationError.of("complaint for a CAPA", c.id, "a registered complaint, not a referral")
            # closed complaints are final quality records: the CAPA report lists them, their notices stay as closed
            open_ones = [c for c in complaints if c.status is not Status.CLOSED]
            for c in open_ones:
                self._not_before(c.last_at, instant, f"complaint {c.serial or c.id}")
            seq = uow.next_number(sequence_key("capa", actor.office, instant.year))
            number = format_serial(self.policy.capa_format, actor.office, instant, seq)
            report = CAPAReport(number=number, office=actor.office,
                                complaint_serials=tuple(c.serial or c.id for c in complaints), problem=text,
                                opened_at=instant,
                                history=(Transition("open_capa", None, CAPAStatus.OPEN, actor, instant, text),))
            for c in open_ones:
                uow.save(step(c, "link_capa", actor, self.policy, self.calendar, instant, number=number)[0])
            uow.add_capa(report)
            uow.commit()
        return report

    def _capa(self, number: str, event: str, by: Actor, at: dt.datetime | None, **params: Any) -> CAPAReport:
        actor, instant = self._actor(by), self._instant(at)
        with self.repository.unit_of_work() as uow:
            report = uow.get_capa(number)
            self._not_before(report.history[-1].at, instant, f"CAPA {number}")
            new, _ = step_capa(report, event, actor, self.policy, self.calendar, instant, **params)
            saved = uow.save_capa(new)
            uow.commit()
        return saved

    def plan_capa(self, number: str, *, by: Actor, cause: str, actions: Sequence[tuple[str, dt.datetime]],
                  at: dt.datetime | None = None) -> CAPAReport:
        """Record the cause and the actions with their due dates (P-5.2). → PLANNED."""
        return self._capa(number, "plan_capa", by, at, cause=cause, actions=list(actions))

    def implement_capa(self, number: str, *, by: Actor, at: dt.datetime | None = None) -> CAPAReport:
        """The actions are done. → IMPLEMENTED."""
        return self._capa(number, "implement_capa", by, at)

    def verify_capa(self, number: str, *, by: Actor, effective: bool, note: str | None = None,
                    at: dt.datetime | None = None) -> CAPAReport:
        """Verify effectiveness (P-5.2): effective → VERIFIED; ineffective → back to PLANNED."""
        if not isinstance(effective, bool):
            raise ValidationError.of("effective", effective, "True or False")
        return self._capa(number, "verify_capa", by, at, effective=effective, note=note)

    def close_capa(self, number: str, *, by: Actor, at: dt.datetime | None = None) -> CAPAReport:
        """Close a verified CAPA. → CLOSED."""
        return self._capa(number, "close_capa", by, at)

    def get_capa(self, number: str) -> CAPAReport:
        return self.repository.get_capa(number)

    # ----------------------------------------------------------------------------- announcements
    def announce(self, *, by: Actor, complaint_ids: Sequence[str], channel: AnnouncementChannel | str, text: str,
                 at: dt.datetime | None = None) -> Announcement:
        """Announce the solution of a widespread problem publicly; it covers every listed complaint (E-announce)."""
        actor, instant = self._actor(by), self._instant(at)
        authorize("announce", actor, self.policy, actor.office)
        kind = _enum(AnnouncementChannel, channel, "announcement channel")
        body = str(_nonempty(text, "text"))
        if not complaint_ids:
            raise ValidationError.of("complaint_ids", complaint_ids, "one or more complaint ids")
        with self.repository.unit_of_work() as uow:
            complaints = [uow.get(i) for i in complaint_ids]
            for c in complaints:
                self._not_before(c.last_at, instant, f"complaint {c.serial or c.id}")
            seq = uow.next_number(sequence_key("announcement", actor.office, instant.year))
            number = format_serial(self.policy.announcement_format, actor.office, instant, seq)
            for c in complaints:
                uow.save(step(c, "announce", actor, self.policy, self.calendar, instant, number=number)[0])
            announcement = Announcement(number=number, office=actor.office, channel=kind, text=body,
                                        complaint_serials=tuple(c.serial or c.id for c in complaints), at=instant,
                                        by=actor.id)
            uow.add_announcement(announcement)
            uow.commit()
        return announcement

