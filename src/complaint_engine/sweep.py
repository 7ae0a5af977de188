"""The overdue sweep: every open complaint with a running clock past due gets its breach recorded, once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import attrs

from complaint_engine.commands.verbs import RecordBreach
from complaint_engine.errors import ComplaintEngineError
from complaint_engine.events import DomainEvent, complaint_events
from complaint_engine.lifecycle import step
from complaint_engine.model import Actor, Role
from complaint_engine.policy import Policy
from complaint_engine.rules.calendar import WorkingCalendar
from complaint_engine.rules.sla import ClockState, Responsible
from complaint_engine.storage import Repository

__all__ = ["OverdueItem", "record_breaches"]


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



def record_breaches(repository: Repository, rules_for: Callable[[str], tuple[Policy, WorkingCalendar]],
                    instant: dt.datetime, office: str | None) -> tuple[list[OverdueItem], list[DomainEvent]]:
    """The overdue items at ``instant`` and the events of the breaches recorded, in one unit of work; a
    complaint that cannot be stepped is an item with its ``problem``, and the others are swept."""
    items: list[OverdueItem] = []
    outbox: list[DomainEvent] = []
    system = Actor(id="sla-monitor", role=Role.SYSTEM, office=office or "")
    with repository.unit_of_work() as uow:
        for c in uow.claim_overdue(instant, office=office, limit=None):
            if c.status.ended:  # stored before clocks stopped at close: nothing runs on an ended complaint
                continue
            late = [(n, d) for n, d in c.deadlines.items() if d.state is ClockState.RUNNING and d.due < instant]
            problem = None
            if any(not d.breached for _, d in late) and instant >= c.last_at:
                try:
                    breach = RecordBreach(complaint_id=c.id, clocks=[n for n, d in late if not d.breached])
                    policy, calendar = rules_for(c.office)
                    new, transition = step(c, breach, attrs.evolve(system, office=c.office), policy, calendar,
                                           instant)
                except ComplaintEngineError as exc:  # one complaint refused: report it, sweep the rest
                    problem = str(exc)
                else:
                    outbox.extend(complaint_events(c, uow.save(new), transition))
            items += [OverdueItem(c.id, c.serial, n, d.due, d.responsible, problem) for n, d in late]
        uow.append_events(outbox)
        uow.commit()
    return items, outbox
