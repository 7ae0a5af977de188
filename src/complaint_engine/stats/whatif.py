"""What-if replay: every clock of a period's complaints recomputed under another policy (its rules, service levels
and calendar) from the instants the history recorded — never by running the desk again.

Each recorded clock (a complaint's current clocks and the ones it archived when a reply was reopened or an
update restarted) is replayed from its start instant, its pauses and the instant it was met, under the rule the
new policy gives it for that complaint (its office, category, severity, urgency and channel). Clocks without
pauses and without an escalation while they ran go through the rules' bulk path (``due_many``) a rule at a
time; the others are replayed one by one, as the lifecycle judged them: a pause after the due instant is a
breach, and an escalation tightens a running clock to the major complaints' rule when that is sooner.

Replaying under the policy that was in force gives exactly the recorded breaches. A clock the history never
started (the policy in force had it off) is not invented: the new policy judges the clocks that ran.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from complaint_engine.display import as_html, as_markdown, markdown_to_html
from complaint_engine.errors import ValidationError
from complaint_engine.facts import CLOCKS
from complaint_engine.frozen import deep_frozen
from complaint_engine.instants import to_us
from complaint_engine.labels import LANGUAGES, label
from complaint_engine.levels import Subject
from complaint_engine.messages import Message
from complaint_engine.model import Complaint, Severity, Urgency
from complaint_engine.period import Period
from complaint_engine.policy import Policy
from complaint_engine.rules.deadlines import DeadlineRule
from complaint_engine.rules.sla import Deadline
from complaint_engine.stats.frame import ComplaintFrame
from complaint_engine.stats.kpi import KPIReport, compute_kpis
from complaint_engine.stats.replay import FRAME_CLOCKS, NAT, replay_arrays, replay_clock, replay_frame_clock

__all__ = ["ClockComparison", "WhatIfResult", "render_what_if", "what_if"]

NOBODY = "—"  # the department or person of a clock nobody owned


@attrs.frozen
class ClockComparison:
    """One clock's breaches as recorded and as replayed: counts of complaints, the ids that changed, and the
    breaches per department and per responsible person (recorded, replayed)."""

    clock: str
    recorded: int
    replayed: int
    newly_breached: tuple[str, ...]
    no_longer_breached: tuple[str, ...]
    by_department: Mapping[str, tuple[int, int]] = attrs.field(converter=deep_frozen)
    by_person: Mapping[str, tuple[int, int]] = attrs.field(converter=deep_frozen)

    def to_dict(self) -> dict[str, Any]:
        return {"clock": self.clock, "recorded": self.recorded, "replayed": self.replayed,
                "newly_breached": list(self.newly_breached), "no_longer_breached": list(self.no_longer_breached),
                "by_department": {k: list(v) for k, v in self.by_department.items()},
                "by_person": {k: list(v) for k, v in self.by_person.items()}}


@attrs.frozen(eq=False)
class WhatIfResult:
    """The replay of a period under ``policy``: ``clocks`` by name (only clocks that ran), the KPI table as
    recorded and as replayed (judged at ``as_of``)."""

    period: Period | None
    office: str | None
    policy: Policy
    as_of: dt.datetime
    complaints: int
    clocks: Mapping[str, ClockComparison] = attrs.field(converter=deep_frozen)
    kpis_recorded: KPIReport
    kpis_replayed: KPIReport

    @property
    def changed(self) -> bool:
        return any(c.newly_breached or c.no_longer_breached for c in self.clocks.values())

    def to_dict(self) -> dict[str, Any]:
        return {"period": None if self.period is None else self.period.label, "office": self.office,
                "policy": self.policy.name, "as_of": self.as_of.isoformat(), "complaints": self.complaints,
                "clocks": {k: v.to_dict() for k, v in self.clocks.items()},
                "kpis": {"recorded": self.kpis_recorded.to_dict(), "replayed": self.kpis_replayed.to_dict()}}

    def to_markdown(self, lang: str | None = None) -> str:
        return render_what_if(self, lang)

    def to_html(self, lang: str | None = None) -> str:
        return markdown_to_html(render_what_if(self, lang))

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        return self.to_html()


# ------------------------------------------------------------------------------------------ the clocks of a store
@attrs.define
class _Clocks:
    """Every recorded clock of a set of complaints, one row each (numpy columns), and what the replay needs."""

    complaint: list[int] = attrs.field(factory=list)  # row of the complaint in ``ids``
    name: list[str] = attrs.field(factory=list)
    rule_name: list[str] = attrs.field(factory=list)
    start: list[int] = attrs.field(factory=list)
    due: list[int] = attrs.field(factory=list)
    met: list[int] = attrs.field(factory=list)
    breached: list[bool] = attrs.field(factory=list)
    paused: list[bool] = attrs.field(factory=list)  # paused now: judged at the pause, not at as_of
    dept: list[str] = attrs.field(factory=list)
    person: list[str] = attrs.field(factory=list)
    in_frame: list[bool] = attrs.field(factory=list)  # the occurrence the frame's fact columns show
    deadlines: list[Deadline] = attrs.field(factory=list)
    ids: list[str] = attrs.field(factory=list)
    subjects: list[Subject] = attrs.field(factory=list)
    escalated: list[dt.datetime | None] = attrs.field(factory=list)


def _rule_name(c: Complaint, clock: str) -> str:
    """The policy rule a clock runs under (a repair's clock takes its urgency's rule), as the lifecycle's."""
    if clock == "repair":
        return "emergency_repair" if c.urgency is Urgency.EMERGENCY else "minor_repair"
    return clock


