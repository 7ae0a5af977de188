"""The use cases behind the desk's commands: each runs inside the unit of work the desk opened, steps the
lifecycle, saves, and adds the events of what it changed to the outbox. The desk validates who acts and when,
opens and commits the unit of work, and delivers the events after commit."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

from complaint_engine.commands.privacy import EraseComplaint, ErasePerson
from complaint_engine.commands.register import CloseYear, YearClosed, closed_year_key
from complaint_engine.commands.verbs import (
    Announce,
    CAPACommand,
    ComplaintCommand,
    CoverByAnnouncement,
    LinkCAPA,
    LinkDuplicate,
    Merge,
    OpenCAPA,
    Receive,
    Register,
)
from complaint_engine.errors import NotFound, PermissionDenied, ValidationError
from complaint_engine.events import DomainEvent, capa_event, capa_events, complaint_events
from complaint_engine.lifecycle import authorize, step, step_capa
from complaint_engine.lifecycle.clocks import started
from complaint_engine.lifecycle.erasure import ERASED
from complaint_engine.messages import Message
from complaint_engine.model import (
    Actor,
    Announcement,
    CAPAReport,
    CAPAStatus,
    Complaint,
    Status,
    Transition,
    Urgency,
    replace,
)
from complaint_engine.numbering import format_serial, sequence_key
from complaint_engine.policy import Policy
from complaint_engine.rules.calendar import WorkingCalendar
from complaint_engine.rules.sla import Responsible
from complaint_engine.storage import UnitOfWork
from complaint_engine.storage.query import Filters

__all__ = ["UseCases"]


class UseCases:
    """The steps of every command, given the rules of each office and the maker of complaint ids."""

    def __init__(self, rules_for: Callable[[str], tuple[Policy, WorkingCalendar]],
                 new_id: Callable[[], str], now: Callable[[], dt.datetime] | None = None) -> None:
        self._rules_for = rules_for
        self._new_id = new_id
        self._now = now

    @staticmethod
    def not_before(last: dt.datetime, at: dt.datetime, subject: str) -> None:
        if at < last:
            raise ValidationError.of(Message("instant for {subject}", subject=subject), at.isoformat(),
                                     Message("not earlier than its last transition {0}", last.isoformat()))

    def step(self, uow: UnitOfWork, command: ComplaintCommand[object], actor: Actor, instant: dt.datetime,
             outbox: list[DomainEvent], recorded: dt.datetime) -> Complaint:
        complaint = uow.get(command.complaint_id)
        if recorded is instant and instant < complaint.last_at and self._now is not None:
            # a verb on the desk's own clock whose instant was read before another desk committed a later step of
            # this complaint: the verb happens now, after the step just read, so the clock is read again
            instant = recorded = self._now()
        self.not_before(complaint.last_at, instant, f"complaint {complaint.serial or complaint.id}")
        self.refuse_a_closed_year(uow, complaint.office, instant, recorded)
        # a serial is allocated inside the unit of work: if the lifecycle then refuses, the rollback returns it
        serial = None
        policy, calendar = self._rules_for(complaint.office)
        if isinstance(command, Register):
            key = sequence_key("complaint", complaint.office, instant.year)
            seq = uow.next_number(key)
            serial = format_serial(policy.numbering.serial_format, complaint.office, instant, seq)
            # a register imported with add_many has no sequence rows: the sequence's first number may be taken,
            # and then the next free one is the one after the imported serials (checked once a sequence)
            while seq == 1 and uow.id_of_serial(serial) is not None:
                serial = format_serial(policy.numbering.serial_format, complaint.office, instant, uow.next_number(key))
        new, transition = step(complaint, command, actor, policy, calendar, instant, serial=serial,
                               recorded_at=recorded)
        saved = uow.save(new)
        outbox.extend(complaint_events(complaint, saved, transition))
        return saved

    def receive(self, uow: UnitOfWork, cmd: Receive, actor: Actor, instant: dt.datetime,
                outbox: list[DomainEvent], recorded: dt.datetime) -> Complaint:
        policy, calendar = self._rules_for(actor.office)
        authorize("receive", actor, policy, actor.office)
        self.refuse_a_closed_year(uow, actor.office, instant, recorded)
        cat = policy.category(cmd.category)
        urgency = cmd.urgency
        if cat.repair and urgency is None:
            urgency = Urgency.MINOR
        if not cat.repair and urgency is not None:
            raise ValidationError.of("urgency", urgency.value, Message("None for the non-repair category {category!r}",
                                                                       category=cmd.category))
        complaint = Complaint(
            id=self._new_id(), office=actor.office, owner=cmd.owner, unit=cmd.unit, channel=cmd.channel,
            category=cat.code, summary=cmd.summary, received_at=instant, status=Status.RECEIVED,
            severity=cmd.severity, urgency=urgency, relayed_by=cmd.relayed_by, document_number=cmd.document_number,
            external_reference=cmd.document_number, attachments=cmd.attachments, location=cmd.location,
            history=(Transition(event="receive", source=None, target=Status.RECEIVED, actor=actor, at=instant,
                                recorded_at=recorded,
                                note=f"relayed by a third party via {cmd.channel.value}" if cmd.relayed_by else None),),
        )
        # the first response: from receipt until the complaint is registered or referred
        acknowledge = started("acknowledge", complaint, policy, calendar, instant,
                              Responsible(policy.reception_department, actor.id))
        if acknowledge is not None:
            complaint = replace(complaint, {"deadlines": {"acknowledge": acknowledge}})
        outbox.extend(complaint_events(None, complaint, complaint.history[0]))
        return uow.add(complaint)

    def merge(self, uow: UnitOfWork, cmd: Merge, actor: Actor, instant: dt.datetime,
              outbox: list[DomainEvent], recorded: dt.datetime) -> Complaint:
        duplicate, master = uow.get(cmd.complaint_id), uow.get(cmd.into)
        name = master.serial or master.id
        if master.status.ended:
            raise ValidationError.of("into", name, Message("an open complaint (it is {value})",
                                                           value=master.status.value))
        if master.office != duplicate.office:
            raise ValidationError.of("into", name, Message("a complaint of the duplicate's office {office!r}",
                                                           office=duplicate.office))
        # the values compared are personal data: the error names the complaints, never the owner or the unit
        if (master.owner, master.unit) != (duplicate.owner, duplicate.unit):
            raise ValidationError.of("into", name, "a complaint of the same owner and unit (complaints of "
                                     "different owners are grouped by an announcement, not merged)")
        merged = self.step(uow, cmd, actor, instant, outbox, recorded)
        self.step(uow, LinkDuplicate(complaint_id=master.id, duplicate=duplicate.id), actor, instant, outbox,
                  recorded)
        return merged

    def open_capa(self, uow: UnitOfWork, cmd: OpenCAPA, actor: Actor, instant: dt.datetime,
                  outbox: list[DomainEvent], recorded: dt.datetime) -> CAPAReport:
        policy, calendar = self._rules_for(actor.office)
        authorize("open_capa", actor, policy, actor.office)
        complaints = [uow.get(i) for i in cmd.complaint_ids]
        for c in complaints:
            if c.office != actor.office:
                raise PermissionDenied(actor, "open_capa", [],
                                       reason=Message("complaint {0} belongs to office {office!r}",
                                                      c.serial or c.id, office=c.office))
            if c.status is Status.REFERRED:
                raise ValidationError.of("complaint for a CAPA", c.id, "a registered complaint, not a referral")
        # closed complaints are final quality records: the CAPA report lists them, their notices stay as closed
        open_ones = [c for c in complaints if c.status is not Status.CLOSED]
        for c in open_ones:
            self.not_before(c.last_at, instant, f"complaint {c.serial or c.id}")
        seq = uow.next_number(sequence_key("capa", actor.office, instant.year))
        number = format_serial(policy.numbering.capa_format, actor.office, instant, seq)
        report = CAPAReport(number=number, office=actor.office,
                            complaint_serials=tuple(c.serial or c.id for c in complaints), problem=cmd.problem,
                            opened_at=instant,
                            history=(Transition("open_capa", None, CAPAStatus.OPEN, actor, instant, None, recorded),))
        outbox.append(capa_event(report, report.history[0]))
        for c in open_ones:
            new, transition = step(c, LinkCAPA(complaint_id=c.id, number=number), actor, policy, calendar, instant,
                                   recorded_at=recorded)
            outbox.extend(complaint_events(c, uow.save(new), transition))
        return uow.add_capa(report)

    def step_capa(self, uow: UnitOfWork, cmd: CAPACommand, actor: Actor, instant: dt.datetime,
                  outbox: list[DomainEvent], recorded: dt.datetime) -> CAPAReport:
        report = uow.get_capa(cmd.number)
        self.not_before(report.history[-1].at, instant, f"CAPA {cmd.number}")
        policy, calendar = self._rules_for(report.office)
        new, transition = step_capa(report, cmd, actor, policy, calendar, instant, recorded_at=recorded)
        outbox.extend(capa_events(report, new, transition))
        return uow.save_capa(new)

    def announce(self, uow: UnitOfWork, cmd: Announce, actor: Actor, instant: dt.datetime,
                 outbox: list[DomainEvent], recorded: dt.datetime) -> Announcement:
        policy, calendar = self._rules_for(actor.office)
        authorize("announce", actor, policy, actor.office)
        complaints = [uow.get(i) for i in cmd.complaint_ids]
        for c in complaints:
            self.not_before(c.last_at, instant, f"complaint {c.serial or c.id}")
        seq = uow.next_number(sequence_key("announcement", actor.office, instant.year))
        number = format_serial(policy.numbering.announcement_format, actor.office, instant, seq)
        announcement = Announcement(number=number, office=actor.office, channel=cmd.channel, text=cmd.text,
                                    complaint_serials=tuple(c.serial or c.id for c in complaints), at=instant,
                                    by=actor.id)
        outbox.append(DomainEvent(kind="announcement.published", office=actor.office, at=instant, actor=actor,
                                  number=number, data={"channel": cmd.channel.value,
                                                       "complaints": ",".join(announcement.complaint_serials)}))
        for c in complaints:
            new, transition = step(c, CoverByAnnouncement(complaint_id=c.id, number=number), actor, policy, calendar,
                                   instant, recorded_at=recorded)
            outbox.extend(complaint_events(c, uow.save(new), transition))
        return uow.add_announcement(announcement)

    def erase_person(self, uow: UnitOfWork, cmd: ErasePerson, actor: Actor, instant: dt.datetime,
                     outbox: list[DomainEvent], recorded: dt.datetime) -> tuple[Complaint, ...]:
        """Every complaint of the person in the actor's office pseudonymised, in this one unit of work."""
        policy, _ = self._rules_for(actor.office)
        authorize("erase", actor, policy, actor.office)  # before anything is looked up
        found = uow.find(office=actor.office, filters=Filters(owner=cmd.owner, unit=cmd.unit))
        if not found:  # names the office, never the person
            raise NotFound("complaint of that person in office", actor.office)
        # one pseudonym for the whole erasure: the person's complaints still group as one owner's
        pseudonym = f"{ERASED}{secrets.token_hex(4)}"
        given = tuple(x for x in (cmd.owner, cmd.unit, *cmd.phones) if x)
        return tuple(self.step(uow, EraseComplaint(complaint_id=c.id, pseudonym=pseudonym,
                                                   secrets=(*given, c.owner, c.unit), erase_unit=True,
                                                   reason=cmd.reason), actor, instant, outbox, recorded)
                     for c in found)

    def close_year(self, uow: UnitOfWork, cmd: CloseYear, actor: Actor, instant: dt.datetime,
                   outbox: list[DomainEvent], recorded: dt.datetime) -> YearClosed:
        """Record the first serial number the year's register did not issue; later entries dated in it are refused."""
        policy, _ = self._rules_for(actor.office)
        authorize("close_year", actor, policy, actor.office)
        zone = instant.tzinfo
        if instant < dt.datetime(cmd.year + 1, 1, 1, tzinfo=zone):
            raise ValidationError.of("year", cmd.year, Message("a year that is over (it is {0})",
                                                               instant.date().isoformat()))
        key = closed_year_key(actor.office, cmd.year)
        if uow.cursor(key):
            raise ValidationError.of("year", cmd.year, "a year whose register is not closed yet")
        last = uow.current_number(sequence_key("complaint", actor.office, cmd.year))
        uow.set_cursor(key, last + 1)
        serial = format_serial(policy.numbering.serial_format, actor.office, dt.datetime(cmd.year, 6, 1), last) \
            if last else None
        outbox.append(DomainEvent(kind="register.year_closed", office=actor.office, at=instant, actor=actor,
                                  serial=serial, data={"year": cmd.year, "issued": last}))
        return YearClosed(office=actor.office, year=cmd.year, last_serial=serial, closed_by=actor.id, closed_at=instant)

    @staticmethod
    def refuse_a_closed_year(uow: UnitOfWork, office: str, instant: dt.datetime, recorded: dt.datetime) -> None:
        """An entry dated in an earlier year than it is entered in must not reach a closed register."""
        if instant.year < recorded.astimezone(instant.tzinfo).year and uow.cursor(closed_year_key(office,
                                                                                                 instant.year)):
            raise ValidationError.of("instant", instant.isoformat(),
                                     Message("a date after the register of {office} {year} was closed",
                                             office=office, year=instant.year))
