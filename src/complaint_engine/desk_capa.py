"""The desk's verbs on CAPA reports and announcements (P-6.2.3, P-5.2, E-announce), each one command run by
:meth:`ComplaintDesk.execute` — kept apart so that the desk's module stays about complaints."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

from complaint_engine.commands.verbs import (
    Announce,
    CloseCAPA,
    Command,
    CompleteCAPAAction,
    ImplementCAPA,
    OpenCAPA,
    PlanCAPA,
    VerifyCAPA,
)
from complaint_engine.model import Actor, Announcement, AnnouncementChannel, CAPAReport
from complaint_engine.policy import Policy
from complaint_engine.storage import Repository

if TYPE_CHECKING:
    from complaint_engine.stats.recurrence import Finding

__all__ = ["CAPAVerbs"]

R = TypeVar("R")


class CAPAVerbs:
    """Mixed into :class:`~complaint_engine.desk.ComplaintDesk`, which provides the three members below."""

    policy: Policy
    repository: Repository

    def execute(self, command: Command[R], *, by: Actor, at: dt.datetime | None = None) -> R:
        raise NotImplementedError  # the desk's

    # ----------------------------------------------------------------------------- CAPA
    def open_capa(self, *, by: Actor, complaint_ids: Sequence[str] | None = None, problem: str | None = None,
                  at: dt.datetime | None = None, finding: Finding | None = None) -> CAPAReport:
        """Open a corrective/preventive action report (P-6.2.3) and write its number on every linked
        complaint's notice. ``finding`` (from the recurrence analysis) supplies ids and problem."""
        if finding is not None:
            complaint_ids = complaint_ids or list(finding.complaint_ids)
            problem = problem or finding.describe(self.policy.language, self.policy.category_label(finding.category))
        return self.execute(OpenCAPA(complaint_ids=complaint_ids, problem=problem), by=by, at=at)

    def plan_capa(self, number: str, *, by: Actor, cause: str,
                  actions: Sequence[tuple[str, dt.datetime] | tuple[str, dt.datetime, str | None]],
                  at: dt.datetime | None = None) -> CAPAReport:
        """Record the cause and the actions, each with its due date and its owner (a person or a department;
        left out, the planner) (P-5.2). → PLANNED."""
        return self.execute(PlanCAPA(number=number, cause=cause, actions=actions), by=by, at=at)

    def complete_capa_action(self, number: str, *, by: Actor, action: int | str,
                             at: dt.datetime | None = None) -> CAPAReport:
        """One planned action is done: named by its position (0, 1, …) or its exact description."""
        return self.execute(CompleteCAPAAction(number=number, action=action), by=by, at=at)

    def implement_capa(self, number: str, *, by: Actor, at: dt.datetime | None = None) -> CAPAReport:
        """Every action is completed: the report is implemented. → IMPLEMENTED."""
        return self.execute(ImplementCAPA(number=number), by=by, at=at)

    def verify_capa(self, number: str, *, by: Actor, effective: bool, note: str | None = None,
                    at: dt.datetime | None = None) -> CAPAReport:
        """Verify effectiveness (P-5.2): effective → VERIFIED; ineffective → back to PLANNED."""
        return self.execute(VerifyCAPA(number=number, effective=effective, note=note), by=by, at=at)

    def close_capa(self, number: str, *, by: Actor, at: dt.datetime | None = None) -> CAPAReport:
        """Close a verified CAPA. → CLOSED."""
        return self.execute(CloseCAPA(number=number), by=by, at=at)

    def get_capa(self, number: str) -> CAPAReport:
        return self.repository.get_capa(number)

    # ----------------------------------------------------------------------------- announcements
    def announce(self, *, by: Actor, complaint_ids: Sequence[str], channel: AnnouncementChannel | str, text: str,
                 at: dt.datetime | None = None) -> Announcement:
        """Announce the solution of a widespread problem publicly; it covers every listed complaint (E-announce)."""
        return self.execute(Announce(complaint_ids=complaint_ids, channel=channel, text=text), by=by, at=at)