def _collect(complaints: Iterable[Complaint]) -> _Clocks:
    out = _Clocks()
    for c in complaints:
        row = len(out.ids)
        out.ids.append(c.id)
        out.subjects.append(Subject(c.office, c.category, c.severity, c.urgency, c.channel))
        out.escalated.append(c.escalation.escalated_at if c.escalation is not None else None)
        occurrences = [*c.past_deadlines, *c.deadlines.values()]
        first_reply = next((d for d in occurrences if d.name == "reply"), None)
        for d in occurrences:
            if d.name not in CLOCKS:  # "plan": a time the department promised, not a policy's rule
                continue
            shown = d is first_reply if d.name == "reply" else (
                d is c.deadlines.get(d.name) or (d.name not in c.deadlines and d is _last(c, d.name)))
            out.complaint.append(row)
            out.name.append(d.name)
            out.rule_name.append(_rule_name(c, d.name))
            out.start.append(to_us(d.started_at))
            out.due.append(to_us(d.due))
            out.met.append(NAT if d.met_at is None else to_us(d.met_at))
            out.breached.append(d.breached)
            out.paused.append(d.paused_at is not None)
            out.dept.append(d.responsible.department or NOBODY)
            out.person.append(d.responsible.person or NOBODY)
            out.in_frame.append(shown)
            out.deadlines.append(d)
    return out


def _last(c: Complaint, name: str) -> Deadline | None:
    return next((d for d in reversed(c.past_deadlines) if d.name == name), None)


# ------------------------------------------------------------------------------------------ the replay
def _complaints_of(source: object, period: Period | None, office: str | None, tz: str) -> list[Complaint]:
    repository = getattr(source, "repository", source)  # a desk, or a store
    find = getattr(repository, "find", None)
    if find is None:
        raise ValidationError.of("source", type(source).__name__, "a desk, a repository or a ComplaintFrame")
    if period is None:
        return list(find(office=office))
    start, end = period.bounds(tz)
    return list(find(office=office, received_from=start, received_before=end))


