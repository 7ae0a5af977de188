"""What-if replay in bulk against recomputing the clocks one by one through the scalar rules, in one process.

Run: python benchmarks/what_if.py [--n 1000000] [--sample 100000]

A synthetic register of n complaints (three offices, the default categories and channels, 2 % major, replied
0–120 hours after receipt over 2024) whose reply clocks were recorded under the default policy, replayed under
a new one (2 working days; 24 hours for major complaints, a service level):

  replay the clocks   replay.replay_frame_clock(frame, "reply", …): each complaint's rule (by the fields service
                      levels look at), due_many per rule, escalations, the judgement — replayed and as recorded
  comparison          the same plus the comparison: changed ids, per department and person, patched frames
  what_if(frame)      all of it and both KPI tables
  floor               one rule's due_many over every receipt and the comparison with the reply: the cheapest
                      replay possible (no subject, no service level, no comparison per department)
  scalar rules        per complaint: its rule (looked up once per distinct subject, to be kind to the loop),
                      rule.due(start, calendar) and the judgement — timed on a sample, per complaint
Both are checked to agree on every complaint of the sample.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import time
from collections.abc import Callable

import attrs
import numpy as np

import complaint_engine as ce
from complaint_engine.facts import FACT_COLUMNS
from complaint_engine.levels import Condition, ServiceLevel, Subject
from complaint_engine.rules import ClockHours, WorkingDays
from complaint_engine.stats import ComplaintFrame, replay, what_if, whatif

NAT = np.datetime64("NaT", "us")


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def synthetic(n: int, policy: ce.Policy, seed: int = 20241130) -> ComplaintFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for name, kind in FACT_COLUMNS:
        columns[name] = (np.full(n, NAT) if kind == "us" else np.zeros(n, dtype=np.int64) if kind == "int"
                         else np.full(n, None, dtype=object))
    start = np.datetime64("2024-01-01T00:00", "us").astype(np.int64) - 8 * 3600 * 10**6
    received = start + rng.integers(0, 365 * 24 * 3600, n) * 10**6
    received.sort()
    categories = [c.code for c in policy.categories]
    category = np.array(categories, dtype=object)[rng.integers(0, len(categories), n)]
    repair = category == "repair"
    columns["id"] = np.array([f"c{i:07d}" for i in range(n)], dtype=object)
    columns["office"] = np.array(["A", "B", "C"], dtype=object)[rng.integers(0, 3, n)]
    columns["category"] = category
    columns["channel"] = np.array([c.value for c in ce.Channel], dtype=object)[rng.integers(0, len(ce.Channel), n)]
    columns["status"] = np.full(n, "closed", dtype=object)
    columns["severity"] = np.where(rng.random(n) < 0.02, "major", "normal").astype(object)
    columns["urgency"] = np.where(repair, np.where(rng.random(n) < 0.2, "emergency", "minor"), None).astype(object)
    columns["received_us"] = received.view("datetime64[us]")
    calendar = policy.calendar()
    due = policy.limits.reply.due_many(received.view("datetime64[us]"), calendar)
    met = received + rng.integers(0, 120 * 3600, n) * 10**6
    columns["reply_due_us"] = due
    columns["reply_met_us"] = met.view("datetime64[us]")
    columns["reply_breached"] = (met > due.astype(np.int64)).astype(np.int64)
    departments = [d.code for d in policy.departments]
    columns["reply_dept"] = np.array(departments, dtype=object)[rng.integers(0, len(departments), n)]
    columns["reply_person"] = np.array([f"staff-{k}" for k in range(40)], dtype=object)[rng.integers(0, 40, n)]
    columns["location"] = np.full(n, None, dtype=object)
    columns["unit"] = np.full(n, None, dtype=object)
    return ComplaintFrame(columns, tz="Asia/Shanghai")


def scalar(frame: ComplaintFrame, rows: np.ndarray, policy: ce.Policy, as_of: dt.datetime,
           starts: list[dt.datetime], mets: list[dt.datetime]) -> np.ndarray:
    """The reply clock of each row through the scalar rules, one complaint at a time."""
    calendar = policy.calendar()
    memo: dict[Subject, ce.Policy] = {}
    out = np.zeros(len(rows), dtype=bool)
    office, category, channel = frame["office"], frame["category"], frame["channel"]
    severity, urgency = frame["severity"], frame["urgency"]
    for k, i in enumerate(rows.tolist()):
        subject = Subject(office[i], category[i], ce.Severity(severity[i]),
                          None if urgency[i] is None else ce.Urgency(urgency[i]), ce.Channel(channel[i]))
        rule = memo.get(subject)
        if rule is None:
            rule = memo[subject] = policy.rule_for("reply", subject)[0]  # type: ignore[assignment]
        due = rule.due(starts[k], calendar)  # type: ignore[attr-defined]
        out[k] = mets[k] > due
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=100_000, help="scalar loop sample size")
    args = parser.parse_args()
    recorded = ce.Policy.default()
    new = attrs.evolve(recorded, name="2 working days",
                       limits=attrs.evolve(recorded.limits, reply=WorkingDays(2)),
                       service_levels=(ServiceLevel(name="major", when=Condition(severity="major"),
                                                    rules={"reply": ClockHours(24)}),))
    print(f"machine: {platform.machine()} python {platform.python_version()} numpy {np.__version__}; "
          f"n = {args.n:,}")
    t = time.perf_counter()
    frame = synthetic(args.n, recorded)
    print(f"synthetic frame: {time.perf_counter() - t:.1f} s")
    as_of = dt.datetime(2025, 1, 10, tzinfo=dt.UTC)
    new.calendar()  # built once, outside every timing

    result = what_if(frame, new, as_of=as_of)
    full = best_of(lambda: what_if(frame, new, as_of=as_of))
    core = best_of(lambda: whatif._what_if_frame(frame, new, as_of))
    clocks = best_of(lambda: replay.replay_frame_clock(frame, "reply", new, as_of))
    received = frame["received_us"]
    met_all = frame["reply_met_us"].view(np.int64)
    rule, calendar = new.limits.reply, new.calendar()
    floor = best_of(lambda: met_all > rule.due_many(received, calendar).view(np.int64))
    reply = result.clocks["reply"]
    print(f"recorded breaches {reply.recorded:,}, replayed {reply.replayed:,} "
          f"(+{len(reply.newly_breached):,} / -{len(reply.no_longer_breached):,})")

    rng = np.random.default_rng(7)
    rows = np.sort(rng.choice(args.n, size=min(args.sample, args.n), replace=False))
    zone = recorded.calendar().tz
    starts = [dt.datetime.fromtimestamp(int(v) / 1e6, zone) for v in frame["received_us"][rows].astype(np.int64)]
    mets = [dt.datetime.fromtimestamp(int(v) / 1e6, zone) for v in frame["reply_met_us"][rows].astype(np.int64)]
    t = time.perf_counter()
    by_scalar = scalar(frame, rows, new, as_of, starts, mets)
    per_call = (time.perf_counter() - t) / len(rows)
    replayed = np.zeros(args.n, dtype=bool)
    position = {cid: i for i, cid in enumerate(frame["id"].tolist())}
    for cid in reply.newly_breached:
        replayed[position[cid]] = True
    was = frame["reply_breached"].astype(bool)
    for cid in reply.no_longer_breached:
        was[position[cid]] = False
    replayed |= was
    disagree = int((replayed[rows] != by_scalar).sum())
    scalar_total = per_call * args.n
    print(f"what_if(frame), KPI tables included: {full:7.3f} s   {args.n / full:12,.0f} complaints/s")
    print(f"comparison (no KPI tables):           {core:7.3f} s   {args.n / core:12,.0f} complaints/s")
    print(f"replay the clocks:                    {clocks:7.3f} s   {args.n / clocks:12,.0f} complaints/s")
    print(f"floor (one due_many, one comparison): {floor:7.3f} s   {args.n / floor:12,.0f} complaints/s")
    print(f"scalar rules (per call × n):          {scalar_total:7.3f} s   {1 / per_call:12,.0f} complaints/s "
          f"({per_call * 1e6:.2f} µs a complaint, on {len(rows):,})")
    print(f"scalar / replay the clocks: {scalar_total / clocks:.1f}× (target ≥ 100×); scalar / comparison: "
          f"{scalar_total / core:.1f}×; scalar / what_if: {scalar_total / full:.1f}×; scalar / floor: "
          f"{scalar_total / floor:.1f}×; replay / floor: {clocks / floor:.2f}×; "
          f"disagreements on the sample: {disagree}")


if __name__ == "__main__":
    main()
