"""The analysis report as Markdown: rendering sits above the report's data (``stats/report.py``), as the
charts do (``stats/plot.py``)."""

from __future__ import annotations

from collections.abc import Callable

from complaint_engine.display import as_html, as_markdown, markdown_to_html
from complaint_engine.errors import ValidationError
from complaint_engine.labels import LANGUAGES, label
from complaint_engine.messages import Message
from complaint_engine.stats.pareto import ParetoTable
from complaint_engine.stats.report import AnalysisReport

__all__ = ["markdown_to_html", "render_html", "render_markdown"]


@as_markdown.register
def render_markdown(report: AnalysisReport, lang: str | None = None) -> str:
    """The report as Markdown in ``lang`` (default: the report's language, from its policy)."""
    lang = lang or report.language
    if lang not in LANGUAGES:
        raise ValidationError.of("language", lang, Message("one of {0}", list(LANGUAGES)))

    def t(key: str) -> str:
        return label(key, lang)

    out = [f"# {t('report.title')} — {report.period.label}", ""]
    if report.office:
        out += [f"{t('report.office')}: {report.office}", ""]
    out += [f"## {t('report.summary')}", "",
            f"- {t('report.received')}: {report.received}",
            f"- {t('report.valid')}: {report.valid}" + _delta(report, "valid", t),
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
        out.append(f"{t('stat.mann_kendall')}: {t('trend.' + mk.trend)} (S = {mk.s:.0f}, Z = {mk.z:.3f}, "
                   f"p = {mk.p:.4f}; {t('stat.sen')} = {mk.slope:.3f} {t('report.per_month')})")
    if report.control is not None:
        flagged = [report.monthly.periods[i] for i in report.control.out_of_control]
        out.append(f"{t('stat.' + report.control.kind)}: {t('report.center')} {report.control.center:.2f}; "
                   f"{t('report.out_of_control')}: {', '.join(flagged) or '—'}")
    out += ["", f"## {t('report.kpis')}", "",
            f"| {t('col.kpi')} | {t('col.value')} | {t('col.counts')} | {t('col.target')} | {t('col.met')} |"
            f" {t('report.change')} |", "|---|---:|---:|---:|---|---:|"]
    for key, kpi in report.kpis.kpis.items():
        rate = kpi.value.rate
        value = "—" if rate is None else (f"{rate * kpi.scale:.2f}" if kpi.scale != 1 else f"{rate:.1%}")
        target = "—" if kpi.target is None else f"{kpi.target:.0%}"
        met = "—" if kpi.met is None else t("yes" if kpi.met else "no")
        out.append(f"| {t('kpi.' + key)} | {value} | {kpi.value.numerator}/{kpi.value.denominator} | {target} "
                   f"| {met} |{_delta(report, key, t, points=True)} |")
    out += ["", f"### {t('report.durations')}", ""]
    for name, d in (("reply", report.kpis.time_to_reply), ("close", report.kpis.time_to_close)):
        if d.n:
            out.append(f"- {t('duration.' + name)}: {t('report.median')} {d.median_hours:.1f}, {t('report.p90')} "
                       f"{d.p90_hours:.1f} ({t('report.cases').format(n=d.n)})")
    if report.kpis.breaches_by_department:
        out += ["", f"### {t('report.breaches')}", "", f"{t('report.by_department')}:", ""]
        out += [f"- {report.name(k, lang, 'department')}: {v}" for k, v in report.kpis.breaches_by_department.items()]
        if report.kpis.breaches_by_person:
            out += ["", f"{t('report.by_person')}:", ""]
            out += [f"- {k}: {v}" for k, v in report.kpis.breaches_by_person.items()]
    out += ["", f"## {t('report.findings')}", ""]
    out += [f"- {t('finding.' + f.kind)} — {f.describe(lang, report.name(f.category, lang))} "
            f"({', '.join(f.serials)})" for f in report.findings] or [t("report.no_findings")]
    out += ["", f"## {t('report.capas')}", ""]
    out += [f"- {r.number} ({t('capa_status.' + r.status.value)}): {r.problem}"
            for r in report.open_capas] or [t("report.no_capas")]
    return "\n".join([*out, ""])

def _delta(report: AnalysisReport, key: str, t: Callable[[str], str], points: bool = False) -> str:
    change = report.change().get(key)
    if change is None:
        return "" if not points else " — "
    return f" {change:+.1f} {t('report.points')}" if points else f" ({change:+.0f})"


def _pareto_md(report: AnalysisReport, title: str, table: ParetoTable, t: Callable[[str], str], lang: str,
               kind: str) -> list[str]:
    out = [f"## {title}", "", f"| {t('col.label')} | {t('col.frequency')} | {t('col.cum_frequency')} | "
           f"{t('col.percent')} | {t('col.cum_percent')} |", "|---|---:|---:|---:|---:|"]
    out += [f"| {report.name(lab, lang, kind)} | {c} | {cc} | {p:.1f} | {cp:.1f} |"
            for lab, c, cc, p, cp in table.rows()]
    vital = ", ".join(report.name(v, lang, kind) for v in table.vital_few) or "—"
    out += ["", f"{t('report.vital_few')} ({table.cutoff:.0%}): {vital}", ""]
    return out


@as_html.register
def render_html(report: AnalysisReport, lang: str | None = None, *, charts: bool = True) -> str:
    """The report as an HTML fragment in ``lang``: the Markdown's headings, lists and tables, and — when
    matplotlib is installed and ``charts`` — the Pareto and trend charts inline as SVG."""
    lang = lang or report.language
    body = markdown_to_html(render_markdown(report, lang))
    if not charts or report.empty:
        return body
    from complaint_engine.stats.plot import chart_images  # matplotlib itself is imported when drawing

    try:
        images = chart_images(report, lang, "svg")
    except ImportError:  # no matplotlib: the tables alone
        return body
    figures = "".join(f'<figure class="complaint-engine-chart" data-chart="{name}">{_svg_body(svg)}</figure>'
                      for name, svg in images.items())
    return body + figures


def _svg_body(svg: bytes) -> str:
    """The ``<svg>`` element of an SVG file, without its XML prolog (which HTML does not allow inline)."""
    text = svg.decode("utf-8")
    return text[text.index("<svg"):]