def _subject_rules(clocks: _Clocks, policy: Policy) -> tuple[list[DeadlineRule | None], list[DeadlineRule | None]]:
    """Each clock's rule under ``policy`` for its complaint as it was when the clock started, and the major
    complaints' rule it tightens to on an escalation — found once per distinct (rule, subject)."""
    memo: dict[tuple[str, Subject], DeadlineRule | None] = {}

    def rule(name: str, subject: Subject) -> DeadlineRule | None:
        key = (name, subject)
        if key not in memo:
            memo[key] = policy.rule_for(name, subject)[0]
        return memo[key]

    normal, major = [], []
    for i, rule_name in enumerate(clocks.rule_name):
        row = clocks.complaint[i]
        subject = clocks.subjects[row]
        escalated = clocks.escalated[row]
        if escalated is not None and clocks.start[i] < to_us(escalated):
            subject = attrs.evolve(subject, severity=Severity.NORMAL)  # it started before the complaint was major
        normal.append(rule(rule_name, subject))
        major.append(rule(rule_name, attrs.evolve(subject, severity=Severity.MAJOR)))
    return normal, major


def _bulk_due(rules: Sequence[DeadlineRule | None], rows: npt.NDArray[np.int64], start: npt.NDArray[np.int64],
              policy: Policy) -> npt.NDArray[np.int64]:
    """``due`` of the given rows through each rule's ``due_many`` (NAT where the rule is off)."""
    out = np.full(len(rows), NAT, dtype=np.int64)
    groups: dict[DeadlineRule, list[int]] = {}
    for k, i in enumerate(rows.tolist()):
        r = rules[i]
        if r is not None:
            groups.setdefault(r, []).append(k)
    calendar = policy.calendar()
    for r, ks in groups.items():
        at = np.asarray(ks, dtype=np.int64)
        out[at] = r.due_many(start[rows[at]].view("datetime64[us]"), calendar).astype(np.int64)
    return out


def _replayed(clocks: _Clocks, policy: Policy, as_of: dt.datetime) -> tuple[npt.NDArray[np.int64],
                                                                            npt.NDArray[np.bool_],
                                                                            npt.NDArray[np.bool_]]:
    """Replayed due (int64 µs, NAT where the new policy has the clock off), breached, and which clocks are on."""
    n = len(clocks.name)
    normal, major = _subject_rules(clocks, policy)
    start = np.asarray(clocks.start, dtype=np.int64)
    met = np.asarray(clocks.met, dtype=np.int64)
    escalated = np.array([NAT if (e := clocks.escalated[row]) is None else to_us(e) for row in clocks.complaint],
                         dtype=np.int64)
    on = np.array([r is not None for r in normal], dtype=bool)
    # paused clocks are judged one by one (a pause after the due instant is a breach, pauses move the due)
    scalar = np.array([bool(d.pauses) or d.paused_at is not None for d in clocks.deadlines], dtype=bool)
    due = np.full(n, NAT, dtype=np.int64)
    breached = np.zeros(n, dtype=bool)
    rows = np.flatnonzero(on & ~scalar)
    due[rows], breached[rows] = replay_arrays(_bulk_due(normal, rows, start, policy),
                                              _bulk_due(major, rows, start, policy), start[rows], met[rows],
                                              escalated[rows], to_us(as_of))
    for i in np.flatnonzero(on & scalar).tolist():
        row = clocks.complaint[i]
        d_i, b_i = replay_clock(clocks.deadlines[i], normal[i], policy, major_rule=major[i],  # type: ignore[arg-type]
                                escalated_at=clocks.escalated[row], as_of=as_of)
        due[i], breached[i] = to_us(d_i), b_i
    return due, breached, on


def _recorded(clocks: _Clocks, as_of: dt.datetime) -> npt.NDArray[np.bool_]:
    """Breaches as recorded, with the running clocks judged at ``as_of`` (a sweep may not have passed yet)."""
    met = np.asarray(clocks.met, dtype=np.int64)
    running = (met == NAT) & ~np.asarray(clocks.paused, dtype=bool)
    late = running & (np.asarray(clocks.due, dtype=np.int64) < to_us(as_of))
    return np.asarray(np.asarray(clocks.breached, dtype=bool) | late, dtype=bool)


