"""The overdue sweep: every open complaint with a running clock past due gets its breach recorded, once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import attrs

from complaint_engine.commands.verbs import RecordActionOverdue, RecordBreach
from complaint_engine.errors import ComplaintEngineError
from complaint_engine.events import DomainEvent, capa_events, complaint_events
from complaint_engine.lifecycle import step, step_capa
from complaint_engine.lifecycle.clocks import subject_of
from complaint_engine.model import Actor, CAPAReport, CAPAStatus, Complaint, Role, Urgency
from complaint_engine.policy import Policy
from complaint_engine.rules.calendar import WorkingCalendar
from complaint_engine.rules.sla import ClockState, Responsible
from complaint_engine.storage import Repository
from complaint_engine.storage.damaged import DamagedRecord, Found

__all__ = ["OverdueItem", "overdue_actions", "record_breaches"]


@attrs.frozen
class OverdueItem:
    """A running clock past due: which complaint, which clock, when it was due, who owns it.

    ``problem`` is set when the sweep could not record the breach on this complaint (the refusal's message):
    the item is reported and the sweep goes on with the others. A CAPA action past its due and not done is an
    item of clock ``"capa_action"``: ``complaint_id`` and ``serial`` hold the report's number, ``action`` the
    action's position, ``responsible`` its owner.
    """

    complaint_id: str
    serial: str | None
    clock: str
    due: dt.datetime
    responsible: Responsible
    problem: str | None = None
    action: int | None = None


def late_actions(r: CAPAReport, instant: dt.datetime) -> list[int]:
    """Positions of the actions of a planned CAPA report past their due at ``instant`` and not done."""
    if r.status is not CAPAStatus.PLANNED:
        return []
    return [i for i, a in enumerate(r.actions) if a.done_at is None and a.due < instant]


def overdue_actions(reports: Iterable[CAPAReport], instant: dt.datetime,
                    policy_for: Callable[[str], Policy]) -> list[OverdueItem]:
    """Every action of a planned CAPA report past its due at ``instant`` and not done: its owner is a department
    of the office's policy, or else a person."""
    items = []
    for r in reports:
        late = late_actions(r, instant)
        if not late:
            continue
        departments = {d.code for d in policy_for(r.office).departments}
        for i in late:
            a = r.actions[i]
            owner = Responsible(department=a.owner) if a.owner in departments else Responsible(person=a.owner)
            items.append(OverdueItem(r.number, r.number, "capa_action", a.due, owner, action=i))
    return items



BATCH = 200  # complaints per unit of work of a sweep (IN_LIST of the SQL stores bounds it)
WARNING_HORIZON = dt.timedelta(days=3660)  # how far ahead a clock's due may lie for its warning to be due now


def _due_warnings(c: Complaint, policy: Policy, instant: dt.datetime) -> list[str]:
    """``clock@threshold`` of every running clock whose warning has fallen due and was not told yet (none for
    a clock already past due: its breach is told instead)."""
    subject = subject_of(c)
    out = []
    for name, clock in c.deadlines.items():
        if clock.state is not ClockState.RUNNING or clock.due <= instant:
            continue
        rule_name = ("emergency_repair" if c.urgency is Urgency.EMERGENCY else "minor_repair") \
            if name == "repair" else name
        for threshold in policy.thresholds_for(rule_name, subject):
            if threshold.text not in clock.warned and threshold.instant(clock.started_at, clock.due) <= instant:
                out.append(f"{name}@{threshold.text}")
    return out


def record_breaches(repository: Repository, rules_for: Callable[[str], tuple[Policy, WorkingCalendar]],
                    instant: dt.datetime, recorded: dt.datetime, office: str | None, policies: Iterable[Policy] = (),
                    ) -> tuple[Found[OverdueItem], list[DomainEvent]]:
    """The overdue items at ``instant`` and the events of the breaches recorded, in one unit of work; a
    complaint that cannot be stepped is an item with its ``problem``, and the others are swept."""
    items: list[OverdueItem] = []
    damaged: list[DamagedRecord] = []  # documents that cannot be read: reported, and the sweep goes on
    outbox: list[DomainEvent] = []
    system = Actor(id="sla-monitor", role=Role.SYSTEM, office=office or "")
    # warnings fall due before their clocks do: with any threshold set, the sweep reads every live complaint
    warns = any(p.warn_at or p.warn_at_by_clock or any(level.warn_at for level in p.service_levels)
                for p in policies)
    horizon = instant + (WARNING_HORIZON if warns else dt.timedelta(0))
    # In batches, each its own short unit of work: a long sweep holds SQLite's write lock (or PostgreSQL's row
    # locks) for one batch at a time, so a desk's verb waits for one batch at most.
    due = repository.due_ids(horizon, office=office)
    for start in range(0, len(due), BATCH):
        with repository.unit_of_work() as uow:
            done: list[DomainEvent] = []
            claimed = uow.claim_overdue(horizon, office=office, limit=None, ids=due[start:start + BATCH])
            damaged += claimed.damaged
            for c in claimed:
                if c.status.ended:  # stored before clocks stopped at close: nothing runs on an ended complaint
                    continue
                policy, calendar = rules_for(c.office)
                late = [(n, d) for n, d in c.deadlines.items() if d.state is ClockState.RUNNING and d.due < instant]
                warnings = _due_warnings(c, policy, instant) if warns else []
                problem = None
                if (any(not d.breached for _, d in late) or warnings) and instant >= c.last_at:
                    try:
                        breach = RecordBreach(complaint_id=c.id, clocks=[n for n, d in late if not d.breached],
                                              warnings=warnings)
                        new, transition = step(c, breach, attrs.evolve(system, office=c.office), policy, calendar,
                                               instant, recorded_at=recorded)
                    except ComplaintEngineError as exc:  # one complaint refused: report it, sweep the rest
                        problem = str(exc)
                    else:
                        done.extend(complaint_events(c, uow.save(new), transition))
                items += [OverdueItem(c.id, c.serial, n, d.due, d.responsible, problem) for n, d in late]
            uow.append_events(done)
            uow.commit()
        outbox.extend(done)
    reports = repository.find_capas(office=office)  # read once: the overdue items and the actions to tell
    outbox += _overdue_actions(repository, reports, rules_for, instant, recorded, system)
    items += overdue_actions(reports, instant, lambda o: rules_for(o)[0])
    return Found(items, damaged), outbox


def _untold(r: CAPAReport, instant: dt.datetime) -> list[int]:
    return [i for i in late_actions(r, instant) if not r.actions[i].overdue_told]


def _overdue_actions(repository: Repository, reports: Iterable[CAPAReport],
                     rules_for: Callable[[str], tuple[Policy, WorkingCalendar]], instant: dt.datetime,
                     recorded: dt.datetime, system: Actor) -> list[DomainEvent]:
    """CAPA actions past their due and not done, told once each (``capa.action_overdue``): found by a read, then
    recorded in one unit of work (none when there is nothing to tell)."""
    told: list[DomainEvent] = []
    candidates = [r.number for r in reports if _untold(r, instant)]
    if not candidates:
        return told
    with repository.unit_of_work() as uow:
        for number in candidates:
            report = uow.get_capa(number)  # as it is now, in the unit
            late = _untold(report, instant)
            if not late or instant < report.history[-1].at:
                continue
            policy, calendar = rules_for(report.office)
            try:
                new, transition = step_capa(report, RecordActionOverdue(number=report.number, actions=late),
                                            attrs.evolve(system, office=report.office), policy, calendar, instant,
                                            recorded_at=recorded)
            except ComplaintEngineError:  # a report the sweep cannot step is left for the next sweep
                continue
            told += capa_events(report, uow.save_capa(new), transition)
        uow.append_events(told)
        uow.commit()
    return told
