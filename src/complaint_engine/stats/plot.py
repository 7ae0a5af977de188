"""Charts of the analysis: the Pareto chart (排列圖) and the trend chart (曲線圖), as matplotlib ``Figure`` objects.

Needs matplotlib (extra ``[plot]``). Only matplotlib's object API is used: no ``pyplot`` state, no backend
choice, no change to matplotlib's loggers or settings — a notebook's ``%matplotlib inline`` and ``plt.show()``
work as before and after. Every function returns the ``Figure`` it drew on and takes an optional ``ax`` to
draw into an axes of the caller's own figure.

Chinese labels need a CJK font; when none is installed the charts are drawn with English labels and a warning
names fonts to install (Debian: fonts-wqy-zenhei or fonts-noto-cjk).
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from complaint_engine.display import as_figure
from complaint_engine.errors import ValidationError
from complaint_engine.labels import label
from complaint_engine.messages import Message
from complaint_engine.stats.report import AnalysisReport

if TYPE_CHECKING:
    from complaint_engine.stats.pareto import ParetoTable

__all__ = ["CHARTS", "CJK_FONTS", "chart_images", "cjk_font", "plot_chart", "plot_pareto", "plot_report", "plot_trend"]

CJK_FONTS = ("Noto Sans CJK TC", "Noto Sans CJK SC", "Source Han Sans TC", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Microsoft JhengHei", "Microsoft YaHei", "PingFang TC", "PingFang SC", "SimHei",
             "AR PL UMing TW", "AR PL UKai TW")
CHARTS = ("pareto-category", "pareto-department", "trend")
"""The charts of a report, by the name :meth:`AnalysisReport.plot` and :func:`plot_report` know them."""

_BAR, _LINE, _GREY, _FIT = "#4c72b0", "#c44e52", "#888888", "#55a868"


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("charts need matplotlib: pip install 'complaint_engine[plot]'") from None
    return Figure


@functools.cache
def cjk_font() -> str | None:
    """The first installed font family that can show Chinese, or None (looked up once per process)."""
    _figure_class()
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _language(lang: str) -> tuple[str, str | None]:
    if lang == "en":
        return lang, None
    font = cjk_font()
    if font is None:
        warnings.warn("no CJK font found for Chinese chart labels; drawing in English. Install one, e.g. "
                      "Debian's fonts-wqy-zenhei or fonts-noto-cjk", UserWarning, stacklevel=4)
        return "en", None
    return lang, font


class _OneWeightFonts(logging.Filter):
    """CJK fonts ship one weight; matplotlib logs a line per label when it substitutes it. Dropped only while
    this module draws: the logger's level and handlers are the caller's."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "findfont" not in record.getMessage()


@contextlib.contextmanager
def _quiet_fonts() -> Iterator[None]:
    logger = logging.getLogger("matplotlib.font_manager")
    quiet = _OneWeightFonts()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


@contextlib.contextmanager
def _drawing(font: str | None) -> Iterator[dict[str, Any]]:
    """matplotlib settings for the figures made inside (restored on exit); yields the text properties that
    must travel with texts matplotlib creates later (tick labels of a figure drawn after this returns)."""
    import matplotlib

    family = [font, "sans-serif"] if font else ["sans-serif"]
    with _quiet_fonts(), matplotlib.rc_context({"font.family": family, "axes.unicode_minus": False}):
        yield {"fontfamily": family}


def _axes(ax: Any, size: tuple[float, float]) -> tuple[Any, Any]:
    """The figure and axes to draw on: the caller's ``ax``, or a new figure of its own (no pyplot)."""
    if ax is not None:
        return ax.figure, ax
    fig = _figure_class()(figsize=size, dpi=110, layout="constrained")
    return fig, fig.add_subplot()


def plot_pareto(table: ParetoTable, *, title: str = "", lang: str = "zh-Hant", ax: Any = None,
                names: Mapping[str, Mapping[str, str]] | None = None) -> Any:
    """The Pareto chart as qcc's ``pareto.chart`` draws it: bars by descending count with their counts on top,
    the left axis ending at the total so the cumulative line meets the last bar, the right axis 0–100 %, and
    the cutoff (the "vital few" line) labelled. ``names``: code → language → label for the bars. Returns the
    ``Figure``."""
    lang, font = _language(lang)
    names = names or {}
    with _drawing(font) as text:
        fig, ax = _axes(ax, (9, 5))
        x = np.arange(len(table))
        counts = np.asarray(table.counts)
        total = int(counts.sum()) or 1
        bars = ax.bar(x, counts, color=_BAR, width=0.8)
        ax.bar_label(bars, padding=2, fontsize=8)
        ax.set_xticks(x, [names.get(lab, {}).get(lang, lab) for lab in table.labels], rotation=30, ha="right",
                      **text)
        ax.set_ylim(0, total)
        ax.set_ylabel(label("col.frequency", lang))
        if title:
            ax.set_title(title)
        right = ax.twinx()
        right.set_ylim(0, 100)  # aligned with the left axis: the total is 100 %
        right.plot(x, table.cum_percent, color=_LINE, marker="o")
        cut = table.cutoff * 100
        right.axhline(cut, color=_GREY, linestyle="--", linewidth=1)
        right.annotate(f"{label('report.vital_few', lang)} {table.cutoff:.0%}", xy=(0, cut), xycoords=("axes fraction",
                       "data"), xytext=(2, 2), textcoords="offset points", fontsize=8, color=_GREY)
        right.set_ylabel(label("col.cum_percent", lang) + " (%)")
    return fig


