"""Counts per period and category (the data of the 曲線圖), by numpy bincount on integer codes."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from complaint_engine.errors import ValidationError

__all__ = ["PeriodCounts", "crosstab", "period_label"]

IntArray = npt.NDArray[np.int64]


def crosstab(rows: IntArray, cols: IntArray, n_rows: int, n_cols: int) -> IntArray:
    """Counts of each (row, col) code pair as an n_rows × n_cols matrix (codes < 0 are ignored)."""
    ok = (rows >= 0) & (cols >= 0)
    if rows.size and ok.any() and (rows[ok].max() >= n_rows or cols[ok].max() >= n_cols):
        raise ValidationError.of("codes", "out of range", f"row codes < {n_rows} and column codes < {n_cols}")
    flat = rows[ok] * n_cols + cols[ok] if not ok.all() else rows * n_cols + cols
    return np.bincount(flat, minlength=n_rows * n_cols).reshape(n_rows, n_cols).astype(np.int64)


def period_label(index: int, freq: str) -> str:
    """'2024-05', '2024Q2', '2024H1', '2024' for a period number of ``ComplaintFrame.period_index``."""
    if freq == "month":
        return f"{index // 12:04d}-{index % 12 + 1:02d}"
    if freq == "quarter":
        return f"{index // 4:04d}Q{index % 4 + 1}"
    if freq == "half":
        return f"{index // 2:04d}H{index % 2 + 1}"
    return f"{index:04d}"


@attrs.frozen(eq=False)
class PeriodCounts:
    """``counts[i, j]``: complaints of category ``categories[j]`` in period ``periods[i]``.

    With ``exposure`` (households per period), ``rate`` is complaints per 100 households.
    """

    freq: str
    periods: tuple[str, ...]
    categories: tuple[str, ...]
    counts: IntArray
    exposure: npt.NDArray[np.float64] | None = None

    @property
    def totals(self) -> IntArray:
        totals: IntArray = self.counts.sum(axis=1)
        return totals

    @property
    def rate(self) -> npt.NDArray[np.float64] | None:
        if self.exposure is None:
            return None
        return self.totals / self.exposure * 100

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"freq": self.freq, "periods": list(self.periods), "categories": list(self.categories),
                               "counts": self.counts.tolist(), "totals": self.totals.tolist()}
        if self.exposure is not None:
            out["exposure"] = self.exposure.tolist()
            out["per_100_households"] = self.rate.tolist() if self.rate is not None else None
        return out
