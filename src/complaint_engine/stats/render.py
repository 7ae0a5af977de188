"""The analysis report as Markdown: rendering sits above the report's data (``stats/report.py``), as the
charts do (``stats/plot.py``)."""

from __future__ import annotations

from collections.abc import Callable

from complaint_engine.errors import ValidationError
from complaint_engine.labels import LANGUAGES, label
from complaint_engine.stats.pareto import ParetoTable
from complaint_engine.stats.report import AnalysisReport

__all__ = ["render_markdown"]


def render_markdown(report: AnalysisReport, lang: str | None = None) -> str:
    """The report as Markdown in ``lang`` (default: the report's language, from its policy)."""
    lang = lang or report.language
    if lang not in LANGUAGES:
        raise ValidationError.of("language", lang, f"one of {list(LANGUAGES)}")

    def t(key: str) -> str:
        return label(key, lang)

    out = [f"# {t('report.title')} — {report.period.label}", ""]
    if report.office:
        out += [f"{t('report.office')}: {report.office}", ""]
    out += [f"## {t('report.summary')}", "",
            f"- {t('report.received')}: {report.received}",
            f"- {t('report.valid')}: {report.valid}" + _delta(report, "valid"),
            f"- {t('report.referred')}: {report.referred}",
            *([f"- {t('report.merged')}: {report.merged}"] if report.merged else []), ""]
    if report.empty:
        return "\n".join([*out, t("report.empty"), ""])
    out += _pareto_md(report, t("report.pareto_category"), report.pareto_category, t, lang, "category")
    out += _pareto_md(report, t("report.pareto_department"), report.pareto_department, t, lang, "department")
    out += [f"## {t('report.trend')}", "", f"| {t('col.month')} | {t('col.total')} |", "|---|---:|"]
    out += [f"| {p} | {int(n)} |" for p, n in zip(report.monthly.periods, report.monthly.totals, strict=True)]
    out.append("")
    if report.trend is not None:
        mk = report.trend
        out.append(f"Mann–Kendall: {t('trend.' + mk.trend)} (S = {mk.s:.0f}, Z = {mk.z:.3f}, p = {mk.p:.4f}, "
                   f"Sen slope = {mk.slope:.3f}/{t('col.month')})")
    if report.control is not None:
        flagged = [report.monthly.periods[i] for i in report.control.out_of_control]
        out.append(f"{report.control.kind}-chart: center {report.control.center:.2f}; "
                   f"out of control: {', '.join(flagged) or '—'}")
    out += ["", f"## {t('report.kpis')}", "",
            f"| {t('col.kpi')} | {t('col.value')} | {t('col.counts')} | {t('col.target')} | {t('col.met')} |"
            f" {t('report.change')} |", "|---|---:|---:|---:|---|---:|"]
    for key, kpi in report.kpis.kpis.items():
        rate = kpi.value.rate
        value = "—" if rate is None else (f"{rate * kpi.scale:.2f}" if kpi.scale != 1 else f"{rate:.1%}")
        target = "—" if kpi.target is None else f"{kpi.target:.0%}"
        met = "—" if kpi.met is None else t("yes" if kpi.met else "no")
        out.append(f"| {t('kpi.' + key)} | {value} | {kpi.value.numerator}/{kpi.value.denominator} | {target} "
                   f"| {met} |{_delta(report, key, points=True)} |")
    out += ["", f"### {t('report.durations')}", ""]
    for name, d in (("reply", report.kpis.time_to_reply), ("close", report.kpis.time_to_close)):
        if d.n:
            out.append(f"- {name}: median {d.median_hours:.1f}, P90 {d.p90_hours:.1f} (n = {d.n})")
    if report.kpis.breaches_by_department:
        out += ["", f"### {t('report.breaches')}", ""]
        out += [f"- {k}: {v}" for k, v in report.kpis.breaches_by_department.items()]
        out += [f"- {k}: {v}" for k, v in report.kpis.breaches_by_person.items()]
    out += ["", f"## {t('report.findings')}", ""]
    out += [f"- {t('finding.' + f.kind)} — {report.name(f.category, lang)}: {f.describe()} "
            f"({', '.join(f.serials)})" for f in report.findings] or [t("report.no_findings")]
    out += ["", f"## {t('report.capas')}", ""]
    out += [f"- {r.number} ({r.status.value}): {r.problem}" for r in report.open_capas] or [t("report.no_capas")]
    return "\n".join([*out, ""])

def _delta(report: AnalysisReport, key: str, points: bool = False) -> str:
    change = report.change().get(key)
    if change is None:
        return "" if not points else " — "
    return f" {change:+.1f} pp" if points else f" ({change:+.0f})"

def _pareto_md(report: AnalysisReport, title: str, table: ParetoTable, t: Callable[[str], str], lang: str,
               kind: str) -> list[str]:
    out = [f"## {title}", "", f"| {t('col.label')} | {t('col.frequency')} | {t('col.cum_frequency')} | "
           f"{t('col.percent')} | {t('col.cum_percent')} |", "|---|---:|---:|---:|---:|"]
    out += [f"| {report.name(lab, lang, kind)} | {c} | {cc} | {p:.1f} | {cp:.1f} |"
            for lab, c, cc, p, cp in table.rows()]
    vital = ", ".join(report.name(v, lang, kind) for v in table.vital_few) or "—"
    out += ["", f"{t('report.vital_few')} ({table.cutoff:.0%}): {vital}", ""]
    return out
