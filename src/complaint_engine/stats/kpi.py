"""The KPIs of docs/kpis.md that complaint data allows, each with its counts so periods merge.

Every rate is a :class:`Rate` (numerator B, denominator A); ``Rate + Rate`` adds the counts, so two
half-years merge into a year without averaging percentages. Denominators are defined in
docs/analysis.md; in short: referred complaints are never in a rate's denominator; a clock counts once
it was met or is already past due at ``as_of`` (an overdue open clock counts as late); callbacks that
reached nobody count against the callback rate and are excluded from satisfaction.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs
import numpy as np
import numpy.typing as npt

from complaint_engine.facts import CLOCKS
from complaint_engine.frozen import deep_frozen, frozen_count_map, frozen_dict
from complaint_engine.instants import to_datetime64
from complaint_engine.model import CAPAReport, Satisfaction, Status
from complaint_engine.policy import Policy
from complaint_engine.stats.frame import ComplaintFrame, factorize, valid_mask
from complaint_engine.stats.recurrence import capa_recurrence, repeat_mask

__all__ = ["KPI", "Durations", "KPIReport", "Rate", "acknowledge_us", "compute_kpis", "dispatch_us", "escalate_us"]

Bool = npt.NDArray[np.bool_]
Instants = npt.NDArray[np.datetime64]
MINUTE_US = 60_000_000


@attrs.frozen
class Rate:
    """B out of A. ``rate`` is None when nothing was due (A = 0)."""

    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def __add__(self, other: Rate) -> Rate:
        return Rate(self.numerator + other.numerator, self.denominator + other.denominator)

    def __str__(self) -> str:
        return "—" if self.rate is None else f"{self.rate:.1%} ({self.numerator}/{self.denominator})"


@attrs.frozen
class KPI:
    """One figure of docs/kpis.md: its number there, its value, its target (a share) and whether it is met."""

    key: str
    number: int
    value: Rate
    target: float | None = None
    scale: int = 1  # 100 for "per 100 households"

    @property
    def met(self) -> bool | None:
        if self.target is None or self.value.rate is None:
            return None
        return self.value.rate >= self.target

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "kpi": self.number, "numerator": self.value.numerator,
                "denominator": self.value.denominator,
                "rate": None if self.value.rate is None else self.value.rate * self.scale,
                "target": self.target, "met": self.met}


@attrs.frozen
class Durations:
    """Median and 90th percentile, in hours, of a duration over n complaints (KPI 19)."""

    n: int
    median_hours: float | None
    p90_hours: float | None

    def to_dict(self) -> dict[str, object]:
        return attrs.asdict(self)


def _frozen_kpis(value: Mapping[str, KPI]) -> Mapping[str, KPI]:
    return frozen_dict(value)


@attrs.frozen
class KPIReport:
    kpis: Mapping[str, KPI] = attrs.field(converter=_frozen_kpis)
    volume: Mapping[str, Mapping[str, int]] = attrs.field(converter=deep_frozen)
    time_to_reply: Durations
    time_to_close: Durations
    breaches_by_department: Mapping[str, int] = attrs.field(converter=frozen_count_map)
    breaches_by_person: Mapping[str, int] = attrs.field(converter=frozen_count_map)

    def __getitem__(self, key: str) -> KPI:
        return self.kpis[key]

    def to_dict(self) -> dict[str, object]:
        return {"kpis": {k: v.to_dict() for k, v in self.kpis.items()},
                "volume": {k: dict(v) for k, v in self.volume.items()},
                "time_to_reply": self.time_to_reply.to_dict(), "time_to_close": self.time_to_close.to_dict(),
                "breaches_by_department": dict(self.breaches_by_department),
                "breaches_by_person": dict(self.breaches_by_person)}


def _durations(start: Instants, end: Instants, mask: Bool) -> Durations:
    ok = mask & ~np.isnat(start) & ~np.isnat(end)
    if not ok.any():
        return Durations(0, None, None)
    hours = (end[ok] - start[ok]).astype("timedelta64[us]").astype(np.int64) / 3.6e9
    return Durations(int(ok.sum()), float(np.median(hours)), float(np.percentile(hours, 90)))


def acknowledge_us(p: Policy) -> int:
    """A policy's threshold for acknowledging a complaint without an acknowledge clock (KPI 4), in µs."""
    return p.analysis.acknowledge_within_minutes * MINUTE_US


