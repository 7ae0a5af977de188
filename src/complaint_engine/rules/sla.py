"""Clocks on a complaint: running, paused, met or breached, and who owned them.

A complaint carries several deadlines at once (reply, arrival, repair, callback, CAPA action), each
with its own rule. A deadline is immutable: every change returns a new one.

Deadlines already promised are **frozen**: ``due`` is computed when the clock starts (and again on
resume, from the same start plus the pauses), so a calendar notice published later never moves a
time limit the owner was already given. :meth:`Deadline.recomputed` applies a new calendar on request.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs
import numpy as np
import numpy.typing as npt

from complaint_engine.errors import ValidationError
from complaint_engine.frozen import replace
from complaint_engine.instants import as_utc_us, to_datetime64
from complaint_engine.messages import Message
from complaint_engine.rules.calendar import WorkingCalendar
from complaint_engine.rules.deadlines import DeadlineRule, Pause

__all__ = ["ClockState", "Deadline", "Responsible", "breached", "overdue"]


class ClockState(enum.Enum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"


@attrs.frozen
class Responsible:
    """Who owned a clock: the department and, where known, the person (never the owner/complainant)."""

    department: str | None = None
    person: str | None = None

    def __str__(self) -> str:
        return "/".join(x for x in (self.department, self.person) if x) or "unassigned"


@attrs.frozen(slots=False)
class Deadline:
    """One clock of a complaint. ``breached`` is set when it is met late, or found past due while running."""

    name: str
    rule: DeadlineRule
    started_at: dt.datetime
    due: dt.datetime
    pauses: tuple[Pause, ...] = ()
    paused_at: dt.datetime | None = None
    met_at: dt.datetime | None = None
    breached: bool = False
    responsible: Responsible = attrs.field(factory=Responsible)
    # the event that ended the clock without meeting it (``"close"``, ``"refer"``): the complaint ended, so
    # the obligation did; ``met_at`` is that instant and ``breached`` says whether it ran out first
    stopped_by: str | None = None
    service_level: str = "default"  # the level whose rule the clock runs under (the policy's own: "default")
    warned: tuple[str, ...] = ()  # the warning thresholds already told (each once, by the sweep)

    @classmethod
    def start(cls, name: str, rule: DeadlineRule, at: dt.datetime, calendar: WorkingCalendar,
              responsible: Responsible | None = None, service_level: str = "default") -> Deadline:
        return cls(name=name, rule=rule, started_at=at, due=rule.due(at, calendar),
                   responsible=responsible or Responsible(), service_level=service_level)

    @property
    def state(self) -> ClockState:
        if self.met_at is not None:
            return ClockState.MET
        return ClockState.PAUSED if self.paused_at is not None else ClockState.RUNNING

    def _require(self, state: ClockState, verb: str) -> None:
        if self.state is not state:
            raise ValidationError.of(Message("clock {0!r} to {1}", self.name, verb), self.state.value,
                                     Message("a {0} clock", state.value))

    def check(self, at: dt.datetime) -> Deadline:
        """Mark breached if still running (or paused after the due instant) and past due at ``at``."""
        if self.breached or self.met_at is not None:
            return self
        effective = self.paused_at if self.paused_at is not None else at
        return _with(self, breached=True) if effective > self.due else self

    def pause(self, at: dt.datetime) -> Deadline:
        self._require(ClockState.RUNNING, "pause")
        return _with(self.check(at), paused_at=at)

    def resume(self, at: dt.datetime, calendar: WorkingCalendar) -> Deadline:
        self._require(ClockState.PAUSED, "resume")
        assert self.paused_at is not None  # narrowed by the state check above
        pauses = (*self.pauses, (self.paused_at, at))
        due = self.rule.due(self.started_at, calendar, pauses=pauses)
        return _with(self, pauses=pauses, paused_at=None, due=due)

    def meet(self, at: dt.datetime) -> Deadline:
        if self.state is ClockState.MET:
            return self
        checked = self.check(at) if self.paused_at is None else self.check(self.paused_at)
        return _with(checked, met_at=at, paused_at=None, breached=checked.breached or at > self.due)

    def stop(self, at: dt.datetime, reason: str) -> Deadline:
        """End a clock its own event never met because the complaint ended (closed, referred): no sweep
        visits it again. Ended after its due instant, it is breached, as if found late while running."""
        if self.state is ClockState.MET:
            return self
        return _with(self.meet(at), stopped_by=reason)

    def assign(self, responsible: Responsible) -> Deadline:
        return _with(self, responsible=responsible)

    def recomputed(self, calendar: WorkingCalendar) -> Deadline:
        """The same clock with ``due`` recomputed on ``calendar`` (e.g. after a new official notice)."""
        return _with(self, due=self.rule.due(self.started_at, calendar, pauses=self.pauses))


def _with(deadline: Deadline, **changes: object) -> Deadline:
    return replace(deadline, changes)


def breached(due: npt.ArrayLike, met: npt.ArrayLike, now: dt.datetime | np.datetime64) -> npt.NDArray[np.bool_]:
    """Bulk: every breached clock — met after its due instant, or unmet (NaT) and past due at ``now``.

    ``due`` and ``met`` are ``datetime64`` arrays of UTC instants (``met`` NaT while running).
    """
    d = np.asarray(due).astype("datetime64[us]")
    m = np.asarray(met).astype("datetime64[us]")
    if d.shape != m.shape:
        raise ValidationError.of("met shape", m.shape, Message("the shape of due {shape}", shape=d.shape))
    t = _now64(now)
    running = np.isnat(m)
    return np.asarray((running & (d < t)) | (~running & (m > d)), dtype=bool)


def overdue(due: npt.ArrayLike, met: npt.ArrayLike, now: dt.datetime | np.datetime64) -> npt.NDArray[np.bool_]:
    """Bulk: clocks still running (``met`` NaT) and past due at ``now``."""
    d = np.asarray(due).astype("datetime64[us]")
    m = np.asarray(met).astype("datetime64[us]")
    return np.asarray(np.isnat(m) & (d < _now64(now)), dtype=bool)


def _now64(now: dt.datetime | np.datetime64) -> np.datetime64:
    if isinstance(now, dt.datetime):
        if now.utcoffset() is None:
            raise ValidationError.of("now", now, "a timezone-aware datetime")
        return to_datetime64(now)
    return np.datetime64(int(as_utc_us(np.array([now]))[0]), "us")
