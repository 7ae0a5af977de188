"""Pareto analysis (排列圖, P-6.3.2): categories by descending count with cumulative shares.

References:
    * R qcc ``pareto.chart``: columns Frequency, Cum.Freq., Percentage, Cum.Percent.
    * Minitab Pareto chart: categories after a cumulative share are pooled into "Other", shown last.

Rules: descending counts, ties broken by label (so the table does not depend on input order);
``vital_few`` are the leading categories up to and including the first whose cumulative share reaches
``cutoff``. Counts must be non-negative integers.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np
import numpy.typing as npt

from complaint_engine.errors import ValidationError
from complaint_engine.frozen import readonly_float, readonly_int
from complaint_engine.messages import Message

__all__ = ["ParetoTable", "pareto"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@attrs.frozen(eq=False)
class ParetoTable:
    """The Pareto table. ``percent`` and ``cum_percent`` are 0–100."""

    labels: tuple[str, ...]
    counts: IntArray = attrs.field(converter=readonly_int)
    percent: FloatArray = attrs.field(converter=readonly_float)
    cum_percent: FloatArray = attrs.field(converter=readonly_float)
    cutoff: float
    vital_few: tuple[str, ...]

    @property
    def cum_counts(self) -> IntArray:
        return np.cumsum(self.counts)

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def __len__(self) -> int:
        return len(self.labels)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ParetoTable) and self.labels == other.labels
                and np.array_equal(self.counts, other.counts) and self.vital_few == other.vital_few
                and np.allclose(self.percent, other.percent) and self.cutoff == other.cutoff)

    def rows(self) -> list[tuple[str, int, int, float, float]]:
        """(label, Frequency, Cum.Freq., Percentage, Cum.Percent.) — the qcc columns."""
        return [(lab, int(c), int(cc), float(p), float(cp)) for lab, c, cc, p, cp in
                zip(self.labels, self.counts, self.cum_counts, self.percent, self.cum_percent, strict=True)]

    def to_dict(self) -> dict[str, object]:
        return {"labels": list(self.labels), "counts": self.counts.tolist(), "percent": self.percent.tolist(),
                "cum_percent": self.cum_percent.tolist(), "cutoff": self.cutoff, "vital_few": list(self.vital_few)}


def _counts_by_label(values: npt.ArrayLike, counts: npt.ArrayLike | None,
                     labels: Sequence[str] | None) -> tuple[list[str], IntArray]:
    if counts is not None:
        names = [str(v) for v in np.asarray(values, dtype=object).ravel()]
        raw = np.asarray(counts)
        if raw.ndim != 1 or len(raw) != len(names):
            raise ValidationError.of("counts", f"{raw.shape}", Message("one count per value ({0})", len(names)))
        if raw.dtype.kind == "f":
            if np.isnan(raw).any() or (raw != np.round(raw)).any():
                raise ValidationError.of("counts", raw.tolist(), "non-negative integers")
            raw = raw.astype(np.int64)
        if raw.dtype.kind not in "iu" or (raw < 0).any():
            raise ValidationError.of("counts", raw.tolist(), "non-negative integers")
        if len(set(names)) != len(names):
            raise ValidationError.of("values", names, "distinct labels when counts are given")
        return names, raw.astype(np.int64)
    arr = np.asarray(values)
    if labels is not None:
        if arr.dtype.kind not in "iu":
            raise ValidationError.of("values", arr.dtype, "integer codes when labels are given")
        # bincount refuses negative codes and shows too-large ones by its length: no extra pass over the data
        try:
            freq = np.bincount(arr, minlength=len(labels))
        except ValueError:
            raise ValidationError.of("codes", int(arr.min()), Message("codes in 0..{0}", len(labels) - 1)) from None
        if len(freq) > len(labels):
            raise ValidationError.of("codes", len(freq) - 1, Message("codes in 0..{0}", len(labels) - 1))
        return list(labels), freq.astype(np.int64, copy=False)
    if arr.dtype.kind in "iu":
        uniq, cnt = np.unique(arr, return_counts=True)
        return [str(u) for u in uniq], cnt.astype(np.int64)
    if arr.dtype == object and any(v is None for v in arr):
        raise ValidationError.of("values", None, "labels (no None)")
    uniq, cnt = np.unique(arr.astype(str), return_counts=True)
    return [str(u) for u in uniq], cnt.astype(np.int64)


def pareto(values: npt.ArrayLike, counts: npt.ArrayLike | None = None, *, cutoff: float = 0.8,
           labels: Sequence[str] | None = None,
           other: float | None = None, other_label: str = "Other") -> ParetoTable:
    """A Pareto table from raw labels, integer codes with ``labels``, or labels with ``counts``.

    ``other`` (a share in (0, 1], e.g. 0.95) pools the categories after the first one whose cumulative
    share reaches it into ``other_label``, placed last. Categories with a zero count are dropped.
    """
    if not 0 < cutoff <= 1:
        raise ValidationError.of("cutoff", cutoff, "a share in (0, 1]")
    if other is not None and not 0 < other <= 1:
        raise ValidationError.of("other", other, "None or a share in (0, 1]")
    names, freq = _counts_by_label(values, counts, labels)
    keep = freq > 0
    names = [n for n, k in zip(names, keep, strict=True) if k]
    freq = freq[keep]
    # descending count, ties by label: sort by label first, then a stable sort by count
    order = sorted(range(len(names)), key=lambda i: names[i])
    order = sorted(order, key=lambda i: -int(freq[i]))
    names = [names[i] for i in order]
    freq = freq[np.asarray(order, dtype=np.int64)] if order else freq
    total = int(freq.sum())
    if other is not None and total:
        cum_share = np.cumsum(freq) / total
        cut = int(np.searchsorted(cum_share, other - 1e-12, side="left")) + 1
        if cut < len(names) - 1:  # pool only when at least two categories remain
            names = [*names[:cut], other_label]
            freq = np.append(freq[:cut], freq[cut:].sum())
    percent = freq / total * 100 if total else np.zeros(len(freq))
    cum_percent = np.cumsum(freq) / total * 100 if total else np.zeros(len(freq))
    vital: tuple[str, ...] = ()
    if total:
        reach = int(np.searchsorted(cum_percent, cutoff * 100 - 1e-9, side="left"))
        vital = tuple(n for n in names[:reach + 1] if n != other_label or other is None)
    return ParetoTable(labels=tuple(names), counts=freq.astype(np.int64), percent=percent.astype(np.float64),
                       cum_percent=cum_percent.astype(np.float64), cutoff=cutoff, vital_few=vital)
