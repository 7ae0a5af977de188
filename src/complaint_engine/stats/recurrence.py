"""Recurring and widespread complaints (P-6.3.3, E-announce) and the CAPA effectiveness check (P-5.2).

* **repeat**: the same unit and category again within the policy's window — suggests a CAPA;
* **problem**: the same location (a building, a facility such as "5座電梯") and category coming back in at least
  ``recurrence_min`` different months, whoever reports it, each return within ``recurrence_window_days`` of the
  one before — a recurring problem (P-6.3.3), suggests a CAPA;
* **widespread**: the same category in one building from at least ``widespread_units`` different units
  within any ``widespread_window_days`` — suggests a public announcement;
* **recurrence after a CAPA**: complaints of the CAPA's categories and places received within the
  recurrence window after it was implemented — the action did not work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import attrs
import numpy as np
import numpy.typing as npt

from complaint_engine.instants import to_datetime64
from complaint_engine.labels import label
from complaint_engine.model import CAPAReport
from complaint_engine.stats.frame import ComplaintFrame, valid_mask

__all__ = ["Finding", "capa_recurrence", "find_recurring", "find_recurring_problems", "find_widespread",
           "repeat_mask"]

DAY_US = 86_400_000_000


@attrs.frozen
class Finding:
    """A recurring (→ CAPA) or widespread (→ announcement) problem, with the complaints behind it."""

    kind: str  # "repeat", "problem" or "widespread"
    category: str
    place: str  # the unit (repeat), the location (problem) or the building (widespread)
    complaint_ids: tuple[str, ...]
    serials: tuple[str, ...]
    first: np.datetime64
    last: np.datetime64

    @property
    def suggestion(self) -> str:
        """What the source asks for (a code: ``announce`` for a widespread problem, ``capa`` otherwise)."""
        return "announce" if self.kind == "widespread" else "capa"

    def describe(self, lang: str = "en", category: str | None = None) -> str:
        """One sentence in ``lang``; ``category`` is the category's label (its code when not given)."""
        return label(f"finding.what.{self.kind}", lang).format(
            n=len(self.complaint_ids), category=category or self.category, place=self.place,
            first=str(self.first)[:10], last=str(self.last)[:10])

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "category": self.category, "place": self.place, "serials": list(self.serials),
                "complaint_ids": list(self.complaint_ids), "first": str(self.first), "last": str(self.last),
                "suggestion": self.suggestion}


def _valid(frame: ComplaintFrame) -> npt.NDArray[np.bool_]:
    return valid_mask(frame["status"])


def repeat_mask(frame: ComplaintFrame, window_days: int) -> npt.NDArray[np.bool_]:
    """Rows that repeat an earlier valid complaint of the same unit and category within the window."""
    valid = _valid(frame)
    unit, cat = frame.codes["unit"], frame.codes["category"]
    t = frame["received_us"].astype(np.int64)
    order = np.lexsort((t, cat, unit))
    order = order[valid[order]]
    same = (unit[order][1:] == unit[order][:-1]) & (cat[order][1:] == cat[order][:-1])
    close = (t[order][1:] - t[order][:-1]) <= window_days * DAY_US
    out = np.zeros(len(frame), dtype=bool)
    out[order[1:][same & close]] = True
    return out


def _groups(frame: ComplaintFrame, key: npt.NDArray[np.int64], valid: npt.NDArray[np.bool_],
            window_days: int) -> Iterable[npt.NDArray[np.int64]]:
    """Runs of rows with the same key whose consecutive gaps are within the window, each in time order (views
    of one sorted index: no array is made for a run of one)."""
    t = frame["received_us"].astype(np.int64)
    order = np.lexsort((t, key))
    order = order[valid[order]]
    if len(order) < 2:
        return
    breaks = (key[order][1:] != key[order][:-1]) | ((t[order][1:] - t[order][:-1]) > window_days * DAY_US)
    cuts = np.flatnonzero(breaks) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [len(order)]))
    long = (ends - starts) >= 2
    for start, end in zip(starts[long].tolist(), ends[long].tolist(), strict=True):
        yield order[start:end]


class _Rows:
    """Builds findings from runs of rows: a run's ids and serials are gathered in one step each (``take`` and
    ``tolist``), not element by element."""

    def __init__(self, frame: ComplaintFrame) -> None:
        self.frame = frame
        self.category = frame.codes["category"]
        self.ids, self.serials, self.received = frame["id"], frame["serial"], frame["received_us"]

    def finding(self, kind: str, rows: npt.NDArray[np.int64], place: str) -> Finding:
        """``rows`` in time order (as :func:`_groups` gives them)."""
        serials = self.serials[rows].tolist()
        return Finding(kind=kind, category=self.frame.labels["category"][self.category[rows[0]]], place=place,
                       complaint_ids=tuple(map(str, self.ids[rows].tolist())),
                       serials=tuple(str(x) for x in serials if x),
                       first=self.received[rows[0]], last=self.received[rows[-1]])