def plot_trend(report: AnalysisReport, *, lang: str | None = None, ax: Any = None) -> Any:
    """The monthly valid complaints with the control chart's limits, the out-of-control months marked, and
    Sen's slope; the legend sits outside the plot so it covers no line. Returns the ``Figure``."""
    lang, font = _language(lang or report.language)
    with _drawing(font) as text:
        fig, ax = _axes(ax, (9, 4.5))
        x = np.arange(len(report.monthly.periods))
        ax.plot(x, report.monthly.totals, marker="o", color=_BAR, label=label("col.total", lang))
        if report.control is not None:
            # limits on the counts' scale: a u chart (households given) has one pair per month
            center, ucl, lcl = report.control.in_counts(report.monthly.exposure)
            ax.plot(x, ucl, linestyle="--", color=_LINE, label=label("chart.ucl", lang))
            ax.plot(x, center, linestyle=":", color=_GREY, label=label("chart.center", lang))
            if lcl.any():
                ax.plot(x, lcl, linestyle="--", color=_LINE, alpha=0.5, label=label("chart.lcl", lang))
            for i in report.control.out_of_control:
                ax.plot(x[i], report.monthly.totals[i], marker="o", color=_LINE, markersize=10)
        if report.trend is not None:
            fit = report.trend.intercept + report.trend.slope * x
            ax.plot(x, fit, color=_FIT,
                    label=f"{label('chart.sen', lang)} ({label('trend.' + report.trend.trend, lang)})")
        ax.set_xticks(x, list(report.monthly.periods), rotation=30, ha="right", **text)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(label("col.frequency", lang))
        ax.set_title(f"{label('report.trend', lang)} — {report.period.label}")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8)
    return fig


@as_figure.register
def plot_chart(report: AnalysisReport, chart: str, *, lang: str | None = None, ax: Any = None) -> Any:
    """The report's chart named ``chart`` (one of :data:`CHARTS`) as a ``Figure``."""
    if chart not in CHARTS:
        raise ValidationError.of("chart", chart, Message("one of {0}", list(CHARTS)))
    lang = lang or report.language
    lang, _font = _language(lang)  # the titles below in the language the chart can show
    if chart == "trend":
        return plot_trend(report, lang=lang, ax=ax)
    kind = chart.removeprefix("pareto-")
    table = report.pareto_category if kind == "category" else report.pareto_department
    return plot_pareto(table, title=f"{label('report.pareto_' + kind, lang)} — {report.period.label}", lang=lang,
                       ax=ax, names=report.names.get(kind, {}))


def _charts_to_draw(report: AnalysisReport) -> list[str]:
    """The report's charts that have something to show (a Pareto chart of nothing is left out)."""
    return [c for c in CHARTS if c == "trend" or len(report.pareto_category if c == "pareto-category"
                                                     else report.pareto_department)]


def plot_report(report: AnalysisReport, folder: str | Path, lang: str | None = None) -> list[Path]:
    """Write the Pareto by category, the Pareto by department and the monthly trend as PNG files in ``folder``
    (needs the ``[plot]`` extra); returns the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lang = lang or report.language
    stem = f"{report.period.label}{'-' + report.office if report.office else ''}"
    written = []
    for chart in _charts_to_draw(report):
        path = folder / f"{stem}-{chart}.png"
        fig = plot_chart(report, chart, lang=lang)
        with _quiet_fonts():
            fig.savefig(path)
        written.append(path)
    return written


def chart_images(report: AnalysisReport, lang: str | None = None, fmt: str = "svg") -> dict[str, bytes]:
    """The report's charts as image bytes (``svg`` or ``png``), by chart name — for HTML and notebooks."""
    lang = lang or report.language
    out = {}
    for chart in _charts_to_draw(report):
        buffer = io.BytesIO()
        fig = plot_chart(report, chart, lang=lang)
        with _quiet_fonts():
            fig.savefig(buffer, format=fmt)
        out[chart] = buffer.getvalue()
    return out
