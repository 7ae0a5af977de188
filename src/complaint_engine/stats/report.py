"""The half-year and annual analysis (P-6.3.1–P-6.3.3) as one report: Markdown, plain data and charts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from complaint_engine.display import as_figure, as_html, as_markdown
from complaint_engine.errors import ValidationError
from complaint_engine.frozen import FrozenDict, deep_frozen
from complaint_engine.messages import Message
from complaint_engine.model import CAPAReport, CAPAStatus, Status
from complaint_engine.period import Period
from complaint_engine.policy import Policy
from complaint_engine.stats.counts import PeriodCounts, crosstab, period_label
from complaint_engine.stats.frame import ComplaintFrame, valid_mask
from complaint_engine.stats.kpi import KPIReport, OfficePolicies, compute_kpis
from complaint_engine.stats.pareto import ParetoTable
from complaint_engine.stats.recurrence import Finding, find_recurring, find_recurring_problems, find_widespread
from complaint_engine.stats.trend import ControlChart, MannKendall, c_chart, mann_kendall, u_chart

__all__ = ["AnalysisReport", "analyse", "category_columns", "exposure", "findings_of", "monthly_counts", "report_of"]


def monthly_counts(frame: ComplaintFrame, period: Period, *, households: Sequence[float] | None = None,
                   freq: str = "month", categories: Sequence[str] | None = None) -> PeriodCounts:
    """Valid complaints per period unit (month by default) and category over ``period``, zeros included.

    The columns are ``categories`` in their order (a policy's codes: every report of one policy has the same
    columns), then any other category the period's valid complaints have, sorted; without ``categories``,
    the categories those complaints have, sorted. They never depend on rows outside the period, so a report
    reads the same from the whole register as from the period alone.
    """
    idx = frame.period_index(freq)
    div = {"month": 1, "quarter": 3, "half": 6, "year": 12}[freq]
    first, last = period.months.start // div, period.months.stop // div
    valid = valid_mask(frame["status"])
    n = last - first
    rows = np.where(valid & (idx >= first) & (idx < last), idx - first, -1)
    labels = frame.labels["category"]
    present = [labels[code] for code in np.unique(frame.codes["category"][rows >= 0]).tolist()]
    columns = category_columns(categories or (), present)
    # the frame's code of each label → its column (-1: a category with no column, which crosstab skips)
    position = {code: j for j, code in enumerate(columns)}
    to_column = np.array([position.get(lab, -1) for lab in labels], dtype=np.int64)
    counts = crosstab(rows, to_column[frame.codes["category"]], n, len(columns))
    return PeriodCounts(freq=freq, periods=tuple(period_label(first + i, freq) for i in range(n)),
                        categories=columns, counts=counts, exposure=exposure(households, freq, n))


def category_columns(wanted: Sequence[str], present: Iterable[str]) -> tuple[str, ...]:
    """The columns of a month × category table: the wanted categories in their order, then the others present,
    sorted."""
    first = dict.fromkeys(wanted)
    return (*first, *sorted(set(present) - set(first)))


def exposure(households: Sequence[float] | None, freq: str, n: int) -> npt.NDArray[np.float64] | None:
    """The homes in service per period unit, checked: one positive number per unit."""
    if households is None:
        return None
    out = np.asarray(households, dtype=np.float64)
    if out.shape != (n,):
        raise ValidationError.of("households", f"{len(out)} values", Message("one per {freq} ({n})", freq=freq, n=n))
    if np.isnan(out).any() or (out <= 0).any():
        raise ValidationError.of("households", out.tolist(), "positive numbers")
    return out


@attrs.frozen(eq=False)
class AnalysisReport:
    """Everything the periodic analysis reports; ``previous`` is the same analysis of the period before."""

    period: Period
    office: str | None
    language: str
    received: int
    valid: int
    referred: int
    pareto_category: ParetoTable
    pareto_department: ParetoTable
    monthly: PeriodCounts
    trend: MannKendall | None
    control: ControlChart | None
    kpis: KPIReport
    findings: tuple[Finding, ...]
    open_capas: tuple[CAPAReport, ...]
    previous: AnalysisReport | None = None
    merged: int = 0  # duplicates merged into another complaint: counted once, as that one
    # kind ("category" | "department") → code → language → label; codes of the two kinds may coincide
    names: Mapping[str, Mapping[str, Mapping[str, str]]] = attrs.field(factory=FrozenDict, converter=deep_frozen)

    def name(self, code: str, lang: str, kind: str = "category") -> str:
        """The label of a category or department code in ``lang`` (the code when the policy has none)."""
        return self.names.get(kind, {}).get(code, {}).get(lang, code)

    @property
    def empty(self) -> bool:
        return self.received == 0

    def change(self) -> dict[str, float | None]:
        """Rate changes against the previous period (percentage points), and the change in valid complaints."""
        if self.previous is None:
            return {}
        out: dict[str, float | None] = {"valid": float(self.valid - self.previous.valid)}
        for key, kpi in self.kpis.kpis.items():
            # a KPI the previous period lacks (the rate per 100 households is compared without households)
            earlier = self.previous.kpis.kpis.get(key)
            before = None if earlier is None else earlier.value.rate
            now = kpi.value.rate
            out[key] = None if before is None or now is None else (now - before) * 100
        return out

    # ------------------------------------------------------------------------------------------ outputs
    def to_markdown(self, lang: str | None = None) -> str:
        """The report as Markdown in ``lang`` (default: its policy's language)."""
        return as_markdown(self, lang)

    def to_html(self, lang: str | None = None, *, charts: bool = True) -> str:
        """The report as an HTML fragment, with its charts inline as SVG when matplotlib is installed."""
        return as_html(self, lang, charts=charts)

    def plot(self, chart: str = "pareto-category", *, lang: str | None = None, ax: Any = None) -> Any:
        """One of the report's charts (``pareto-category``, ``pareto-department`` or ``trend``) as a matplotlib
        ``Figure``, drawn into ``ax`` when given (needs the ``[plot]`` extra)."""
        return as_figure(self, chart, lang=lang, ax=ax)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.label, "office": self.office, "received": self.received, "valid": self.valid,
            "referred": self.referred, "merged": self.merged, "pareto_category": self.pareto_category.to_dict(),
            "pareto_department": self.pareto_department.to_dict(), "monthly": self.monthly.to_dict(),
            "trend": None if self.trend is None else attrs.asdict(self.trend),
            "control": None if self.control is None else self.control.to_dict(),
            "kpis": self.kpis.to_dict(), "findings": [f.to_dict() for f in self.findings],
            "open_capas": [{"number": r.number, "status": r.status.value, "problem": r.problem}
                           for r in self.open_capas],
            "change": self.change(),
        }


