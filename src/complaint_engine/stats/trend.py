"""Trend analysis (曲線圖, P-6.3.2): the Mann–Kendall test with Sen's slope, and c/u control charts.

References:
    * Mann (1945), Kendall (1975), Gilbert (1987): S, tie-corrected Var(S), Z with continuity correction,
      two-sided p; Kendall's tau = S / (n(n-1)/2). Agrees with pymannkendall ``original_test``.
    * Theil (1950), Sen (1968): slope = median of pairwise slopes; intercept (Conover 1980) =
      median(x) − median(index) × slope.
    * Montgomery, *Introduction to Statistical Quality Control*: c chart c̄ ± 3√c̄; u chart
      ū ± 3√(ū/nᵢ) per point; a lower limit below zero is floored at 0.
"""

from __future__ import annotations

import math
from typing import Literal

import attrs
import numpy as np
import numpy.typing as npt

from complaint_engine.errors import ValidationError
from complaint_engine.frozen import readonly_float
from complaint_engine.messages import Message

__all__ = ["ControlChart", "MannKendall", "c_chart", "mann_kendall", "u_chart"]

FloatArray = npt.NDArray[np.float64]
Trend = Literal["increasing", "decreasing", "no trend"]


@attrs.frozen
class MannKendall:
    trend: Trend
    h: bool
    p: float
    z: float
    tau: float
    s: float
    var_s: float
    slope: float
    intercept: float
    n: int


def _series(series: npt.ArrayLike, what: str = "series") -> FloatArray:
    x = np.asarray(series, dtype=np.float64)
    if x.ndim != 1:
        raise ValidationError.of(what, f"shape {x.shape}", "a one-dimensional sequence of numbers")
    if np.isnan(x).any():
        raise ValidationError.of(what, "NaN", "numbers without NaN (drop or fill missing periods first)")
    return x


def mann_kendall(series: npt.ArrayLike, alpha: float = 0.05) -> MannKendall:
    """The Mann–Kendall trend test with tie-corrected variance and Sen's slope. Needs n >= 3 (better >= 10)."""
    x = _series(series)
    n = len(x)
    if n < 3:
        raise ValidationError.of("series length", n, "at least 3 values (10 or more for a meaningful test)")
    if not 0 < alpha < 1:
        raise ValidationError.of("alpha", alpha, "a level in (0, 1)")
    i, j = np.triu_indices(n, k=1)
    diff = x[j] - x[i]
    s = float(np.sign(diff).sum())
    _, ties = np.unique(x, return_counts=True)
    var_s = (n * (n - 1) * (2 * n + 5) - float(np.sum(ties * (ties - 1) * (2 * ties + 5)))) / 18
    if s > 0:
        z = (s - 1) / math.sqrt(var_s)
    elif s < 0:
        z = (s + 1) / math.sqrt(var_s)
    else:
        z = 0.0
    p = math.erfc(abs(z) / math.sqrt(2))  # = 2 (1 − Φ(|z|)), without cancellation for large |z|
    h = p < alpha
    trend: Trend = "no trend" if not h else ("increasing" if z > 0 else "decreasing")
    slope = float(np.median(diff / (j - i)))
    intercept = float(np.median(x) - np.median(np.arange(n)) * slope)
    return MannKendall(trend=trend, h=h, p=p, z=z, tau=s / (0.5 * n * (n - 1)), s=s, var_s=var_s, slope=slope,
                       intercept=intercept, n=n)


@attrs.frozen(eq=False)
class ControlChart:
    """Center line, limits (per point for a u chart) and the indices of points outside them."""

    kind: str
    values: FloatArray = attrs.field(converter=readonly_float)
    center: float
    ucl: FloatArray = attrs.field(converter=readonly_float)
    lcl: FloatArray = attrs.field(converter=readonly_float)
    out_of_control: tuple[int, ...]

    def in_counts(self, exposure: npt.ArrayLike | None = None) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Center line, upper and lower limits per point on the scale of the counts: a u chart's limits are on
        rates, so each is multiplied by its period's exposure; a c chart's are counts already."""
        if self.kind == "c":
            scale = np.ones(len(self.values))
        elif exposure is None:
            raise ValidationError.of("exposure", None, "the households of each period of the u chart")
        else:
            scale = _series(exposure, "exposure")
        if scale.shape != self.values.shape:
            raise ValidationError.of("exposure", f"{len(scale)} values", Message("one per point ({0})",
                                                                                 len(self.values)))
        return self.center * scale, self.ucl * scale, self.lcl * scale

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "values": self.values.tolist(), "center": self.center, "ucl": self.ucl.tolist(),
                "lcl": self.lcl.tolist(), "out_of_control": list(self.out_of_control)}


def _counts(counts: npt.ArrayLike) -> FloatArray:
    c = _series(counts, "counts")
    if (c < 0).any():
        raise ValidationError.of("counts", c.tolist(), "non-negative counts")
    if len(c) == 0:
        raise ValidationError.of("counts", [], "at least one period")
    return c


def c_chart(counts: npt.ArrayLike) -> ControlChart:
    """c chart for counts per period of equal size: c̄ ± 3√c̄, the lower limit floored at 0."""
    c = _counts(counts)
    center = float(c.mean())
    ucl = np.full(len(c), center + 3 * math.sqrt(center))
    lcl = np.full(len(c), max(0.0, center - 3 * math.sqrt(center)))
    out = tuple(int(k) for k in np.flatnonzero((c > ucl) | (c < lcl)))
    return ControlChart("c", c, center, ucl, lcl, out)


def u_chart(counts: npt.ArrayLike, exposure: npt.ArrayLike) -> ControlChart:
    """u chart for rates with varying exposure (e.g. households): uᵢ = cᵢ/nᵢ, limits ū ± 3√(ū/nᵢ), lcl ≥ 0."""
    c = _counts(counts)
    n = _series(exposure, "exposure")
    if len(n) != len(c):
        raise ValidationError.of("exposure length", len(n), Message("one exposure per count ({0})", len(c)))
    if (n <= 0).any():
        raise ValidationError.of("exposure", n.tolist(), "positive values (households, units in service)")
    u = c / n
    center = float(c.sum() / n.sum())
    half = 3 * np.sqrt(center / n)
    ucl = center + half
    lcl = np.maximum(0.0, center - half)
    out = tuple(int(k) for k in np.flatnonzero((u > ucl) | (u < lcl)))
    return ControlChart("u", u, center, ucl, lcl, out)
