"""The periodic analysis of a store: counted by the store's server where it can (a ``tallies`` method, see
complaint_engine/tallies.py), read into a frame otherwise. Either way the report equals the frame path's."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from complaint_engine.errors import ValidationError
from complaint_engine.facts import CLOCKS
from complaint_engine.instants import to_us
from complaint_engine.model import CAPAReport, Satisfaction
from complaint_engine.period import Period
from complaint_engine.policy import Policy
from complaint_engine.stats.counts import PeriodCounts, period_label
from complaint_engine.stats.frame import ComplaintFrame, categorical
from complaint_engine.stats.kpi import (
    Durations,
    OfficePolicies,
    Rate,
    acknowledge_us,
    breach_maps,
    dispatch_us,
    escalate_us,
    kpi_report,
    most_first,
    repeat_count,
)
from complaint_engine.stats.pareto import ParetoTable, pareto
from complaint_engine.stats.recurrence import DAY_US
from complaint_engine.stats.report import (
    AnalysisReport,
    analyse,
    category_columns,
    exposure,
    findings_of,
    report_of,
)
from complaint_engine.tallies import CapaWindow, Limits, Tallies, TallyRequest

__all__ = ["analyse_store", "tally_request"]

def analyse_store(source: Any, p: Period, *, policy: Policy, office: str | None,
                  households: Sequence[float] | None, capas: Sequence[CAPAReport], as_of: dt.datetime | None,
                  compare: bool, office_policies: Mapping[str, Policy] | None) -> AnalysisReport:
    """:func:`~complaint_engine.stats.analyse` of a repository, a snapshot or a unit of work, in one snapshot."""
    if not any(callable(getattr(source, name, None)) for name in ("snapshot", "frame", "tallies")):
        raise ValidationError.of("source", type(source).__name__,
                                 "a ComplaintFrame, or a repository, snapshot or unit of work")
    snapshot = getattr(source, "snapshot", None)  # a repository; a view or a unit has none
    with snapshot() if snapshot is not None else contextlib.nullcontext(source) as view:
        if getattr(view, "tallies", None) is None:
            frame = ComplaintFrame.for_analysis(view, p, office=office, tz=policy.tz)
            return analyse(frame, p, policy=policy, office=office, households=households, capas=capas, as_of=as_of,
                           compare=compare, office_policies=office_policies)
        return _counted(view, p, policy, office, households, capas, as_of, compare, office_policies or {})


def _limits(policy: Policy) -> Limits:
    return Limits(acknowledge_us=acknowledge_us(policy), dispatch_us=dispatch_us(policy),
                  escalate_us=escalate_us(policy))


def _month_starts(p: Period, zone: ZoneInfo) -> tuple[int, ...]:
    """The first instant of each local month of the period, and the end of the last."""
    return tuple(to_us(dt.datetime(m // 12, m % 12 + 1, 1, tzinfo=zone)) for m in (*p.months, p.months.stop))


def tally_request(p: Period, policy: Policy, office: str | None, capas: Sequence[CAPAReport], as_of: dt.datetime,
                  office_policies: Mapping[str, Policy]) -> TallyRequest:
    """What the report of ``p`` asks a store to count."""
    zone = ZoneInfo(policy.tz)
    start, end = p.bounds(zone)
    windows = []
    for capa in capas:  # each report by the window of its office's policy (stats.kpi)
        if capa.implemented_at is None or not capa.complaint_serials:
            continue
        after = to_us(capa.implemented_at)
        days = office_policies.get(capa.office, policy).analysis.recurrence_window_days
        windows.append(CapaWindow(capa.number, tuple(capa.complaint_serials), after, after + days * DAY_US))
    return TallyRequest(start_us=to_us(start), end_us=to_us(end), office=office, as_of_us=to_us(as_of),
                        month_starts_us=_month_starts(p, zone), limits=_limits(policy),
                        office_limits={o: _limits(q) for o, q in office_policies.items() if q is not policy},
                        capas=tuple(windows))


def _counted(view: Any, p: Period, policy: Policy, office: str | None, households: Sequence[float] | None,
             capas: Sequence[CAPAReport], as_of: dt.datetime | None, compare: bool,
             office_policies: Mapping[str, Policy]) -> AnalysisReport:
    judged = as_of or p.bounds(ZoneInfo(policy.tz))[1]
    request = tally_request(p, policy, office, capas, judged, office_policies)
    t: Tallies = view.tallies(request)
    valid = t.total("valid")
    previous = None
    if compare:
        before = _counted(view, p.previous(), policy, office, None, (), None, False, office_policies)
        previous = before if before.received else None
    rows = _candidates(t, policy.tz)
    return report_of(
        p, office, policy, received=t.total("received"), valid=valid, referred=t.total("referred"),
        merged=t.total("merged"), pareto_category=_pareto(t.categories.items()),
        pareto_department=_pareto(t.departments.items()),
        monthly=_monthly(t, p, [c.code for c in policy.categories], households),
        kpis=kpi_report(_rates(t, rows, policy, households, office_policies), policy, judged, capas, t.capa_hits,
                        volume=_volume(t), durations=_durations(t), breaches=_breaches(t)),
        findings=findings_of(rows, policy, office_policies), capas=capas, previous=previous)


def _pareto(counts: Iterable[tuple[str | None, int]]) -> ParetoTable:
    merged: dict[str, int] = {}
    for name, n in counts:  # as a frame's table: a missing text is "—"
        merged[name or "—"] = merged.get(name or "—", 0) + n
    return pareto(list(merged), np.array(list(merged.values()), dtype=np.int64))


def _monthly(t: Tallies, p: Period, wanted: Sequence[str], households: Sequence[float] | None) -> PeriodCounts:
    """As :func:`~complaint_engine.stats.report.monthly_counts`: the policy's categories, then the others found."""
    columns = category_columns(wanted, (category or "" for (_, category), count in t.monthly.items() if count))
    position = {name: j for j, name in enumerate(columns)}
    n = len(p.months)
    counts = np.zeros((n, len(columns)), dtype=np.int64)
    for (month, category), count in t.monthly.items():
        counts[month, position[category or ""]] += count
    return PeriodCounts(freq="month", periods=tuple(period_label(m, "month") for m in p.months),
                        categories=columns, counts=counts, exposure=exposure(households, "month", n))


