"""Domain events: what happened, told to the host system through a transactional outbox.

Each transition of a complaint, CAPA report or announcement is one event, and each breach the engine finds
is a ``deadline.breached``; they are recorded in the same unit of work as the change (a refused or
rolled-back verb leaves none) and read back in position order (``desk.events()``, ``desk.subscribe()``).

Kinds are stable dotted names in the past tense: ``complaint.`` + the verb (``complaint.registered``,
``complaint.callback_recorded``), ``capa.opened`` …, ``announcement.published``, ``deadline.breached``.
An event's ``data`` is plain JSON-able values: what changed (a status, a serial, a clock, its due and who
owns it) — never an owner's name, phone, unit or free text.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

import attrs

from complaint_engine.frozen import frozen_dict
from complaint_engine.model import Actor, CAPAReport, Complaint, Event, Transition

__all__ = ["KINDS", "DomainEvent", "capa_event", "complaint_events", "event_kind"]

EventValue = str | int | float | bool | None
_PAST: Mapping[Event, str] = {
    Event.RECEIVE: "complaint.received", Event.REFER: "complaint.referred", Event.REGISTER: "complaint.registered",
    Event.DISPATCH: "complaint.dispatched", Event.ESCALATE: "complaint.escalated", Event.DECIDE: "complaint.decided",
    Event.START: "complaint.started", Event.RECORD_ARRIVAL: "complaint.arrival_recorded",
    Event.PAUSE: "complaint.paused", Event.RESUME: "complaint.resumed", Event.DEFER: "complaint.deferred",
    Event.RESOLVE: "complaint.resolved", Event.REPLY: "complaint.replied",
    Event.RECORD_CALLBACK: "complaint.callback_recorded", Event.REOPEN: "complaint.reopened",
    Event.CLOSE: "complaint.closed", Event.FLAG: "complaint.flagged", Event.LINK_CAPA: "complaint.capa_linked",
    Event.ANNOUNCE: "complaint.announced", Event.INFORM: "complaint.informed",
    Event.TRANSFER: "complaint.transferred", Event.ADD_EVIDENCE: "complaint.evidence_added",
    Event.INVESTIGATE: "complaint.investigated", Event.RECORD_MEASURE: "complaint.measure_recorded",
    Event.COMPLETE_CAPA_ACTION: "capa.action_completed",
    Event.MERGE: "complaint.merged", Event.LINK_DUPLICATE: "complaint.duplicate_linked",
    Event.ERASE: "complaint.erased",
    Event.OPEN_CAPA: "capa.opened", Event.PLAN_CAPA: "capa.planned", Event.IMPLEMENT_CAPA: "capa.implemented",
    Event.VERIFY_CAPA: "capa.verified", Event.CLOSE_CAPA: "capa.closed",
    Event.RECORD_ACTION_OVERDUE: "capa.action_overdue",
}
KINDS = (*_PAST.values(), "announcement.published", "deadline.warning", "deadline.breached", "register.year_closed")
_PAST = {**_PAST, Event.RECORD_BREACH: "deadline.breached"}
"""Every kind of event the engine records."""


def event_kind(event: str) -> str:
    """The kind of the event a transition records (``"register"`` → ``"complaint.registered"``)."""
    return _PAST[Event(event)]


def _data(value: Mapping[str, EventValue]) -> Mapping[str, EventValue]:
    return frozen_dict(value)


@attrs.frozen(kw_only=True, slots=False)
class DomainEvent:
    """One thing that happened. ``position`` is 0 until the store records it; then strictly increasing in the
    order a reader sees events."""

    kind: str
    office: str
    at: dt.datetime
    actor: Actor | None = None
    complaint_id: str | None = None
    number: str | None = None  # a CAPA report's or an announcement's
    serial: str | None = None
    data: Mapping[str, EventValue] = attrs.field(factory=dict, converter=_data)
    position: int = 0

    @classmethod
    def stored(cls, row: tuple[int, str, str, str | None, str | None, str | None, str, object, object, object, str],
               actor: Actor | None) -> DomainEvent:
        """An event read back from a store's row (position, kind, office, complaint_id, number, serial, at, three
        actor columns, data as JSON): built without ``__init__`` (readers load events by the million); its
        instant and data are parsed when first read."""
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", {
            "position": row[0], "kind": row[1], "office": row[2], "complaint_id": row[3], "number": row[4],
            "serial": row[5], "actor": actor, "_stored_at": row[6], "_stored_data": row[10]})
        return event

    def __getattr__(self, name: str) -> object:
        # only for a stored event's fields not parsed yet (a normal attribute lookup finds every other)
        state = self.__dict__
        if name == "at" and "_stored_at" in state:
            instant = state["at"] = dt.datetime.fromisoformat(state["_stored_at"])
            return instant
        if name == "data" and "_stored_data" in state:
            data = state["data"] = frozen_dict(json.loads(state["_stored_data"]))
            return data
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def _instant(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def complaint_events(before: Complaint | None, after: Complaint, transition: Transition) -> list[DomainEvent]:
    """The events of one step of a complaint: its transition, and a ``deadline.breached`` for each clock the
    step found newly breached. What changed, never personal data or free text."""
    data: dict[str, EventValue] = {"source": None if transition.source is None else transition.source.value,
                                   "target": transition.target.value}
    notice = after.notice
    if transition.event == Event.REGISTER:
        data["serial"] = after.serial
    elif transition.event == Event.DISPATCH and notice is not None:
        data.update(department=notice.department, assignee=notice.assignee)
    elif transition.event == Event.DEFER and after.deferral is not None:
        data["planned_for"] = after.deferral.planned_for.isoformat()
    elif transition.event == Event.RECORD_CALLBACK and after.callbacks:
        cb = after.callbacks[-1]
        data.update(method=cb.method.value, reached=cb.reached,
                    satisfaction=None if cb.satisfaction is None else cb.satisfaction.value)
    elif transition.event == Event.TRANSFER and notice is not None and notice.transfers:
        handover = notice.transfers[-1]
        data.update(from_department=handover.from_department, from_assignee=handover.from_assignee,
                    department=handover.to_department, assignee=handover.to_assignee)
    elif transition.event == Event.ADD_EVIDENCE and after.evidence:
        data.update(kind=after.evidence[-1].kind.value, evidence=len(after.evidence))  # never the reference
    elif transition.event == Event.MERGE:
        data["into"] = after.merged_into
    elif transition.event == Event.LINK_DUPLICATE and after.merged:
        data["duplicate"] = after.merged[-1]
    elif transition.event == Event.RECORD_MEASURE and after.measures:
        data["clock"] = after.measures[-1].clock  # whom and what stay in the record, not in the event
    elif transition.event in (Event.LINK_CAPA, Event.ANNOUNCE):
        data["number"] = (notice.capa_numbers[-1] if transition.event == Event.LINK_CAPA and notice
                          else after.announcements[-1] if after.announcements else None)
    out = [] if transition.event == Event.RECORD_BREACH else [  # a breach is told by deadline.breached
        DomainEvent(kind=event_kind(transition.event), office=after.office, at=transition.at,
                    actor=transition.actor, complaint_id=after.id, serial=after.serial, data=data)]
    was = {} if before is None else before.deadlines
    for name, clock in after.deadlines.items():
        told = set(was[name].warned) if name in was else set()
        out += [DomainEvent(kind="deadline.warning", office=after.office, at=transition.at, actor=transition.actor,
                            complaint_id=after.id, serial=after.serial,
                            data={"clock": name, "threshold": threshold, "due": clock.due.isoformat(),
                                  "department": clock.responsible.department, "person": clock.responsible.person,
                                  "service_level": clock.service_level})
                for threshold in clock.warned if threshold not in told]
        if clock.breached and not (name in was and was[name].breached):
            out.append(DomainEvent(
                kind="deadline.breached", office=after.office, at=transition.at, actor=transition.actor,
                complaint_id=after.id, serial=after.serial,
                data={"clock": name, "due": clock.due.isoformat(), "met_at": _instant(clock.met_at),
                      "department": clock.responsible.department, "person": clock.responsible.person,
                      "service_level": clock.service_level}))
    return out


def capa_events(before: CAPAReport, report: CAPAReport, transition: Transition) -> list[DomainEvent]:
    """The events of one step of a CAPA report: ``capa.action_overdue`` for each action newly told overdue (its
    position and due, not its text), else the step itself."""
    if transition.event == Event.RECORD_ACTION_OVERDUE:
        return [DomainEvent(kind="capa.action_overdue", office=report.office, at=transition.at,
                            actor=transition.actor, number=report.number,
                            data={"action": i, "due": a.due.isoformat(),
                                  "complaints": ",".join(report.complaint_serials)})
                for i, (old, a) in enumerate(zip(before.actions, report.actions, strict=True))
                if a.overdue_told and not old.overdue_told]
    event = capa_event(report, transition)
    if transition.event == Event.COMPLETE_CAPA_ACTION:
        done = next(i for i, (old, a) in enumerate(zip(before.actions, report.actions, strict=True))
                    if a.done_at is not None and old.done_at is None)
        event = attrs.evolve(event, data={**event.data, "action": done, "owner": report.actions[done].owner})
    return [event]


def capa_event(report: CAPAReport, transition: Transition) -> DomainEvent:
    """The event of one step of a CAPA report (its number, its status; not its free text)."""
    return DomainEvent(kind=event_kind(transition.event), office=report.office, at=transition.at,
                       actor=transition.actor, number=report.number,
                       data={"source": None if transition.source is None else transition.source.value,
                             "target": transition.target.value, "complaints": ",".join(report.complaint_serials)})