def _with_settings(key: tuple[int, int, int, int, int]) -> Callable[[Policy], bool]:
    return lambda p: _settings(p) == key


def _settings(p: Policy) -> tuple[int, int, int, int, int]:
    """What the findings of an office's complaints depend on in its policy."""
    a = p.analysis
    return (a.repeat_window_days, a.widespread_window_days, a.widespread_units, a.recurrence_window_days,
            a.recurrence_min)


def findings_of(frame: ComplaintFrame, policy: Policy,
              office_policies: Mapping[str, Policy] | None) -> tuple[Finding, ...]:
    """Recurring and widespread problems, each office's rows with its own windows and thresholds."""
    rules = OfficePolicies(frame, policy, office_policies)
    found: list[Finding] = []
    settings = {_settings(p) for p in (policy, *(office_policies or {}).values())}
    for key in sorted(settings):
        repeat, window, units, recurrence, times = key
        rows = rules.rows_where(_with_settings(key))
        if rows.any():
            part = frame.take(rows)
            found += [*find_recurring(part, repeat), *find_recurring_problems(part, recurrence, times),
                      *find_widespread(part, window, units)]
    return tuple(found)


def analyse(source: ComplaintFrame | Any, period: str | Period, *, policy: Policy | None = None,
            office: str | None = None, households: Sequence[float] | None = None, capas: Sequence[CAPAReport] = (),
            as_of: dt.datetime | None = None, compare: bool = True,
            office_policies: Mapping[str, Policy] | None = None) -> AnalysisReport:
    """The analysis of ``period`` ("2024H1", "2024", "2024Q3", "2024-05") over a frame or a store.

    ``households`` gives the homes in service per month of the period (for the u chart and the rate per
    100 households). ``as_of`` (default: the end of the period) is when clocks are judged. With
    ``office_policies`` (a desk's), each complaint is judged by its own office's policy — its thresholds,
    windows and which answers count as satisfied; the targets and labels are ``policy``'s.

    ``source`` may be a :class:`ComplaintFrame`, or a repository (or a snapshot of one), read in one snapshot:
    a store that counts on its server (PostgreSQL) aggregates there and sends back counts and the few rows the
    findings need; any other store is read into a frame of the period and the one before, in ``policy``'s zone.
    The report is the same either way.
    """
    policy = policy or Policy.default()
    p = Period.parse(period)
    if not isinstance(source, ComplaintFrame):
        from complaint_engine.stats.pushdown import analyse_store

        return analyse_store(source, p, policy=policy, office=office, households=households, capas=capas,
                             as_of=as_of, compare=compare, office_policies=office_policies)
    frame = source
    _start, end = p.bounds(frame.zone)
    judged = as_of or end
    selected = frame.select(period=p, office=office)
    valid = int(valid_mask(selected["status"]).sum())
    monthly = monthly_counts(selected, p, households=households,
                             categories=[c.code for c in policy.categories])
    kpis = compute_kpis(selected, policy, judged, households=int(np.mean(households)) if households else None,
                        capas=capas, office_policies=office_policies)
    findings = findings_of(selected, policy, office_policies)
    previous = None
    if compare:
        before = p.previous()
        if len(frame.select(period=before, office=office)):
            previous = analyse(frame, before, policy=policy, office=office, capas=(), compare=False,
                               office_policies=office_policies)
    valid_rows = selected.valid()
    return report_of(
        p, office, policy, received=len(selected), valid=valid,
        referred=int((selected["status"] == Status.REFERRED.value).sum()),
        merged=int((selected["status"] == Status.MERGED.value).sum()), pareto_category=valid_rows.pareto("category"),
        pareto_department=valid_rows.take(np.array([d is not None for d in valid_rows["department"]], dtype=bool))
        .pareto("department"),
        monthly=monthly, kpis=kpis, findings=findings, capas=capas, previous=previous)


