"""What the periodic analysis asks a store to count on its own server, and the counts it gets back.

``analyse(repository, period)`` on a store that can answer a :class:`TallyRequest` (PostgreSQL) lets the server
aggregate — the Pareto tables, the monthly counts, every KPI's numerator and denominator, the breaches per
department and person — and fetches rows only where the analysis compares complaints with each other (the recurring
and widespread findings, the repeat rate), and only the columns that needs. This module is the ground both sides
stand on: the analysis builds the request and reads the answer, the store runs it; neither imports the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy.typing as npt

from complaint_engine.frozen import FrozenDict, deep_frozen

__all__ = ["CANDIDATE_COLUMNS", "CLOCK_SUMS", "SUMS", "CapaWindow", "Limits", "Tallies", "TallyRequest"]

# The clocks whose met-on-time rate is a KPI (see stats/kpi.py): (the name of its pair of sums, the clock, the
# valid complaints it is judged over: all of them or those of an urgency)
CLOCK_SUMS: tuple[tuple[str, str, str], ...] = (
    ("acknowledge", "acknowledge", "valid"), ("reply", "reply", "valid"), ("arrival", "arrival", "valid"),
    ("emergency", "repair", "emergency"), ("minor", "repair", "minor"), ("start", "start", "valid"),
    ("update", "update", "valid"))
# The sums a store returns per office (each an integer over the period's complaints of that office).
SUMS: tuple[str, ...] = (
    "received", "valid", "referred", "merged",
    *(f"{name}_{part}" for name, _, _ in CLOCK_SUMS for part in ("on_time", "counted")),
    "start_due", "update_due",  # complaints of any status carrying the clock (a policy may add it)
    *(f"{name}_{part}" for name in ("acknowledge_limit", "dispatch", "escalate") for part in ("on_time", "counted")),
    "closed", "closed_clean", "late_open", "callback_reached", "first_contact", "reopened_closed",
    "breached", "breached_measured",
    "answers_satisfied", "answers_basically_satisfied", "answers_dissatisfied")
# The columns of the rows fetched for the findings and the repeat rate (which compare complaints with each other).
CANDIDATE_COLUMNS = ("id", "serial", "office", "status", "unit", "location", "category", "received_us")


@attrs.frozen
class Limits:
    """The settings of one policy that the counts depend on, in microseconds."""

    acknowledge_us: int
    dispatch_us: int
    escalate_us: int


@attrs.frozen
class CapaWindow:
    """A CAPA report's recurrence question: complaints of the places and categories of its complaints
    (``serials``) received after ``after_us`` and up to ``until_us``."""

    number: str
    serials: tuple[str, ...]
    after_us: int
    until_us: int


@attrs.frozen
class TallyRequest:
    """The complaints received in ``[start_us, end_us)`` (of ``office``), judged at ``as_of_us``. The months are
    ``[month_starts_us[i], month_starts_us[i + 1])``; ``limits`` are the report policy's, ``office_limits`` those
    of offices with a policy of their own."""

    start_us: int
    end_us: int
    office: str | None
    as_of_us: int
    month_starts_us: tuple[int, ...]
    limits: Limits
    office_limits: Mapping[str, Limits] = attrs.field(factory=FrozenDict, converter=deep_frozen)
    capas: tuple[CapaWindow, ...] = ()


@attrs.frozen(eq=False)
class Tallies:
    """A store's answer. Texts are as stored; a missing one is ``None``.

    * ``sums``: office → :data:`SUMS` name → count;
    * ``categories`` / ``departments``: valid complaints per category / notice department (those with one);
    * ``monthly``: (month position in the request, category) → valid complaints;
    * ``breaches``: (clock, department, person, complaints whose clock was breached);
    * ``volume``: "channel" / "category" / "building" → value → valid registered complaints; "status" → value →
      complaints;
    * ``durations``: "reply" / "close" → (n, median hours, 90th percentile hours);
    * ``capa_hits``: CAPA number → the serials (or ids) of the complaints that came back, for each report with
      complaints in the period;
    * ``candidates``: :data:`CANDIDATE_COLUMNS` of the valid complaints, in the order of a frame (received, then
      id): what the findings and the repeat rate read.
    """

    sums: Mapping[str, Mapping[str, int]]
    categories: Mapping[str | None, int]
    departments: Mapping[str | None, int]
    monthly: Mapping[tuple[int, str | None], int]
    breaches: tuple[tuple[str, str | None, str | None, int], ...]
    volume: Mapping[str, Mapping[str | None, int]]
    durations: Mapping[str, tuple[int, float | None, float | None]]
    capa_hits: Mapping[str, tuple[str, ...]]
    candidates: Mapping[str, npt.NDArray[Any]]

    def total(self, name: str) -> int:
        """A sum over every office."""
        return sum(office[name] for office in self.sums.values())