def _compare(name: str, clocks: _Clocks, mask: npt.NDArray[np.bool_], before: npt.NDArray[np.bool_],
             after: npt.NDArray[np.bool_]) -> ClockComparison:
    """Per complaint: breached when any occurrence of the clock breached."""
    rows = np.flatnonzero(mask)
    was: set[str] = set()
    now: set[str] = set()
    dept: dict[str, list[int]] = {}
    person: dict[str, list[int]] = {}
    for i in rows.tolist():
        cid = clocks.ids[clocks.complaint[i]]
        for flag, bucket, slot in ((before[i], was, 0), (after[i], now, 1)):
            if flag:
                bucket.add(cid)
                dept.setdefault(clocks.dept[i], [0, 0])[slot] += 1
                person.setdefault(clocks.person[i], [0, 0])[slot] += 1
    order = {cid: k for k, cid in enumerate(clocks.ids)}
    return ClockComparison(
        clock=name, recorded=len(was), replayed=len(now),
        newly_breached=tuple(sorted(now - was, key=order.__getitem__)),
        no_longer_breached=tuple(sorted(was - now, key=order.__getitem__)),
        by_department={k: (v[0], v[1]) for k, v in sorted(dept.items())},
        by_person={k: (v[0], v[1]) for k, v in sorted(person.items())})


def _frame_under(frame: ComplaintFrame, clocks: _Clocks, due: npt.NDArray[np.int64],
                 breached: npt.NDArray[np.bool_], on: npt.NDArray[np.bool_]) -> ComplaintFrame:
    """The frame with each clock's fact columns as replayed (a clock the new policy has off: no clock)."""
    position = {cid: k for k, cid in enumerate(frame["id"].tolist())}
    columns = dict(frame.columns)
    for name in CLOCKS:
        columns[f"{name}_due_us"] = columns[f"{name}_due_us"].copy()
        columns[f"{name}_breached"] = columns[f"{name}_breached"].copy()
        columns[f"{name}_met_us"] = columns[f"{name}_met_us"].copy()
    for i, shown in enumerate(clocks.in_frame):
        if not shown:
            continue
        k = position[clocks.ids[clocks.complaint[i]]]
        name = clocks.name[i]
        if on[i]:
            columns[f"{name}_due_us"][k] = np.int64(due[i]).view("datetime64[us]")
            columns[f"{name}_breached"][k] = int(breached[i])
        else:
            columns[f"{name}_due_us"][k] = np.datetime64("NaT")
            columns[f"{name}_met_us"][k] = np.datetime64("NaT")
            columns[f"{name}_breached"][k] = 0
    return ComplaintFrame(columns, tz=frame.tz, codes=frame.codes, labels=frame.labels)


def _per_owner(frame: ComplaintFrame, column: str, rows: slice | npt.NDArray[np.int64], before: npt.NDArray[np.bool_],
               after: npt.NDArray[np.bool_]) -> dict[str, tuple[int, int]]:
    """Breaches per department or person (recorded, replayed), counted on the column's codes."""
    codes, labels = frame.factorized(column)
    either = before | after
    # one count per (owner, breached before, breached after): a single pass over the breached rows
    cells = np.bincount(codes[rows][either] * 4 + before[either] + 2 * after[either], minlength=4 * len(labels))
    cells = cells.reshape(len(labels), 4)
    was, now = cells[:, 1] + cells[:, 3], cells[:, 2] + cells[:, 3]
    return {(labels[k] or NOBODY): (int(was[k]), int(now[k])) for k in np.flatnonzero(was | now).tolist()}