def dispatch_us(p: Policy) -> int:
    """A policy's threshold for dispatching (KPI 5), in µs."""
    return p.analysis.dispatch_within_minutes * MINUTE_US


def escalate_us(p: Policy) -> int:
    """A policy's threshold for escalating a major complaint (KPI 13), in µs."""
    return p.analysis.escalate_within_hours * 60 * MINUTE_US


def _clock_rate(f: ComplaintFrame, clock: str, rows: Bool, as_of: np.datetime64) -> Rate:
    """Met on time / (met + unmet past due at as_of), over rows that carry the clock."""
    due, met, late = f[f"{clock}_due_us"], f[f"{clock}_met_us"], f[f"{clock}_breached"] == 1
    has = rows & ~np.isnat(due)
    counted = has & (~np.isnat(met) | (due < as_of))
    on_time = counted & ~np.isnat(met) & ~late
    return Rate(int(on_time.sum()), int(counted.sum()))


def _within(start: Instants, end: Instants, limit_us: npt.NDArray[np.int64], rows: Bool,
            as_of: np.datetime64) -> Rate:
    """Done within the limit (per row: each office's policy sets its own) / (done + not done with the limit
    already passed)."""
    limit = start + limit_us.astype("timedelta64[us]")
    done = ~np.isnat(end)
    counted = rows & (done | (limit < as_of))
    on_time = counted & done & (end <= limit)
    return Rate(int(on_time.sum()), int(counted.sum()))


def most_first(found: Iterable[tuple[str | None, int]], none: str | None = None) -> dict[str, int]:
    """Counts by value (pairs), the most frequent first, ties by value; a missing value (None or '') is left out,
    or counted as ``none``."""
    out: dict[str, int] = {}
    for name, count in found:
        key = name or none
        if key and count:
            out[key] = out.get(key, 0) + count
    return dict(sorted(out.items(), key=lambda item: (-item[1], item[0])))


def _count_codes(frame: ComplaintFrame, column: str, rows: Bool, none: str | None = None) -> dict[str, int]:
    """How often each value of a text column occurs in ``rows``, counted on its codes (a missing value is left
    out, or counted as ``none``); the most frequent first, ties by value."""
    if column in frame.codes:  # a categorical column: its codes
        codes, labels = frame.codes[column][rows], frame.labels[column]
    else:  # only the rows counted are factorized
        codes, labels = factorize(frame[column][rows])
    counts = np.bincount(codes, minlength=len(labels))
    return most_first(((labels[k], int(counts[k])) for k in np.flatnonzero(counts).tolist()), none)


def breach_maps(per_clock: Iterable[tuple[Iterable[tuple[str | None, int]], Iterable[tuple[str | None, int]]]]
                ) -> tuple[dict[str, int], dict[str, int]]:
    """Breaches per department and per person over the clocks (each clock's counts by department and by person,
    in :data:`~complaint_engine.facts.CLOCKS` order): a clock without a department counts as "—", one without
    a person is left out; the most breaches first."""
    dept: Counter[str] = Counter()
    person: Counter[str] = Counter()
    for by_dept, by_person in per_clock:
        dept.update(most_first(by_dept, none="—"))
        person.update(most_first(by_person))
    return dict(dept.most_common()), dict(person.most_common())


# The KPIs in report order: (key, its number in docs/kpis.md)
KPI_NUMBERS: tuple[tuple[str, int], ...] = (
    ("valid_ratio", 2), ("per_100_households", 3), ("acknowledged_on_time", 4), ("dispatched_on_time", 5),
    ("replied_on_time", 6), ("closed_on_time", 7), ("callback_rate", 8), ("satisfaction", 9),
    ("first_contact_resolution", 10), ("repeat_rate", 11), ("reopen_rate", 12), ("escalated_on_time", 13),
    ("arrived_on_time", 14), ("emergency_same_day", 15), ("minor_repair_on_time", 15), ("started_on_time", 20),
    ("updated_on_time", 21), ("breaches_with_measure", 22), ("capa_on_time", 16), ("capa_effective", 17),
    ("recurrence_after_capa", 18))


