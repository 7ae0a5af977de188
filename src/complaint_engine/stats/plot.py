"""Charts of the analysis as PNG files: the Pareto chart (排列圖) and the trend chart (曲線圖).

Needs matplotlib (extra ``[plot]``). Chinese labels need a CJK font; when none is installed the charts are
drawn with English labels and a warning names fonts to install (Debian: fonts-wqy-zenhei or fonts-noto-cjk).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from complaint_engine.labels import label
from complaint_engine.stats.report import AnalysisReport

if TYPE_CHECKING:
    from complaint_engine.stats.pareto import ParetoTable

__all__ = ["CJK_FONTS", "cjk_font", "plot_pareto", "plot_report"]

CJK_FONTS = ("Noto Sans CJK TC", "Noto Sans CJK SC", "Source Han Sans TC", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Microsoft JhengHei", "Microsoft YaHei", "PingFang TC", "PingFang SC", "SimHei",
             "AR PL UMing TW", "AR PL UKai TW")


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError("charts need matplotlib: pip install 'complaint_engine[plot]'") from None
    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    # CJK fonts ship one weight; matplotlib logs a line per label when it substitutes it
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

    return plt


def cjk_font() -> str | None:
    """The first installed font family that can show Chinese, or None."""
    _pyplot()
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _language(lang: str) -> tuple[str, str | None]:
    if lang == "en":
        return lang, None
    font = cjk_font()
    if font is None:
        warnings.warn("no CJK font found for Chinese chart labels; drawing in English. Install one, e.g. "
                      "Debian's fonts-wqy-zenhei or fonts-noto-cjk", UserWarning, stacklevel=3)
        return "en", None
    return lang, font


def plot_pareto(table: ParetoTable, path: Path, title: str, lang: str, font: str | None,
                names: Mapping[str, Mapping[str, str]] | None = None) -> Path:
    """``names``: code → language → label, for the bars' labels."""
    """Bars by descending count, the cumulative-percent line, and the cutoff line."""
    plt = _pyplot()
    names = names or {}
    with plt.rc_context({"font.family": [font, "sans-serif"] if font else ["sans-serif"],
                         "axes.unicode_minus": False}):
        fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
        x = np.arange(len(table))
        ax.bar(x, table.counts, color="#4c72b0")
        ax.set_xticks(x, [names.get(lab, {}).get(lang, lab) for lab in table.labels], rotation=30, ha="right")
        ax.set_ylabel(label("col.frequency", lang))
        ax.set_title(title)
        ax2 = ax.twinx()
        ax2.plot(x, table.cum_percent, color="#c44e52", marker="o")
        ax2.axhline(table.cutoff * 100, color="#888888", linestyle="--", linewidth=1)
        ax2.set_ylim(0, 105)
        ax2.set_ylabel(label("col.cum_percent", lang) + " (%)")
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
    return path


def plot_report(report: AnalysisReport, folder: str | Path, lang: str | None = None) -> list[Path]:
    """Write the Pareto by category, the Pareto by department and the monthly trend as PNG files in ``folder``
    (needs the ``[plot]`` extra); returns the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lang, font = _language(lang or report.language)
    stem = f"{report.period.label}{'-' + report.office if report.office else ''}"
    written = []
    for kind, table in (("category", report.pareto_category), ("department", report.pareto_department)):
        if len(table):
            written.append(plot_pareto(table, folder / f"{stem}-pareto-{kind}.png",
                                       f"{label('report.pareto_' + kind, lang)} — {report.period.label}", lang, font,
                                       report.names.get(kind, {})))
    plt = _pyplot()
    with plt.rc_context({"font.family": [font, "sans-serif"] if font else ["sans-serif"],
                         "axes.unicode_minus": False}):
        fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
        x = np.arange(len(report.monthly.periods))
        ax.plot(x, report.monthly.totals, marker="o", color="#4c72b0", label=label("col.total", lang))
        if report.control is not None:
            # limits on the counts' scale: a u chart (households given) has one pair per month
            center, ucl, lcl = report.control.in_counts(report.monthly.exposure)
            ax.plot(x, ucl, linestyle="--", color="#c44e52", label="UCL")
            ax.plot(x, center, linestyle=":", color="#888888", label="CL")
            if lcl.any():
                ax.plot(x, lcl, linestyle="--", color="#c44e52", alpha=0.5, label="LCL")
            for i in report.control.out_of_control:
                ax.plot(x[i], report.monthly.totals[i], marker="o", color="#c44e52", markersize=10)
        if report.trend is not None:
            fit = report.trend.intercept + report.trend.slope * x
            ax.plot(x, fit, color="#55a868", label=f"Sen ({label('trend.' + report.trend.trend, lang)})")
        ax.set_xticks(x, list(report.monthly.periods), rotation=30, ha="right")
        ax.set_ylabel(label("col.frequency", lang))
        ax.set_title(f"{label('report.trend', lang)} — {report.period.label}")
        ax.legend()
        fig.tight_layout()
        path = folder / f"{stem}-trend.png"
        fig.savefig(path)
        plt.close(fig)
    written.append(path)
    return written