def find_recurring(frame: ComplaintFrame, window_days: int) -> list[Finding]:
    """Units that complained of the same category at least twice within the window (→ CAPA)."""
    n_cat = len(frame.labels["category"])
    key = frame.codes["unit"] * n_cat + frame.codes["category"]
    rows, units, unit_labels = _Rows(frame), frame.codes["unit"], frame.labels["unit"]
    return [rows.finding("repeat", run, unit_labels[units[run[0]]])
            for run in _groups(frame, key, _valid(frame), window_days)]


def find_recurring_problems(frame: ComplaintFrame, window_days: int, min_periods: int) -> list[Finding]:
    """Locations whose problem of one category came back in at least ``min_periods`` different months (in the
    frame's zone), whoever reported it, each complaint within ``window_days`` of the one before (→ CAPA). A lift
    reported stuck every month by a different unit is one finding naming every serial."""
    n_cat = len(frame.labels["category"])
    location = frame.codes["location"]
    named = np.array([bool(label) for label in frame.labels["location"]], dtype=bool)[location]
    key = location * n_cat + frame.codes["category"]
    months = frame.local_month_index()
    rows = _Rows(frame)
    out = []
    for run in _groups(frame, key, _valid(frame) & named, window_days):
        if len(np.unique(months[run])) >= min_periods:
            out.append(rows.finding("problem", run, frame.labels["location"][location[run[0]]]))
    return out


def find_widespread(frame: ComplaintFrame, window_days: int, min_units: int) -> list[Finding]:
    """A category reported from at least ``min_units`` different units of one building within any window of
    ``window_days`` (→ announce). Overlapping windows merge into one finding."""
    valid = _valid(frame)
    n_cat = len(frame.labels["category"])
    key = frame.codes["building"] * n_cat + frame.codes["category"]
    unit = frame.codes["unit"]
    t = frame["received_us"].astype(np.int64)
    order = np.lexsort((t, key))
    order = order[valid[order]]
    width = window_days * DAY_US
    found = _Rows(frame)
    out = []
    cuts = np.flatnonzero(key[order][1:] != key[order][:-1]) + 1
    starts, ends = np.concatenate(([0], cuts)), np.concatenate((cuts, [len(order)]))
    big = (ends - starts) >= min_units  # fewer rows than units wanted: no finding possible
    for group in (order[a:b] for a, b in zip(starts[big].tolist(), ends[big].tolist(), strict=True)):
        if len(np.unique(unit[group])) < min_units:
            continue
        spans: list[list[int]] = []
        # a sliding window over the group's receipts, counting each unit in it: one pass, not a set per row
        units, times = unit[group].tolist(), t[group].tolist()
        in_window: dict[int, int] = {}
        start = 0
        for end, u in enumerate(units):
            in_window[u] = in_window.get(u, 0) + 1
            while times[end] - times[start] > width:
                gone = units[start]
                in_window[gone] -= 1
                if not in_window[gone]:
                    del in_window[gone]
                start += 1
            if len(in_window) >= min_units:
                if spans and start <= spans[-1][1]:
                    spans[-1][1] = end
                else:
                    spans.append([start, end])
        for first, last in spans:
            rows = group[first:last + 1]
            out.append(found.finding("widespread", rows,
                                     frame.labels["building"][frame.codes["building"][rows[0]]]))
    return out


def capa_recurrence(frame: ComplaintFrame, capas: Sequence[CAPAReport], window_days: int,
                    as_of: dt.datetime | None = None) -> dict[str, tuple[str, ...]]:
    """For each implemented CAPA, the complaints of its categories and units received within the window after
    implementation (an empty tuple: no recurrence). Serials map CAPA reports to their complaints."""
    by_serial = {str(s): i for i, s in enumerate(frame["serial"]) if s}
    out: dict[str, tuple[str, ...]] = {}
    received = frame["received_us"]
    for capa in capas:
        if capa.implemented_at is None:
            continue
        rows = [by_serial[s] for s in capa.complaint_serials if s in by_serial]
        if not rows:
            continue
        places = {(frame.codes["unit"][r], frame.codes["category"][r]) for r in rows}
        start = to_datetime64(capa.implemented_at)
        end = start + np.timedelta64(window_days * DAY_US, "us")
        window = (received > start) & (received <= end) & _valid(frame)
        hits = [i for i in np.flatnonzero(window) if (frame.codes["unit"][i], frame.codes["category"][i]) in places]
        out[capa.number] = tuple(str(frame["serial"][i] or frame["id"][i]) for i in hits)
    return out