def kpi_report(rates: Mapping[str, Rate], policy: Policy, as_of: dt.datetime, capas: Sequence[CAPAReport],
               recurrence: Mapping[str, tuple[str, ...]], *, volume: Mapping[str, Mapping[str, int]],
               durations: tuple[Durations, Durations], breaches: tuple[dict[str, int], dict[str, int]]) -> KPIReport:
    """The report of the rates counted over the complaints (by a frame or by a store), with the CAPA figures
    (``recurrence``: each implemented report with complaints in the period → the complaints that came back)."""
    actions = [a for r in capas for a in r.actions if a.done_at is not None or a.due <= as_of]
    verified = [r for r in capas if r.verification is not None]
    every = {**rates,
             "capa_on_time": Rate(sum(1 for a in actions if a.done_at is not None and a.done_at <= a.due),
                                  len(actions)),
             "capa_effective": Rate(sum(1 for r in verified if r.verification and r.verification.effective),
                                    len(verified)),
             "recurrence_after_capa": Rate(sum(1 for hits in recurrence.values() if hits), len(recurrence))}
    targets = policy.analysis.targets
    kpis = {key: KPI(key, number, every[key], targets.get(key), 100 if key == "per_100_households" else 1)
            for key, number in KPI_NUMBERS if key in every}
    return KPIReport(kpis=kpis, volume=volume, time_to_reply=durations[0], time_to_close=durations[1],
                     breaches_by_department=breaches[0], breaches_by_person=breaches[1])


class OfficePolicies:
    """Each row's policy: its office's own (``office_policies``), else the report's ``policy`` — so a store of
    several offices is judged complaint by complaint by the commitments its office made."""

    def __init__(self, frame: ComplaintFrame, policy: Policy, office_policies: Mapping[str, Policy] | None) -> None:
        self.policy = policy
        self._offices = frame["office"]
        self._own = {o: p for o, p in (office_policies or {}).items() if p is not policy}

    def values(self, setting: Callable[[Policy], int]) -> npt.NDArray[np.int64]:
        """A setting, row by row."""
        out = np.full(len(self._offices), setting(self.policy), dtype=np.int64)
        for office, own in self._own.items():
            out[self._offices == office] = setting(own)
        return out

    def rows_where(self, test: Callable[[Policy], bool]) -> Bool:
        """The rows whose policy passes ``test``."""
        out = np.full(len(self._offices), test(self.policy), dtype=bool)
        for office, own in self._own.items():
            out[self._offices == office] = test(own)
        return out

    def groups(self, setting: Callable[[Policy], int]) -> dict[int, Bool]:
        """Rows grouped by the value a setting takes for them."""
        values = self.values(setting)
        return {int(v): values == v for v in np.unique(values)}


def repeat_count(frame: ComplaintFrame, rules: OfficePolicies) -> int:
    """Valid complaints repeating an earlier one of their unit and category within their office's window."""
    repeats = np.zeros(len(frame), dtype=bool)
    for window, rows in rules.groups(lambda p: p.analysis.repeat_window_days).items():
        repeats |= repeat_mask(frame, window) & rows
    return int((repeats & valid_mask(frame["status"])).sum())


def _counts_as_satisfied(answer: Satisfaction) -> Callable[[Policy], bool]:
    return lambda p: answer in p.callbacks.satisfied


