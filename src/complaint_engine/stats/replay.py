"""Replaying recorded clocks under another policy: one clock as the lifecycle ran it (``replay_clock``), clocks
without pauses in bulk (``replay_arrays``), and the clocks a ComplaintFrame holds (``replay_frame_clock``), whose
rules are found per distinct subject and whose due instants come from each rule's ``due_many``. The comparison
built on them is ``stats.whatif``."""

from __future__ import annotations

import datetime as dt

import attrs
import numpy as np
import numpy.typing as npt

from complaint_engine.errors import ValidationError
from complaint_engine.instants import to_us
from complaint_engine.levels import Subject
from complaint_engine.messages import Message
from complaint_engine.model import Channel, Severity, Urgency
from complaint_engine.policy import Policy
from complaint_engine.rules.deadlines import DeadlineRule
from complaint_engine.rules.sla import Deadline
from complaint_engine.stats.frame import ComplaintFrame

__all__ = ["FRAME_CLOCKS", "NAT", "replay_arrays", "replay_clock", "replay_frame_clock"]

NAT = np.iinfo(np.int64).min  # a missing instant, as int64 microseconds (NaT)


def replay_clock(deadline: Deadline, rule: DeadlineRule, policy: Policy, *, major_rule: DeadlineRule | None = None,
                 escalated_at: dt.datetime | None = None, as_of: dt.datetime) -> tuple[dt.datetime, bool]:
    """A recorded clock replayed under ``rule`` on ``policy``'s calendar, as the lifecycle would have run it:
    (its due instant, whether it breached). A pause begun after the due instant in force then is a breach; an
    escalation while the clock ran switches it to ``major_rule`` when that falls due sooner."""
    calendar = policy.calendar()
    start, pauses = deadline.started_at, deadline.pauses
    after = rule  # the rule in force after the escalation
    tightens = (major_rule is not None and escalated_at is not None and deadline.started_at < escalated_at
                and (deadline.met_at is None or deadline.met_at >= escalated_at) and major_rule != rule)
    if tightens:
        assert major_rule is not None
        assert escalated_at is not None
        done = tuple(p for p in pauses if p[1] <= escalated_at)  # the pauses the clock had at the escalation
        if major_rule.due(start, calendar, pauses=done) < rule.due(start, calendar, pauses=done):
            after = major_rule

    def in_force(at: dt.datetime) -> DeadlineRule:
        return after if escalated_at is not None and at >= escalated_at else rule

    breached = False
    for k, (began, _ended) in enumerate(pauses):
        if began > in_force(began).due(start, calendar, pauses=pauses[:k]):
            breached = True
    due = in_force(as_of if deadline.met_at is None else deadline.met_at).due(start, calendar, pauses=pauses)
    if deadline.paused_at is not None and deadline.met_at is None:
        breached |= deadline.paused_at > in_force(deadline.paused_at).due(start, calendar, pauses=pauses)
    elif deadline.met_at is not None:
        breached |= deadline.met_at > due
    else:
        breached |= as_of > due
    return due, breached