def report_of(p: Period, office: str | None, policy: Policy, *, received: int, valid: int, referred: int, merged: int,
              pareto_category: ParetoTable, pareto_department: ParetoTable, monthly: PeriodCounts, kpis: KPIReport,
              findings: tuple[Finding, ...], capas: Sequence[CAPAReport],
              previous: AnalysisReport | None) -> AnalysisReport:
    """The report of what was counted (by a frame or by a store): the trend and control chart of the monthly
    totals, the CAPA reports still open, the policy's names."""
    totals = monthly.totals
    trend = mann_kendall(totals) if len(totals) >= 3 and valid else None
    control: ControlChart | None = None
    if valid:
        control = u_chart(totals, monthly.exposure) if monthly.exposure is not None else c_chart(totals)
    open_capas = tuple(r for r in capas if r.status is not CAPAStatus.CLOSED and (office is None or r.office == office))
    return AnalysisReport(
        period=p, office=office, language=policy.language, received=received, valid=valid, referred=referred,
        merged=merged, pareto_category=pareto_category, pareto_department=pareto_department, monthly=monthly,
        trend=trend, control=control, kpis=kpis, findings=findings, open_capas=open_capas, previous=previous,
        names={"category": {c.code: dict(c.labels) for c in policy.categories},
               "department": {d.code: dict(d.labels) for d in policy.departments}})