def _what_if_frame(frame: ComplaintFrame, policy: Policy, as_of: dt.datetime
                   ) -> tuple[dict[str, ClockComparison], ComplaintFrame, ComplaintFrame]:
    """The comparisons, and the frame as recorded and as replayed (running clocks judged at ``as_of``)."""
    ids = frame["id"]
    columns = dict(frame.columns)
    recorded_columns = dict(frame.columns)
    comparisons: dict[str, ClockComparison] = {}
    for name in FRAME_CLOCKS:
        replayed_clock = replay_frame_clock(frame, name, policy, as_of)
        if replayed_clock is None:
            continue
        rows, due, breached, recorded = replayed_clock
        ran = frame[f"{name}_due_us"].view(np.int64) != NAT
        where = np.flatnonzero(ran)

        def changed(mask: npt.NDArray[np.bool_], where: npt.NDArray[np.int64] = where) -> tuple[str, ...]:
            return tuple(ids[where[mask]].tolist())

        comparisons[name] = ClockComparison(
            clock=name, recorded=int(recorded.sum()), replayed=int(breached.sum()),
            newly_breached=changed(breached & ~recorded), no_longer_breached=changed(recorded & ~breached),
            by_department=_per_owner(frame, f"{name}_dept", rows, recorded, breached),
            by_person=_per_owner(frame, f"{name}_person", rows, recorded, breached))
        was = recorded_columns[f"{name}_breached"].copy()
        was[rows] = recorded
        recorded_columns[f"{name}_breached"] = was
        off = due == NAT
        for column, values in ((f"{name}_due_us", due.view("datetime64[us]")), (f"{name}_breached", breached)):
            patched = columns[column].copy()
            patched[rows] = values
            columns[column] = patched
        if off.any():
            met_column = columns[f"{name}_met_us"].copy()
            met_column[where[off]] = np.datetime64("NaT")
            columns[f"{name}_met_us"] = met_column
    return (comparisons, ComplaintFrame(recorded_columns, tz=frame.tz, codes=frame.codes, labels=frame.labels),
            ComplaintFrame(columns, tz=frame.tz, codes=frame.codes, labels=frame.labels))


def what_if(source: object, policy: Policy, *, period: str | Period | None = None, office: str | None = None,
            as_of: dt.datetime | None = None, recorded_policy: Policy | None = None) -> WhatIfResult:
    """Every clock of the complaints received in ``period`` (all when None) of ``office`` replayed under
    ``policy``. ``source``: a desk, a repository (read with ``find``), a sequence of complaints — every clock
    of each, pauses and escalations included — or a ComplaintFrame, whose fact columns replay the clocks that
    start at receipt (:data:`FRAME_CLOCKS`) in bulk, as never paused. ``as_of``
    (default: the end of the period, or now) is when clocks still running are judged; the KPI tables use the
    targets of ``recorded_policy`` (default: the desk's policy, else ``policy``) and of ``policy``."""
    if not isinstance(policy, Policy):
        raise ValidationError.of("policy", type(policy).__name__, "a Policy (Policy.from_toml(path) loads one)")
    p = Period.parse(period) if period is not None else None
    tz = policy.tz
    complaints: list[Complaint] = []
    if isinstance(source, ComplaintFrame):
        pass
    elif isinstance(source, Sequence) and not isinstance(source, str | bytes):
        complaints = [c for c in source if isinstance(c, Complaint)]
        if len(complaints) != len(source):
            raise ValidationError.of("source", "a sequence of other things", "complaints, a desk or a repository")
        if p is not None:
            start, end = p.bounds(tz)
            complaints = [c for c in complaints if start <= c.received_at < end]
        if office is not None:
            complaints = [c for c in complaints if c.office == office]
    else:
        complaints = _complaints_of(source, p, office, tz)
    if as_of is None:
        now = dt.datetime.now(dt.UTC)
        as_of = min(p.bounds(tz)[1], now) if p is not None else now
    elif as_of.utcoffset() is None:
        raise ValidationError.of("as_of", as_of, "a timezone-aware datetime")
    before_policy = recorded_policy or getattr(source, "policy", None) or policy
    if isinstance(source, ComplaintFrame):
        frame = source.select(period=p, office=office)
        comparisons, recorded_frame, replayed_frame = _what_if_frame(frame, policy, as_of)
        return WhatIfResult(period=p, office=office, policy=policy, as_of=as_of, complaints=len(frame),
                            clocks=comparisons, kpis_recorded=compute_kpis(recorded_frame, before_policy, as_of),
                            kpis_replayed=compute_kpis(replayed_frame, policy, as_of))
    clocks = _collect(complaints)
    recorded = _recorded(clocks, as_of)
    due, replayed, on = _replayed(clocks, policy, as_of)
    replayed &= on
    names = np.asarray(clocks.name, dtype=object)
    comparisons = {name: _compare(name, clocks, names == name, recorded, replayed)
                   for name in CLOCKS if (names == name).any()}
    frame = ComplaintFrame.from_complaints(complaints, tz=tz)
    # both tables judge the clocks still running at as_of (a sweep may not have recorded their breach yet)
    as_recorded = _frame_under(frame, clocks, np.asarray(clocks.due, dtype=np.int64), recorded,
                               np.ones(len(clocks.name), dtype=bool))
    return WhatIfResult(
        period=p, office=office, policy=policy, as_of=as_of, complaints=len(complaints), clocks=comparisons,
        kpis_recorded=compute_kpis(as_recorded, before_policy, as_of),
        kpis_replayed=compute_kpis(_frame_under(frame, clocks, due, replayed, on), policy, as_of))