def _pair(t: Tallies, name: str) -> Rate:
    return Rate(t.total(f"{name}_on_time"), t.total(f"{name}_counted"))


def _rates(t: Tallies, rows: ComplaintFrame, policy: Policy, households: Sequence[float] | None,
           office_policies: Mapping[str, Policy]) -> dict[str, Rate]:
    """The rates of stats.kpi.compute_kpis, from the store's sums (and the repeats, from its valid complaints'
    rows)."""
    valid, closed = t.total("valid"), t.total("closed")
    rates = {"valid_ratio": Rate(valid, t.total("received") - t.total("merged"))}
    if households is not None:
        rates["per_100_households"] = Rate(valid, int(np.mean(households)))
    rates |= {"acknowledged_on_time": _pair(t, "acknowledge") + _pair(t, "acknowledge_limit"),
              "dispatched_on_time": _pair(t, "dispatch"), "replied_on_time": _pair(t, "reply"),
              "closed_on_time": Rate(t.total("closed_clean"), closed + t.total("late_open")),
              "callback_rate": Rate(t.total("callback_reached"), closed)}
    satisfied = answered = 0
    for office, sums in t.sums.items():  # which answers count as satisfied is each office's policy's
        counted = office_policies.get(office, policy).callbacks.satisfied
        for answer in Satisfaction:
            answered += sums[f"answers_{answer.value}"]
            satisfied += sums[f"answers_{answer.value}"] if answer in counted else 0
    rates |= {"satisfaction": Rate(satisfied, answered),
              "first_contact_resolution": Rate(t.total("first_contact"), valid),
              "repeat_rate": Rate(repeat_count(rows, OfficePolicies(rows, policy, office_policies)), valid),
              "reopen_rate": Rate(t.total("reopened_closed"), closed),
              "escalated_on_time": _pair(t, "escalate"), "arrived_on_time": _pair(t, "arrival"),
              "emergency_same_day": _pair(t, "emergency"), "minor_repair_on_time": _pair(t, "minor")}
    for key, clock in (("started_on_time", "start"), ("updated_on_time", "update")):  # the clocks a policy may add
        if t.total(f"{clock}_due"):
            rates[key] = _pair(t, clock)
    rates["breaches_with_measure"] = Rate(t.total("breached_measured"), t.total("breached"))
    return rates


def _volume(t: Tallies) -> dict[str, dict[str, int]]:
    return {name: most_first(t.volume[name].items()) for name in ("channel", "category", "building", "status")}


def _durations(t: Tallies) -> tuple[Durations, Durations]:
    return Durations(*t.durations["reply"]), Durations(*t.durations["close"])


def _breaches(t: Tallies) -> tuple[dict[str, int], dict[str, int]]:
    by_dept: dict[str, dict[str | None, int]] = {clock: {} for clock in CLOCKS}
    by_person: dict[str, dict[str | None, int]] = {clock: {} for clock in CLOCKS}
    for clock, dept, person, n in t.breaches:
        by_dept[clock][dept] = by_dept[clock].get(dept, 0) + n
        by_person[clock][person] = by_person[clock].get(person, 0) + n
    return breach_maps((by_dept[clock].items(), by_person[clock].items()) for clock in CLOCKS)


def _candidates(t: Tallies, tz: str) -> ComplaintFrame:
    """The fetched rows as a frame the findings and the repeat test read (codes as a frame's: sorted labels)."""
    codes, labels = categorical(t.candidates, ("office", "category", "unit", "building", "status", "location"))
    return ComplaintFrame(t.candidates, tz=tz, codes=codes, labels=labels)
