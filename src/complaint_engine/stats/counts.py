"""Counts per period and category (the data of the 曲線圖), by numpy bincount on integer codes."""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt

from complaint_engine.errors import ValidationError
from complaint_engine.frozen import readonly_float, readonly_int
from complaint_engine.messages import Message

__all__ = ["PeriodCounts", "crosstab", "period_label"]

IntArray = npt.NDArray[np.int64]


CHUNK = 1 << 16  # 512 KiB of int64: the flat index stays in cache between multiply, add and bincount


def crosstab(rows: IntArray, cols: IntArray, n_rows: int, n_cols: int) -> IntArray:
    """Counts of each (row, col) code pair as an n_rows × n_cols matrix; pairs with a negative code are ignored.

    A bincount over ``row × n_cols + col``, computed chunk by chunk in one reused buffer: a whole-array flat
    index would be a fresh 8-bytes-per-row array whose page faults cost as much as the counting.
    """
    rows = np.asarray(rows)
    cols = np.asarray(cols)
    if rows.shape != cols.shape or rows.ndim != 1:
        raise ValidationError.of("code arrays", f"{rows.shape} and {cols.shape}", "1-D arrays of one shape")
    if rows.size and (rows.dtype.kind not in "iu" or cols.dtype.kind not in "iu"):
        raise ValidationError.of("codes", f"{rows.dtype}/{cols.dtype}", "integer codes")
    cells = n_rows * n_cols
    total = np.zeros(cells, dtype=np.int64)
    buf = np.empty(min(CHUNK, max(1, rows.size)), dtype=np.int64)
    for start in range(0, rows.size, CHUNK):
        r, c = rows[start:start + CHUNK], cols[start:start + CHUNK]
        flat = buf[:len(r)]
        np.multiply(r, n_cols, out=flat)
        flat += c
        if c.min() < 0 or c.max() >= n_cols or r.min() < 0:
            if c.max() >= n_cols:
                raise ValidationError.of("column codes", int(c.max()), Message("codes < {n_cols}", n_cols=n_cols))
            flat = flat[(r >= 0) & (c >= 0)]
        counts = np.bincount(flat, minlength=cells)
        if len(counts) > cells:
            raise ValidationError.of("row codes", int(r.max()), Message("codes < {n_rows}", n_rows=n_rows))
        total += counts
    return total.reshape(n_rows, n_cols)


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
    counts: IntArray = attrs.field(converter=readonly_int)
    exposure: npt.NDArray[np.float64] | None = attrs.field(default=None,
                                                           converter=attrs.converters.optional(readonly_float))

    @property
    def totals(self) -> IntArray:
        totals: IntArray = self.counts.sum(axis=1)
        return totals

    @property
    def rate(self) -> npt.NDArray[np.float64] | None:
        if self.exposure is None:
            return None
        return self.totals / self.exposure * 100

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"freq": self.freq, "periods": list(self.periods), "categories": list(self.categories),
                               "counts": self.counts.tolist(), "totals": self.totals.tolist()}
        if self.exposure is not None:
            out["exposure"] = self.exposure.tolist()
            out["per_100_households"] = self.rate.tolist() if self.rate is not None else None
        return out