def compute_kpis(frame: ComplaintFrame, policy: Policy, as_of: dt.datetime, *, households: int | None = None,
                 capas: Sequence[CAPAReport] = (), office_policies: Mapping[str, Policy] | None = None) -> KPIReport:
    """Every KPI of the frame's complaints, judged at ``as_of`` (usually the end of the period); with
    ``office_policies``, each complaint by its own office's policy (targets are ``policy``'s)."""
    f = frame
    rules = OfficePolicies(f, policy, office_policies)
    now = to_datetime64(as_of)
    status = f["status"]
    valid = valid_mask(status)
    closed = valid & ~np.isnat(f["closed_us"]) & (f["closed_us"] <= now)
    reached = valid & (f["callback_reached"] == 1)
    rates: dict[str, Rate] = {}
    # a merged duplicate is one complaint with its master: in neither side of the ratio
    rates["valid_ratio"] = Rate(int(valid.sum()), int((status != Status.MERGED.value).sum()))
    if households is not None:
        rates["per_100_households"] = Rate(int(valid.sum()), households)
    received = f["received_us"]
    # KPI 4: by the acknowledge clock where the policy (or a service level) keeps one, else by the threshold
    clocked = ~np.isnat(f["acknowledge_due_us"])
    by_clock = _clock_rate(f, "acknowledge", valid & clocked, now)
    by_limit = _within(received, f["registered_us"],
                       rules.values(acknowledge_us), valid & ~clocked, now)
    rates["acknowledged_on_time"] = by_clock + by_limit
    rates["dispatched_on_time"] = _within(received, f["dispatched_us"],
                                          rules.values(dispatch_us),
                                          valid, now)
    rates["replied_on_time"] = _clock_rate(f, "reply", valid, now)
    overdue_open = np.zeros(len(f), dtype=bool)
    any_breach = np.zeros(len(f), dtype=bool)
    late = {clock: f[f"{clock}_breached"] == 1 for clock in CLOCKS}
    for clock in CLOCKS:
        due, met = f[f"{clock}_due_us"], f[f"{clock}_met_us"]
        overdue_open |= ~np.isnat(due) & np.isnat(met) & (due < now)
        any_breach |= late[clock]
    late_open = valid & ~closed & overdue_open
    rates["closed_on_time"] = Rate(int((closed & ~any_breach).sum()), int(closed.sum() + late_open.sum()))
    rates["callback_rate"] = Rate(int((closed & reached).sum()), int(closed.sum()))
    # every callback that reached the owner counts once, including a dissatisfied one that reopened the complaint
    answers = {s: f[f"answers_{s.value}"] for s in Satisfaction}
    satisfied = 0
    for answer in Satisfaction:
        counted = rules.rows_where(_counts_as_satisfied(answer))
        satisfied += int(answers[answer][valid & counted].sum())
    rates["satisfaction"] = Rate(satisfied, int(sum(a[valid].sum() for a in answers.values())))
    rates["first_contact_resolution"] = Rate(int((closed & (f["reopened"] == 0)).sum()), int(valid.sum()))
    rates["repeat_rate"] = Rate(repeat_count(f, rules), int(valid.sum()))
    rates["reopen_rate"] = Rate(int((closed & (f["reopened"] > 0)).sum()), int(closed.sum()))
    major = valid & (f["severity"] == "major")
    rates["escalated_on_time"] = _within(received, f["escalated_us"],
                                         rules.values(escalate_us),
                                         major, now)
    rates["arrived_on_time"] = _clock_rate(f, "arrival", valid, now)
    rates["emergency_same_day"] = _clock_rate(f, "repair", valid & (f["urgency"] == "emergency"), now)
    rates["minor_repair_on_time"] = _clock_rate(f, "repair", valid & (f["urgency"] == "minor"), now)
    for key, clock in (("started_on_time", "start"), ("updated_on_time", "update")):  # the clocks a policy may add
        if (~np.isnat(f[f"{clock}_due_us"])).any():
            rates[key] = _clock_rate(f, clock, valid, now)
    # E-accountability: of the valid complaints with a breached clock, those with a measure recorded (處分)
    rates["breaches_with_measure"] = Rate(int((valid & any_breach & (f["measures"] > 0)).sum()),
                                           int((valid & any_breach).sum()))
    recurrence: dict[str, tuple[str, ...]] = {}
    for capa in capas:  # each report by the window of its office's policy
        own = (office_policies or {}).get(capa.office, policy)
        recurrence.update(capa_recurrence(f, [capa], own.analysis.recurrence_window_days))
    breaches = breach_maps((_count_codes(f, f"{clock}_dept", late[clock]).items(),
                            _count_codes(f, f"{clock}_person", late[clock]).items()) for clock in CLOCKS)
    registered = valid & ~np.isnat(f["registered_us"])
    volume = {name: _count_codes(f, name, registered) for name in ("channel", "category", "building")}
    volume["status"] = _count_codes(f, "status", np.ones(len(f), dtype=bool))
    return kpi_report(rates, policy, as_of, capas, recurrence, volume=volume,
                      durations=(_durations(received, f["replied_us"], valid),
                                 _durations(received, f["closed_us"], closed)),
                      breaches=breaches)