def replay_arrays(normal_due: npt.NDArray[np.int64], major_due: npt.NDArray[np.int64], start: npt.NDArray[np.int64],
                  met: npt.NDArray[np.int64], escalated: npt.NDArray[np.int64], now: int
                  ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """The vectorized judgement of clocks that never paused (int64 µs; NAT for none): a clock running when its
    complaint was escalated takes the major complaints' due when sooner; met after its due, or still running
    past it at ``now``, it is breached."""
    tight = (escalated != NAT) & (start < escalated) & ((met == NAT) | (met >= escalated)) & (major_due != NAT)
    due = np.where(tight & (major_due < normal_due), major_due, normal_due)
    breached = np.where(met == NAT, due < now, met > due)
    return due, np.asarray(breached & (due != NAT), dtype=bool)


# ------------------------------------------------------------------------------------------ a frame
FRAME_CLOCKS = ("reply", "acknowledge", "repair")
"""The clocks a frame can replay: the ones that start at receipt (a frame keeps each complaint's first reply
clock and the instant of receipt, not the start of clocks that begin later, nor any pause)."""


_FIELDS = ("office", "category", "urgency", "channel")


def _conditioned(policy: Policy, clock: str) -> set[str]:
    """The subject fields (of :data:`_FIELDS`) a service level setting this clock's rule looks at; a repair's
    clock also depends on its urgency (minor or emergency rule)."""
    names = {"emergency_repair", "minor_repair"} if clock == "repair" else {clock}
    found = {"urgency"} if clock == "repair" else set()
    for level in policy.service_levels:
        if names & set(level.rules):
            found |= {f for f in _FIELDS if getattr(level.when, f)}
    return found


def _frame_rules(frame: ComplaintFrame, clock: str, rows: slice | npt.NDArray[np.int64], start: npt.NDArray[np.int64],
                 escalated: npt.NDArray[np.int64], policy: Policy
                 ) -> tuple[list[DeadlineRule | None], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The distinct rules of the rows, and each row's index into them for its normal and its major rule."""
    labels = frame.labels
    major_code = labels["severity"].index(Severity.MAJOR.value) if Severity.MAJOR.value in labels["severity"] else -1
    was_major = (frame.codes["severity"][rows] == major_code) & ~((escalated != NAT) & (start < escalated))
    # one integer per (office, category, urgency, channel, major at start): a few hundred at most, so a lookup
    # table factorizes the rows in one pass (np.unique over rows would sort them)
    # — only of the fields some service level's condition names: the others cannot change the rule
    conditioned = _conditioned(policy, clock)
    key = np.zeros(len(start), dtype=np.int64)
    sizes, fixed = [], {}
    for name in _FIELDS:
        codes = frame.codes[name][rows]
        if name in conditioned:
            size = len(labels[name])
            key = key * size + codes
        else:
            size, fixed[name] = 1, int(codes[0])  # any row's value: the rule is the same for all
        sizes.append(size)
    key = key * 2 + was_major
    present = np.zeros(int(np.prod(sizes)) * 2, dtype=bool)
    present[key] = True
    found = np.flatnonzero(present)
    slot = np.zeros(len(present), dtype=np.int64)
    slot[found] = np.arange(len(found))
    inverse = slot[key]
    combos = []
    for value in found.tolist():
        value, is_major = divmod(value, 2)
        parts = []
        for size in reversed(sizes):
            value, code = divmod(value, size)
            parts.append(code)
        chosen = dict(zip(_FIELDS, reversed(parts), strict=True)) | fixed
        combos.append((*(chosen[f] for f in _FIELDS), is_major))
    rules: list[DeadlineRule | None] = []
    position: dict[DeadlineRule | None, int] = {}
    normal = np.empty(len(combos), dtype=np.int64)
    major = np.empty(len(combos), dtype=np.int64)
    for k, (office, category, urgency, channel, is_major) in enumerate(combos):
        urgent = labels["urgency"][urgency] or None
        name = clock if clock != "repair" else ("emergency_repair" if urgent == Urgency.EMERGENCY.value
                                                 else "minor_repair")
        subject = Subject(labels["office"][office], labels["category"][category],
                          Severity.MAJOR if is_major else Severity.NORMAL, Urgency(urgent) if urgent else None,
                          Channel(labels["channel"][channel]))
        for out, severity in ((normal, subject.severity), (major, Severity.MAJOR)):
            rule = policy.rule_for(name, attrs.evolve(subject, severity=severity))[0]
            if rule not in position:
                position[rule] = len(rules)
                rules.append(rule)
            out[k] = position[rule]
    return rules, normal[inverse], major[inverse]


def _grouped_due(rules: list[DeadlineRule | None], which: npt.NDArray[np.int64], start: npt.NDArray[np.int64],
                 policy: Policy) -> npt.NDArray[np.int64]:
    out = np.full(len(which), NAT, dtype=np.int64)
    calendar = policy.calendar()
    for k, rule in enumerate(rules):
        if rule is None:
            continue
        at = which == k
        if at.any():
            out[at] = rule.due_many(start[at].view("datetime64[us]"), calendar).astype(np.int64)
    return out


def replay_frame_clock(frame: ComplaintFrame, name: str, policy: Policy, as_of: dt.datetime
                       ) -> tuple[slice | npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_],
                                  npt.NDArray[np.bool_]] | None:
    """One clock of :data:`FRAME_CLOCKS` replayed over a frame: the rows that ran it (a slice when all did), and
    for them the replayed due (int64 µs; NAT where ``policy`` has it off), whether it breached, and whether it
    breached as recorded (running clocks judged at ``as_of``). None when no row ran it."""
    if name not in FRAME_CLOCKS:
        raise ValidationError.of("clock", name, Message("one of {0}", list(FRAME_CLOCKS)))
    now = to_us(as_of)
    recorded_due = frame[f"{name}_due_us"].view(np.int64)
    ran = recorded_due != NAT
    if not ran.any():
        return None
    rows: slice | npt.NDArray[np.int64] = slice(None) if ran.all() else np.flatnonzero(ran)  # views when all
    start, escalated = frame["received_us"].view(np.int64)[rows], frame["escalated_us"].view(np.int64)[rows]
    met = frame[f"{name}_met_us"].view(np.int64)[rows]
    rules, normal, major = _frame_rules(frame, name, rows, start, escalated, policy)
    # the major complaints' due matters only where an escalation came while the clock ran
    major_due = np.full(len(start), NAT, dtype=np.int64)
    escalated_rows = np.flatnonzero(escalated != NAT)
    major_due[escalated_rows] = _grouped_due(rules, major[escalated_rows], start[escalated_rows], policy)
    due, breached = replay_arrays(_grouped_due(rules, normal, start, policy), major_due, start, met, escalated, now)
    recorded = frame[f"{name}_breached"][rows].astype(bool) | ((met == NAT) & (recorded_due[rows] < now))
    return rows, due, breached, recorded
