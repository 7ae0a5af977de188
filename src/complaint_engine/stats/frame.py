"""ComplaintFrame: the numpy columns of a set of complaints, for the periodic analysis.

Built from Complaint objects, from a repository's columnar read (``repo.frame()``), or from fact
columns. Categorical columns are integer codes with label tables; instants are ``datetime64[us]`` UTC
(NaT when absent); local calendar keys (month, quarter, half-year, year) use the frame's zone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from complaint_engine.errors import ValidationError
from complaint_engine.facts import columns, default_location, facts_of
from complaint_engine.instants import to_datetime64
from complaint_engine.messages import Message
from complaint_engine.model import Complaint, Status
from complaint_engine.period import Period
from complaint_engine.stats.pareto import ParetoTable, pareto

if TYPE_CHECKING:
    from complaint_engine.policy import Policy

__all__ = ["CATEGORICAL", "ComplaintFrame", "building_of", "categorical", "factorize", "valid_mask"]

CATEGORICAL = ("office", "category", "channel", "department", "unit", "building", "status", "severity", "urgency",
               "satisfaction", "location")
FREQS = ("month", "quarter", "half", "year")
Array = npt.NDArray[Any]


def building_of(unit: str | None) -> str:
    """The building of a unit code: the part before the first '-' ("3-1201" → "3"); the unit itself otherwise."""
    if not unit:
        return ""
    return unit.split("-", 1)[0] if "-" in unit else unit


def categorical(columns: Mapping[str, Array], names: Sequence[str] = CATEGORICAL
                ) -> tuple[dict[str, npt.NDArray[np.int64]], dict[str, tuple[str, ...]]]:
    """Codes and sorted labels of the categorical ``names`` among the columns ("building" and "location" need
    "unit", which comes first)."""
    codes: dict[str, npt.NDArray[np.int64]] = {}
    labels: dict[str, tuple[str, ...]] = {}
    for name in names:
        if name == "building":  # each distinct unit's building, not each row's
            codes[name], labels[name] = buildings(codes["unit"], labels["unit"])
        elif name == "location":  # stored before locations were: the unit's building, where it names one
            codes[name], labels[name] = factorize(located(columns["location"], codes["unit"], labels["unit"]))
        else:
            codes[name], labels[name] = factorize(columns[name])
    return codes, labels


def buildings(unit_codes: npt.NDArray[np.int64], units: Sequence[str]) -> tuple[npt.NDArray[np.int64],
                                                                               tuple[str, ...]]:
    """The building codes and labels of units given as codes and labels."""
    codes, labels = factorize(np.array([building_of(u) for u in units], dtype=object))
    return codes[unit_codes], labels


def located(locations: Array, unit_codes: npt.NDArray[np.int64], units: Sequence[str]) -> Array:
    """Each complaint's location: its own, else its unit's building where the unit names one (units as codes and
    labels: the default is worked out once per unit)."""
    missing = np.flatnonzero([v is None for v in locations.tolist()])
    if not len(missing):
        return locations
    out = locations.copy()
    out[missing] = np.array([default_location(u) for u in units], dtype=object)[unit_codes[missing]]
    return out


def factorize(values: Array) -> tuple[npt.NDArray[np.int64], tuple[str, ...]]:
    """Codes and sorted labels (by code point, as numpy sorts text); None becomes the label ''."""
    if values.dtype != object:
        labels, codes = np.unique(values.astype(str), return_inverse=True)
        return codes.astype(np.int64), tuple(str(x) for x in labels)
    # a text column repeats few values: each distinct one is converted and placed once, then looked up per row
    items = values.tolist()
    text = {v: "" if v is None else str(v) for v in set(items)}
    ordered = sorted(set(text.values()))
    position = {label: i for i, label in enumerate(ordered)}
    code = {v: position[t] for v, t in text.items()}
    return np.fromiter(map(code.__getitem__, items), dtype=np.int64, count=len(items)), tuple(ordered)


class ComplaintFrame:
    """Columns of complaints. ``codes[name]``/``labels[name]`` for categories; other columns by name."""

    def __init__(self, columns: Mapping[str, Array], *, tz: str = "Asia/Shanghai",
                 codes: Mapping[str, npt.NDArray[np.int64]] | None = None,
                 labels: Mapping[str, tuple[str, ...]] | None = None) -> None:
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValidationError.of("column lengths", sorted(lengths), "columns of one length")
        self.tz = tz
        self.zone = ZoneInfo(tz)
        self.columns = dict(columns)
        if codes is None or labels is None:
            codes, labels = categorical(self.columns)
        self.codes = dict(codes)
        self.labels = dict(labels)

    # ------------------------------------------------------------------------------------------ building
    @classmethod
    def from_complaints(cls, complaints: Iterable[Complaint], *, tz: str = "Asia/Shanghai") -> ComplaintFrame:
        ordered = sorted(complaints, key=lambda c: (c.received_at, c.id))
        return cls(columns(facts_of(c) for c in ordered), tz=tz)

    @classmethod
    def from_repository(cls, repository: Any, *, period: str | Period | None = None, office: str | None = None,
                        tz: str = "Asia/Shanghai") -> ComplaintFrame:
        """Straight from a store's columnar read (no Complaint objects are built)."""
        return cls(repository.frame(period=period, office=office, tz=tz), tz=tz)

    @classmethod
    def for_analysis(cls, repository: Any, period: str | Period, *, office: str | None = None,
                     tz: str = "Asia/Shanghai") -> ComplaintFrame:
        """What :func:`~complaint_engine.stats.analyse` of ``period`` reads: the complaints received in the period
        and in the one before it (for the comparison), read in one snapshot of the store — not the whole
        register. The report is the same as from a frame of the whole register. ``repository`` may also be a
        snapshot or a unit of work already open, which is read as it is."""
        p = Period.parse(period)
        snapshot = getattr(repository, "snapshot", None)  # a repository; a view or a unit has none
        with snapshot() if snapshot is not None else contextlib.nullcontext(repository) as view:
            parts = [view.frame(period=q, office=office, tz=tz) for q in (p.previous(), p)]
        return cls({name: np.concatenate([part[name] for part in parts]) for name in parts[0]}, tz=tz)

    def factorized(self, name: str) -> tuple[npt.NDArray[np.int64], tuple[str, ...]]:
        """Codes and sorted labels of any text column (the categorical ones are kept; others are factorized on
        first use and remembered: a frame's columns do not change)."""
        if name in self.codes:
            return self.codes[name], self.labels[name]
        cache: dict[str, tuple[npt.NDArray[np.int64], tuple[str, ...]]] = self.__dict__.setdefault("_factorized", {})
        if name not in cache:
            if name not in self.columns:
                raise ValidationError.of("column", name, Message("one of {0}", sorted(self.columns)))
            cache[name] = factorize(self.columns[name])
        return cache[name]

    def __len__(self) -> int:
        return len(self.columns["id"])

    def __getitem__(self, name: str) -> Array:
        return self.columns[name]

    def take(self, mask: npt.NDArray[np.bool_] | npt.NDArray[np.int64]) -> ComplaintFrame:
        """The rows selected by a boolean mask or an index array (label tables are kept)."""
        return ComplaintFrame({k: v[mask] for k, v in self.columns.items()}, tz=self.tz,
                              codes={k: v[mask] for k, v in self.codes.items()}, labels=self.labels)

    def valid(self) -> ComplaintFrame:
        """The valid complaints: every row except referrals (which the KPIs and Pareto tables leave out)."""
        return self.take(valid_mask(self.columns["status"]))

    def select(self, *, period: str | Period | None = None, office: str | None = None,
               category: str | None = None, before: dt.datetime | None = None) -> ComplaintFrame:
        """Rows received in ``period`` (local time), of ``office`` and ``category``, received before ``before``."""
        mask = np.ones(len(self), dtype=bool)
        received = self.columns["received_us"]
        if period is not None:
            start, end = Period.parse(period).bounds(self.zone)
            mask &= (received >= _us64(start)) & (received < _us64(end))
        if before is not None:
            mask &= received < _us64(before)
        for name, value in (("office", office), ("category", category)):
            if value is not None:
                if value not in self.labels[name]:
                    mask &= False
                else:
                    mask &= self.codes[name] == self.labels[name].index(value)
        return self.take(mask)

    # ------------------------------------------------------------------------------------------ local time
    def local_month_index(self, name: str = "received_us") -> npt.NDArray[np.int64]:
        """year × 12 + (month − 1) of each instant in the frame's zone (−1 for NaT)."""
        t = self.columns[name]
        out = np.full(len(t), -1, dtype=np.int64)
        ok = ~np.isnat(t)
        if not ok.any():
            return out
        utc = t[ok]
        hours = utc.astype("datetime64[h]")
        uniq, inverse = np.unique(hours, return_inverse=True)
        # the zone's offset per distinct UTC hour: exact across daylight-saving changes, cheap in bulk
        offsets = np.array([int(dt.datetime.fromtimestamp(int(h.astype("datetime64[s]").astype(np.int64)),
                                                          self.zone).utcoffset().total_seconds())  # type: ignore[union-attr]
                            for h in uniq], dtype=np.int64)
        local = utc + offsets[inverse].astype("timedelta64[s]")
        months = local.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
        out[ok] = months + 1970 * 12
        return out

    def period_index(self, freq: str, name: str = "received_us") -> npt.NDArray[np.int64]:
        """Period number per row: months, quarters, half-years or years since year 0 (−1 for NaT)."""
        if freq not in FREQS:
            raise ValidationError.of("freq", freq, Message("one of {0}", list(FREQS)))
        m = self.local_month_index(name)
        div = {"month": 1, "quarter": 3, "half": 6, "year": 12}[freq]
        return np.where(m < 0, -1, m // div)

    # ------------------------------------------------------------------------------------------ analysis
    def pareto(self, by: str = "category", *, cutoff: float = 0.8, other: float | None = None) -> ParetoTable:
        if by not in self.codes:
            raise ValidationError.of("by", by, Message("one of {0}", list(self.codes)))
        codes, labels = self.codes[by], self.labels[by]
        return pareto(codes, labels=[lab or "—" for lab in labels], cutoff=cutoff, other=other)

    # ------------------------------------------------------------------------------------------ other tools
    def to_pandas(self, *, lang: str | None = None, policy: Policy | None = None) -> Any:
        """A pandas DataFrame (extra ``[pandas]``): instants tz-aware in the frame's zone (``received_at``, …),
        categorical columns as ``Categorical`` labelled in ``lang`` (codes when None). See docs/analysis.md."""
        from complaint_engine.stats.interop import to_pandas

        return to_pandas(self, lang=lang, policy=policy)

    def to_arrow(self, *, lang: str | None = None, policy: Policy | None = None) -> Any:
        """A ``pyarrow.Table`` (extra ``[arrow]``): dictionary-encoded categories, ``timestamp[us]`` instants."""
        from complaint_engine.stats.interop import to_arrow

        return to_arrow(self, lang=lang, policy=policy)

    def to_parquet(self, path: str | Path, *, partition_by: Sequence[str] = ("office", "year")) -> Path:
        """Write a Parquet dataset partitioned by office and local year (extra ``[arrow]``)."""
        from complaint_engine.stats.interop import to_parquet

        return to_parquet(self, path, partition_by=partition_by)

    @classmethod
    def from_parquet(cls, path: str | Path, *, office: str | Iterable[str] | None = None,
                     years: int | Iterable[int] | None = None, tz: str | None = None) -> ComplaintFrame:
        """A frame read back from :meth:`to_parquet`'s dataset, only the partitions of ``office``/``years``."""
        from complaint_engine.stats.interop import from_parquet

        return from_parquet(path, office=office, years=years, tz=tz)

    # ------------------------------------------------------------------------------------------ display
    def _repr_markdown_(self) -> str:
        from complaint_engine.display import frame_markdown

        return frame_markdown(self)

    def _repr_html_(self) -> str:
        from complaint_engine.display import frame_html

        return frame_html(self)


def valid_mask(status: Array) -> npt.NDArray[np.bool_]:
    """Rows of valid complaints: every status but ``referred`` (E-classify: only valid complaints go on) and
    ``merged`` (a duplicate counts once, as the complaint it was merged into). The one place this rule is
    spelled for the analysis."""
    return np.asarray((status != Status.REFERRED.value) & (status != Status.MERGED.value), dtype=bool)


def _us64(instant: dt.datetime) -> np.datetime64:
    return to_datetime64(instant)
