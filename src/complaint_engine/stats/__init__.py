"""The half-year and annual analysis: frame, Pareto, trend, control charts, KPIs, recurrence, report."""

from complaint_engine.stats.counts import PeriodCounts, crosstab
from complaint_engine.stats.frame import ComplaintFrame
from complaint_engine.stats.kpi import KPI, KPIReport, Rate, compute_kpis
from complaint_engine.stats.pareto import ParetoTable, pareto
from complaint_engine.stats.plot import plot_pareto, plot_report, plot_trend
from complaint_engine.stats.recurrence import (
    Finding,
    capa_recurrence,
    find_recurring,
    find_recurring_problems,
    find_widespread,
)
from complaint_engine.stats.render import render_html, render_markdown
from complaint_engine.stats.report import AnalysisReport, analyse, monthly_counts
from complaint_engine.stats.trend import ControlChart, MannKendall, c_chart, mann_kendall, u_chart
from complaint_engine.stats.whatif import ClockComparison, WhatIfResult, what_if

__all__ = [
    "KPI",
    "AnalysisReport",
    "ClockComparison",
    "ComplaintFrame",
    "ControlChart",
    "Finding",
    "KPIReport",
    "MannKendall",
    "ParetoTable",
    "PeriodCounts",
    "Rate",
    "WhatIfResult",
    "analyse",
    "c_chart",
    "capa_recurrence",
    "compute_kpis",
    "crosstab",
    "find_recurring",
    "find_recurring_problems",
    "find_widespread",
    "mann_kendall",
    "monthly_counts",
    "pareto",
    "plot_pareto",
    "plot_report",
    "plot_trend",
    "render_html",
    "render_markdown",
    "u_chart",
    "what_if",
]
