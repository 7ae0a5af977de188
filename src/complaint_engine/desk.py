"""ComplaintDesk: the use cases of the procedure, tying lifecycle, policy, storage and the clock.

Every verb validates its input, takes the instant (its ``at`` or the clock's now), runs one pure
lifecycle step inside one unit of work and saves the result. A refused verb raises and the store is
unchanged: the unit of work is rolled back, including any serial number it allocated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar, cast

from complaint_engine.clock import Clock, SystemClock, aware
from complaint_engine.commands.fields import member
from complaint_engine.commands.privacy import ErasePerson
from complaint_engine.commands.register import CloseYear, YearClosed
from complaint_engine.commands.verbs import (
    AddEvidence,
    Announce,
    CAPACommand,
    Close,
    Command,
    ComplaintCommand,
    Decide,
    Defer,
    Dispatch,
    Escalate,
    Flag,
    Inform,
    Investigate,
    Merge,
    OpenCAPA,
    Pause,
    Receive,
    RecordArrival,
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
from complaint_engine.desk_capa import CAPAVerbs
from complaint_engine.errors import ConcurrencyError, NotFound, PermissionDenied, ValidationError
from complaint_engine.events import DomainEvent
from complaint_engine.ids import time_ordered_id
from complaint_engine.instants import fixed_offset
from complaint_engine.messages import Message
from complaint_engine.model import (
    Actor,
    CallbackMethod,
    Channel,
    Complaint,
    ContactMethod,
    EvidenceKind,
    HandlingNotice,
    Satisfaction,
    Severity,
    Status,
    Urgency,
)
from complaint_engine.outbox import Hooks, Subscription, check_kinds, check_position
from complaint_engine.policy import Policy
from complaint_engine.rules.calendar import WorkingCalendar
from complaint_engine.rules.sla import ClockState
from complaint_engine.storage import Repository, UnitOfWork
from complaint_engine.storage.damaged import Found
from complaint_engine.storage.memory import InMemoryRepository
from complaint_engine.storage.query import Filters, Page
from complaint_engine.sweep import OverdueItem, overdue_actions, record_breaches
from complaint_engine.usecases import UseCases

if TYPE_CHECKING:
    pass

__all__ = ["ComplaintDesk", "OverdueItem"]

ATTEMPTS = 5  # runs of a command whose complaint another desk saved between its read and its save


def _lookup(what: str, value: object) -> str | None:
    """A lookup value: None, or non-empty text (an empty one would match nothing, silently)."""
    if value is not None and (not isinstance(value, str) or not value):
        raise ValidationError.of(what, value, "None or non-empty text")
    return value

R = TypeVar("R")


class ComplaintDesk(CAPAVerbs):
    """The complaint procedure as verbs. Each verb is ``(id, *, by, at=None, ...)``.

    ``policy`` defaults to ``Policy.default()``, ``repository`` to an ``InMemoryRepository`` and
    ``clock`` to the ``SystemClock``. ``id_factory`` makes complaint ids (default: ``time_ordered_id``, a
    UUIDv7 in hex).
    """

    def __init__(self, *, policy: Policy | None = None, repository: Repository | None = None,
                 clock: Clock | None = None, id_factory: Callable[[], str] | None = None,
                 office_policies: Mapping[str, Policy] | None = None) -> None:
        self._office_policies = dict(office_policies or {})
        for office, own in self._office_policies.items():
            if not isinstance(office, str) or not office.strip():
                raise ValidationError.of("office in office_policies", office, "an office code (non-empty text)")
            if not isinstance(own, Policy):
                raise ValidationError.of(Message("office_policies[{office!r}]",
                                                 office=office), type(own).__name__, "a Policy")
        # offices without a policy of their own are refused when only office policies are given
        self._only_listed = policy is None and bool(self._office_policies)
        self.policy = policy if policy is not None else Policy.default()
        self.repository: Repository = repository if repository is not None else InMemoryRepository()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.calendar = self.policy.calendar()
        self._calendars = {id(p): p.calendar() for p in self._office_policies.values()}
        self._new_id = id_factory or time_ordered_id
        self._cases = UseCases(self._rules_for, lambda: self._new_id(),  # read when called: tests swap it
                               now=lambda: self._instant(None))
        self.hooks = Hooks()

    def policy_for(self, office: str) -> Policy:
        """The policy an office's complaints run on: its own, else the desk's ``policy``; with only
        ``office_policies`` given, an office without one is refused naming it."""
        own = self._office_policies.get(office)
        if own is not None:
            return own
        if self._only_listed:
            raise ValidationError.of("office", office,
                                     Message("one of the offices with a policy {0}", sorted(self._office_policies)))
        return self.policy

    def _rules_for(self, office: str) -> tuple[Policy, WorkingCalendar]:
        policy = self.policy_for(office)
        return policy, (self.calendar if policy is self.policy else self._calendars[id(policy)])

    # ----------------------------------------------------------------------------- instants
    def _instant(self, at: dt.datetime | None) -> dt.datetime:
        # Instants are kept with fixed offsets: two readings in one ZoneInfo compare by wall time, so in the hour
        # repeated at the end of summer time 01:15 EST would count as earlier than 01:25 EDT. The zone is for
        # display and calendar arithmetic only. A clock reading without an offset is refused, never read as the
        # machine's local time.
        now = aware("desk clock reading", self.clock.now())
        if at is None:
            return fixed_offset(now, self.calendar.tz)
        aware("instant", at)
        if at > now + self.policy.limits.clock_tolerance:
            raise ValidationError.of("instant", at.isoformat(),
                                     Message("not later than the desk's clock {0} plus {1}", now.isoformat(),
                                             self.policy.limits.clock_tolerance))
        if at < now - self.policy.limits.max_backdate:  # a closed period's register is not rewritten afterwards
            raise ValidationError.of("instant", at.isoformat(),
                                     Message("not earlier than the desk's clock {0} minus the policy's max_backdate "
                                             "{1}", now.isoformat(), self.policy.limits.max_backdate))
        return fixed_offset(at, self.calendar.tz)

    def _stamps(self, at: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
        """When a call takes effect and when it is entered (the desk's clock): the same object when they are one
        instant, which the stores then write once."""
        instant = self._instant(at)
        return instant, instant if at is None else self._instant(None)

    @staticmethod
    def _actor(by: object) -> Actor:
        if not isinstance(by, Actor):
            raise ValidationError.of("actor", by, "an Actor(id, role, office)")
        return by

    # ----------------------------------------------------------------------------- commands
    def execute(self, command: Command[R], *, by: Actor, at: dt.datetime | None = None) -> R:
        """Run one command in one unit of work; returns what its verb returns (the complaint, the notice of a
        dispatch, the CAPA report, the announcement)."""
        actor, (instant, recorded) = self._actor(by), self._stamps(at)
        [result] = self._attempts([command], actor, instant, recorded)
        return cast(R, result)

    def execute_all(self, commands: Iterable[Command[object]], *, by: Actor,
                    at: dt.datetime | None = None) -> list[object]:
        """Run several commands in **one** unit of work, in order: all of them land, or — when one is refused —
        none (the serials they took are returned) and the refused command's own error is raised unchanged."""
        actor, (instant, recorded) = self._actor(by), self._stamps(at)
        return self._attempts(list(commands), actor, instant, recorded)

    def _attempts(self, batch: list[Command[object]], actor: Actor, instant: dt.datetime,
                  recorded: dt.datetime) -> list[object]:
        """The commands in one unit of work — again, from a fresh read, when another desk saved a complaint they
        read before they saved it (a store's optimistic check: ``ConcurrencyError``), up to :data:`ATTEMPTS`
        times in all. A unit that does not commit leaves nothing behind, its serials included."""
        attempt = 1
        while True:
            outbox: list[DomainEvent] = []
            try:
                with self.repository.unit_of_work() as uow:
                    results = [self._run(uow, command, actor, instant, outbox, recorded) for command in batch]
                    uow.append_events(outbox)
                    uow.commit()
            except ConcurrencyError:
                if attempt == ATTEMPTS:
                    raise
                attempt += 1
                continue
            self._deliver(outbox)
            return results

    def _run(self, uow: UnitOfWork, command: Command[object], actor: Actor, instant: dt.datetime,
             outbox: list[DomainEvent], recorded: dt.datetime) -> object:
        cases = self._cases
        if isinstance(command, Merge):
            return cases.merge(uow, command, actor, instant, outbox, recorded)
        if isinstance(command, ErasePerson):
            return cases.erase_person(uow, command, actor, instant, outbox, recorded)
        if isinstance(command, CloseYear):
            return cases.close_year(uow, command, actor, instant, outbox, recorded)
        if isinstance(command, ComplaintCommand):
            saved = cases.step(uow, command, actor, instant, outbox, recorded)
            return saved.notice if isinstance(command, Dispatch) else saved
        if isinstance(command, CAPACommand):
            return cases.step_capa(uow, command, actor, instant, outbox, recorded)
        if isinstance(command, Receive):
            return cases.receive(uow, command, actor, instant, outbox, recorded)
        if isinstance(command, OpenCAPA):
            return cases.open_capa(uow, command, actor, instant, outbox, recorded)
        if isinstance(command, Announce):
            return cases.announce(uow, command, actor, instant, outbox, recorded)
        raise ValidationError.of("command", command, "a command of complaint_engine.commands")

    # ----------------------------------------------------------------------------- intake
    def receive(self, *, by: Actor, owner: str, unit: str, channel: Channel | str, category: str, summary: str,
                severity: Severity | str = Severity.NORMAL, urgency: Urgency | str | None = None,
                relayed_by: str | None = None, document_number: str | None = None,
                attachments: Iterable[str] = (), location: str | None = None,
                at: dt.datetime | None = None) -> Complaint:
        """Record a complaint from any channel, any hour (P-6.1.1, E-intake-24h). → RECEIVED. ``location`` names
        where the problem is (a building, a facility such as "5座電梯"); left out, the analysis takes the unit's
        building ("3-1201" → "3")."""
        return self.execute(Receive(owner=owner, unit=unit, channel=channel, category=category,
                                    summary=summary, severity=severity, urgency=urgency, relayed_by=relayed_by,
                                    document_number=document_number, attachments=attachments, location=location),
                            by=by, at=at)

    def refer(self, complaint_id: str, *, by: Actor, reason: str, referred_to: str,
              at: dt.datetime | None = None) -> Complaint:
        """Not ours: explain politely and help the owner elsewhere (E-classify). → REFERRED, no serial."""
        return self.execute(Refer(complaint_id=complaint_id, reason=reason, referred_to=referred_to), by=by, at=at)

    def register(self, complaint_id: str, *, by: Actor, at: dt.datetime | None = None) -> Complaint:
        """Enter a valid complaint in the register with the next serial (P-6.1.2, P-6.1.3). → REGISTERED."""
        return self.execute(Register(complaint_id=complaint_id), by=by, at=at)

    # ----------------------------------------------------------------------------- handling
    def dispatch(self, complaint_id: str, *, by: Actor, department: str | None = None, assignee: str | None = None,
                 agreed_reply_by: dt.datetime | None = None, at: dt.datetime | None = None) -> HandlingNotice:
        """Issue the handling notice to the responsible department (P-6.2.1). → DISPATCHED.

        ``department`` defaults to the category's; ``agreed_reply_by`` is the reply time agreed with the
        owner, refused when later than the policy's maximum (E-reply).
        """
        return self.execute(Dispatch(complaint_id=complaint_id, department=department, assignee=assignee,
                                     agreed_reply_by=agreed_reply_by), by=by, at=at)

    def escalate(self, complaint_id: str, *, by: Actor, reason: str, at: dt.datetime | None = None) -> Complaint:
        """A major complaint goes to the policy's escalation role (P-6.2.2, E-major). → ESCALATED."""
        return self.execute(Escalate(complaint_id=complaint_id, reason=reason), by=by, at=at)

    def decide(self, complaint_id: str, *, by: Actor, decision: str, at: dt.datetime | None = None) -> Complaint:
        """The escalation role records its decision. → DISPATCHED (work may start)."""
        return self.execute(Decide(complaint_id=complaint_id, decision=decision), by=by, at=at)

    def start(self, complaint_id: str, *, by: Actor, at: dt.datetime | None = None) -> Complaint:
        """The department manager starts remedial action (P-6.2.1 a, P-6.3.4). → IN_PROGRESS."""
        return self.execute(Start(complaint_id=complaint_id), by=by, at=at)

    def record_arrival(self, complaint_id: str, *, by: Actor, at: dt.datetime | None = None) -> Complaint:
        """The technician is on site (E-repair-arrive): meets the arrival clock. → IN_PROGRESS."""
        return self.execute(RecordArrival(complaint_id=complaint_id), by=by, at=at)

    def pause(self, complaint_id: str, *, by: Actor, reason: str, at: dt.datetime | None = None) -> Complaint:
        """Stop the running clocks (e.g. waiting for the owner to open the door)."""
        return self.execute(Pause(complaint_id=complaint_id, reason=reason), by=by, at=at)

    def resume(self, complaint_id: str, *, by: Actor, at: dt.datetime | None = None) -> Complaint:
        """Restart paused clocks; their due instants move by the paused time in each rule's units."""
        return self.execute(Resume(complaint_id=complaint_id), by=by, at=at)

    def defer(self, complaint_id: str, *, by: Actor, plan: str, planned_for: dt.datetime,
              at: dt.datetime | None = None) -> Complaint:
        """Cannot be solved now: a plan explained to the owner; its date is the commitment (E-defer)."""
        return self.execute(Defer(complaint_id=complaint_id, plan=plan, planned_for=planned_for), by=by, at=at)

    def resolve(self, complaint_id: str, *, by: Actor, result: str, at: dt.datetime | None = None) -> Complaint:
        """Remedial work done; the result goes on the notice (P-6.2.4). → RESOLVED."""
        return self.execute(Resolve(complaint_id=complaint_id, result=result), by=by, at=at)

    def reply(self, complaint_id: str, *, by: Actor, note: str | None = None,
              at: dt.datetime | None = None) -> Complaint:
        """The receiving office tells the owner the result (P-6.2.4): meets the reply clock. → REPLIED."""
        return self.execute(Reply(complaint_id=complaint_id, note=note), by=by, at=at)

    def record_callback(self, complaint_id: str, *, by: Actor, method: CallbackMethod | str,
                        satisfaction: Satisfaction | str | None = None, opinion: str | None = None,
                        reached: bool = True, at: dt.datetime | None = None) -> Complaint:
        """回訪 (E-callback): reached and satisfied → CALLED_BACK; dissatisfied → reopened; unreached → an
        attempt is recorded."""
        return self.execute(RecordCallback(complaint_id=complaint_id, method=method, satisfaction=satisfaction,
                                           opinion=opinion, reached=reached), by=by, at=at)

    def reopen(self, complaint_id: str, *, by: Actor, reason: str, at: dt.datetime | None = None) -> Complaint:
        """Back to the department: a new reply clock starts. → IN_PROGRESS."""
        return self.execute(Reopen(complaint_id=complaint_id, reason=reason), by=by, at=at)

    def close(self, complaint_id: str, *, by: Actor, at: dt.datetime | None = None) -> Complaint:
        """Close after a reached callback (or the allowed unreachable attempts), with a CAPA number if
        corrective action was needed and an announcement if widespread; every clock stops. → CLOSED."""
        return self.execute(Close(complaint_id=complaint_id), by=by, at=at)

    def flag(self, complaint_id: str, *, by: Actor, needs_capa: bool | None = None, widespread: bool | None = None,
             at: dt.datetime | None = None) -> Complaint:
        """Mark that corrective action is needed (P-6.2.1 b) and/or that the complaint is widespread."""
        return self.execute(Flag(complaint_id=complaint_id, needs_capa=needs_capa, widespread=widespread),
                            by=by, at=at)

    def inform(self, complaint_id: str, *, by: Actor, note: str, method: ContactMethod | str = ContactMethod.PHONE,
               at: dt.datetime | None = None) -> Complaint:
        """Tell the owner of progress (the update clock, while deferred or past the reply): records the contact
        and re-arms the clock. Allowed in any open state."""
        return self.execute(Inform(complaint_id=complaint_id, note=note, method=method), by=by, at=at)

    def transfer(self, complaint_id: str, *, by: Actor, department: str, reason: str, assignee: str | None = None,
                 at: dt.datetime | None = None) -> Complaint:
        """Hand a dispatched complaint over to another department or person: same serial and notice, the notice
        records the hand-over (from, to, by, when, why); running clocks continue, owned from now on by the new
        department (a clock that ran out before stays with the old one)."""
        return self.execute(Transfer(complaint_id=complaint_id, department=department, reason=reason,
                                     assignee=assignee), by=by, at=at)

    def add_evidence(self, complaint_id: str, *, by: Actor, reference: str, kind: EvidenceKind | str,
                     note: str | None = None, at: dt.datetime | None = None) -> Complaint:
        """Append a photo, recording, document or job sheet (E-records) at any state, closed included;
        ``reference`` is the host's opaque URI of the file."""
        return self.execute(AddEvidence(complaint_id=complaint_id, reference=reference, kind=kind, note=note),
                            by=by, at=at)

    def investigate(self, complaint_id: str, *, by: Actor, cause: str, at: dt.datetime | None = None) -> Complaint:
        """Record the cause found (P-5.2) on any registered complaint, with or without a CAPA report."""
        return self.execute(Investigate(complaint_id=complaint_id, cause=cause), by=by, at=at)

    def record_measure(self, complaint_id: str, *, by: Actor, clock: str, person: str, measure: str,
                       at: dt.datetime | None = None) -> Complaint:
        """Record the measure taken (處分) for one of the complaint's breached clocks (E-accountability): against
        whom (a staff id) and what; ``by`` decided it."""
        return self.execute(RecordMeasure(complaint_id=complaint_id, clock=clock, person=person, measure=measure),
                            by=by, at=at)

    def merge(self, duplicate_id: str, *, into: str, by: Actor, reason: str,
              at: dt.datetime | None = None) -> Complaint:
        """The same owner reported the same problem twice: the duplicate becomes MERGED (final), pointing at the
        master ``into``; its running clocks stop, met by the merge; it keeps its serial if it had one (the register
        shows it "merged into …") and takes none if not. The master lists it; a callback on the master covers
        it. Complaints of different owners are grouped by ``announce``, never merged. Returns the duplicate."""
        return self.execute(Merge(complaint_id=duplicate_id, into=into, reason=reason), by=by, at=at)

    # ----------------------------------------------------------------------------- reading
    def erase_person(self, *, by: Actor, reason: str, owner: str | None = None, unit: str | None = None,
                     phones: Sequence[str] = (), at: dt.datetime | None = None) -> tuple[Complaint, ...]:
        """Pseudonymise every complaint of a person in the actor's office (PIPL arts. 46–47, GDPR arts. 16–17):
        found by ``owner`` and/or ``unit``; the name becomes a pseudonym, the unit keeps its building, and the
        name, the unit and ``phones`` are cut out of every text. Serials, dates, categories and clocks stay; an
        ``erase`` transition records it. On SQLite the old bytes are overwritten (docs/privacy.md)."""
        erased = self.execute(ErasePerson(reason=reason, owner=owner, unit=unit, phones=phones), by=by, at=at)
        scrub = getattr(self.repository, "scrub", None)
        if scrub is not None:
            scrub()  # the store's old copies of the pages, where it keeps them, overwritten
        return erased

    def close_year(self, year: int, *, by: Actor, at: dt.datetime | None = None) -> YearClosed:
        """Close the actor's office's register of ``year`` once it is over: its last serial is recorded, and a
        complaint received, registered or handled with a date in that year afterwards is refused."""
        return self.execute(CloseYear(year=year), by=by, at=at)

    def get(self, complaint_id: str, *, by: Actor | None = None) -> Complaint:
        """The complaint by its id or by its register serial (``"A-2024-00001"``, what owners and staff quote);
        with ``by``, an actor of another office is refused."""
        try:
            complaint = self.repository.get(complaint_id)
        except NotFound:
            found = self.repository.id_of_serial(complaint_id) if isinstance(complaint_id, str) else None
            if found is None:
                raise
            complaint = self.repository.get(found)
        if by is not None and self._actor(by).office != complaint.office:
            raise PermissionDenied(by, "read", [], reason=Message("the complaint belongs to office {office!r}",
                                                                       office=complaint.office))
        return complaint

    def find(self, *, office: str | None = None, status: Status | str | None = None,
             due_before: dt.datetime | None = None, received_from: dt.datetime | None = None,
             received_before: dt.datetime | None = None, unit: str | None = None, owner: str | None = None,
             category: str | None = None, department: str | None = None, assignee: str | None = None,
             severity: Severity | str | None = None, limit: int | None = None,
             after: str | None = None) -> Found[Complaint]:
        """Stored complaints matching every filter given (exact matches), in (received instant, id) order; a stored
        document that cannot be read is skipped and listed in the result's ``damaged``.

        Paging: ``limit`` results at most; ``after`` is the id of the last complaint of the previous page of the
        same query (keyset paging: a page never repeats or skips a complaint when others arrive meanwhile)."""
        wanted = None if status is None else member(Status, status, "status")
        filters = Filters(unit=_lookup("unit", unit), owner=_lookup("owner", owner),
                          category=_lookup("category", category), department=_lookup("department", department),
                          assignee=_lookup("assignee", assignee),
                          severity=None if severity is None else member(Severity, severity, "severity"))
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000):
            raise ValidationError.of("limit", limit, "None or an integer from 1 to 100000")
        page = None
        if after is not None:
            page = self._page_after(after, office, received_from, received_before, filters)
        return self.repository.find(office=office, status=wanted, due_before=due_before,
                                    received_from=received_from, received_before=received_before,
                                    filters=None if filters.empty else filters, limit=limit, after=page)

    def _page_after(self, after: object, office: str | None, received_from: dt.datetime | None,
                    received_before: dt.datetime | None, filters: Filters) -> Page:
        """Where the next page starts; ``after`` must name a complaint the same query could have returned (what a
        verb may have changed since — status, department, assignee, severity, clocks — is not checked)."""
        if not isinstance(after, str) or not after:
            raise ValidationError.of("after", after, "the id of the last complaint of the previous page")
        try:
            last = self.repository.get(after)
        except NotFound:
            raise ValidationError.of("after", after, "the id of a stored complaint (the last of the previous "
                                     "page)") from None
        same = (Filters(unit=filters.unit, owner=filters.owner, category=filters.category).matches(last)
                and (office is None or last.office == office)
                and (received_from is None or last.received_at >= received_from)
                and (received_before is None or last.received_at < received_before))
        if not same:
            raise ValidationError.of("after", after, "the id of a complaint this query returned (it is from "
                                     "another query)")
        return Page(last.received_at, last.id)

    def sweep(self, at: dt.datetime | None = None, *, office: str | None = None) -> Found[OverdueItem]:
        """The one writer of time-driven facts: every running clock past due at ``at``, each newly found breach
        recorded on its complaint (with a ``deadline.breached`` event), in one unit of work. On PostgreSQL the
        due complaints are claimed ``FOR UPDATE SKIP LOCKED``, so several workers can sweep at once, each taking
        different complaints."""
        items, events = record_breaches(self.repository, self._rules_for, *self._stamps(at), office,
                                        (self.policy, *self._office_policies.values()))
        self._deliver(events)
        return items

    def overdue(self, at: dt.datetime | None = None, *, office: str | None = None) -> Found[OverdueItem]:
        """Every running clock of an open complaint past due at ``at``, and every CAPA action past its due and not
        done (clock ``"capa_action"``) — a pure read: nothing is written and no lock taken (``sweep`` records the
        breaches)."""
        instant = self._instant(at)
        found = self.repository.find(office=office, due_before=instant)
        items = [OverdueItem(c.id, c.serial, name, clock.due, clock.responsible)
                 for c in found if not c.status.ended
                 for name, clock in c.deadlines.items() if clock.state is ClockState.RUNNING and clock.due < instant]
        items += overdue_actions(self.repository.find_capas(office=office), instant, self.policy_for)
        return Found(items, found.damaged)

    # ----------------------------------------------------------------------------- events
    def events(self, after: int | None = None, *, office: str | None = None, kinds: Iterable[str] | None = None,
               limit: int = 1000) -> list[DomainEvent]:
        """Recorded events after position ``after`` (from the start when None), in position order: once a
        reader has seen position N, no event at a position ≤ N appears later (docs/events.md)."""
        position = 0 if after is None else check_position(after)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError.of("limit", limit, "a positive integer")
        return self.repository.events(position, office=office, kinds=check_kinds(kinds), limit=limit)

    def subscribe(self, name: str) -> Subscription:
        """A durable, named cursor over the events (at least once; acknowledge what you handled)."""
        return Subscription(self.repository, name)

    def on(self, kind: str, handler: Callable[[DomainEvent], object]) -> None:
        """Call ``handler`` with every event of ``kind`` (``"*"``: every event) after its unit of work commits."""
        self.hooks.on(kind, handler)

    def _deliver(self, events: list[DomainEvent]) -> None:
        self.hooks.deliver(events)