# ------------------------------------------------------------------------------------------ rendering
def render_what_if(result: WhatIfResult, lang: str | None = None) -> str:
    """The comparison as Markdown in ``lang`` (default: the new policy's language)."""
    lang = lang or result.policy.language
    if lang not in LANGUAGES:
        raise ValidationError.of("language", lang, Message("one of {0}", list(LANGUAGES)))

    def t(key: str) -> str:
        return label(key, lang)

    scope = result.period.label if result.period is not None else t("whatif.all")
    out = [f"# {t('whatif.title')} — {scope}", "",
           f"{t('whatif.policy')}: {result.policy.name}; {t('report.received')}: {result.complaints}", ""]
    if not result.clocks:
        return "\n".join([*out, t("report.empty"), ""])
    out += [f"| {t('col.clock')} | {t('whatif.recorded')} | {t('whatif.replayed')} | {t('whatif.newly')} | "
            f"{t('whatif.no_longer')} |", "|---|---:|---:|---:|---:|"]
    for name, c in result.clocks.items():
        out.append(f"| {t('clock.' + name)} | {c.recorded} | {c.replayed} | {len(c.newly_breached)} | "
                   f"{len(c.no_longer_breached)} |")
    names = {d.code: d.labels.get(lang, d.code) for d in result.policy.departments}
    for name, c in result.clocks.items():
        if not (c.newly_breached or c.no_longer_breached):
            continue
        out += ["", f"## {t('clock.' + name)}", "", f"| {t('col.department')} | {t('whatif.recorded')} | "
                f"{t('whatif.replayed')} |", "|---|---:|---:|"]
        out += [f"| {names.get(k, k)} | {a} | {b} |" for k, (a, b) in c.by_department.items()]
        out += ["", f"| {t('report.by_person')} | {t('whatif.recorded')} | {t('whatif.replayed')} |",
                "|---|---:|---:|"]
        out += [f"| {k} | {a} | {b} |" for k, (a, b) in c.by_person.items()]
    out += ["", f"## {t('report.kpis')}", "",
            f"| {t('col.kpi')} | {t('whatif.as_recorded')} | {t('whatif.under_new')} |",
            "|---|---:|---:|"]
    for key, kpi in result.kpis_recorded.kpis.items():
        other = result.kpis_replayed.kpis.get(key)
        out.append(f"| {t('kpi.' + key)} | {_rate(kpi.value.rate)} | "
                   f"{_rate(None if other is None else other.value.rate)} |")
    return "\n".join([*out, ""])


def _rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


@as_markdown.register
def _markdown(result: WhatIfResult, lang: str | None = None) -> str:
    return render_what_if(result, lang)


@as_html.register
def _html(result: WhatIfResult, lang: str | None = None, *, charts: bool = True) -> str:
    return markdown_to_html(render_what_if(result, lang))
