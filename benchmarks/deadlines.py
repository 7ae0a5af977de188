"""Bulk and scalar working-day deadlines against the peers, in one process.

Run: python benchmarks/deadlines.py [--n 1000000]

1,000,000 deadlines "k working days after the start day" (k in 1..5, starts over 2020-2026) by:
  ours bulk          WorkingCalendar.add_working_days(datetime64[D] array, k array)
  ours instants      WorkingDays(k).due_many over UTC instants (local day, gather, local midnight)
  bare gather        numpy fancy-indexing a precomputed (day, k) → result table: the floor for bulk
  python-holidays    get_nth_working_day in a Python loop (timed on a sample, per call)
  numpy busday       busday_offset with CN holidays (cannot express a working Saturday)
  pandas CDay        DatetimeIndex + CustomBusinessDay(k) (same limitation), if pandas is installed
Disagreements are counted against python-holidays over every deadline.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import holidays
import numpy as np

from complaint_engine.rules import WorkingCalendar, WorkingDays


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=100_000, help="python-holidays loop sample size")
    args = parser.parse_args()
    rng = np.random.default_rng(20241001)
    first, last = np.datetime64("2020-01-01"), np.datetime64("2026-11-30")
    span = int((last - first).astype(int))
    days = first + rng.integers(0, span + 1, args.n).astype("timedelta64[D]")
    ks = rng.integers(1, 6, args.n)
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()} "
          f"numpy {np.__version__} holidays {holidays.__version__}; n = {args.n:,}")

    cal = WorkingCalendar.for_region("CN", on_provisional="ignore")
    ref = holidays.country_holidays("CN", years=range(2019, 2028))

    # exact reference for every deadline: python-holidays on each distinct (day, k)
    uniq_days = np.arange(first, last + 1)
    table = np.empty((len(uniq_days), 5), dtype="datetime64[D]")
    for i, d in enumerate(uniq_days.tolist()):
        for k in range(1, 6):
            table[i, k - 1] = ref.get_nth_working_day(d, k)
    day_idx = (days - first).astype(np.int64)
    expected = table[day_idx, ks - 1]

    ours = cal.add_working_days(days, ks)
    t_ours = best_of(lambda: cal.add_working_days(days, ks))
    t_gather = best_of(lambda: table[(days - first).astype(np.int64), ks - 1])
    ours_errors = int((ours != expected).sum())

    instants = (days.astype("datetime64[us]") + np.timedelta64(2, "h"))  # 10:00 Shanghai, as UTC
    groups = [(k, ks == k) for k in range(1, 6)]

    def ours_instants() -> None:
        for k, mask in groups:
            WorkingDays(k).due_many(instants[mask], cal)

    t_instants = best_of(ours_instants, repeat=3)

    sample = min(args.sample, args.n)
    sd, sk = days[:sample].tolist(), ks[:sample].tolist()
    t = time.perf_counter()
    for d, k in zip(sd, sk, strict=True):
        ref.get_nth_working_day(d, k)
    per_call_holidays = (time.perf_counter() - t) / sample
    t = time.perf_counter()
    for d, k in zip(sd, sk, strict=True):
        cal.add_working_days(d, k)
    per_call_ours = (time.perf_counter() - t) / sample

    hol = np.array(sorted(d for d in ref if d.weekday() < 5), dtype="datetime64[D]")
    # "the k-th working day after the start day": roll a non-business start back, then offset k;
    # this is the best numpy can do — it has no way to say a Saturday is a working day
    busday = np.busday_offset(days, ks, roll="backward", holidays=hol)
    t_busday = best_of(lambda: np.busday_offset(days, ks, roll="backward", holidays=hol), repeat=3)
    busday_errors = int((busday != expected).sum())

    print(f"{'method':<34}{'time':>12}{'per deadline':>16}{'errors':>10}")

    def row(name: str, seconds: float, errors: int | str) -> None:
        print(f"{name:<34}{seconds * 1e3:>10.1f}ms{seconds / args.n * 1e9:>13.1f}ns{errors!s:>10}")

    row("ours bulk add_working_days", t_ours, ours_errors)
    row("ours WorkingDays.due_many", t_instants, "-")
    row("bare numpy gather (floor)", t_gather, 0)
    row("python-holidays loop (extrap.)", per_call_holidays * args.n, 0)
    row("numpy busday_offset", t_busday, busday_errors)
    try:
        import warnings

        import pandas as pd
        from pandas.tseries.offsets import CustomBusinessDay

        # pandas applies a CustomBusinessDay element by element: timed on the sample, extrapolated
        sample_groups = [(k, ks[:sample] == k) for k in range(1, 6)]
        # rolled back like numpy: a start on a holiday counts from the previous business day
        back = pd.DatetimeIndex(np.busday_offset(days[:sample], 0, roll="backward", holidays=hol))

        def pandas_run() -> np.ndarray:
            out = np.empty(sample, dtype="datetime64[ns]")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for k, mask in sample_groups:
                    out[mask] = (back[mask] + CustomBusinessDay(n=k, holidays=hol)).to_numpy()
            return out

        t0 = time.perf_counter()
        pandas_out = pandas_run()
        t_pandas = (time.perf_counter() - t0) / sample * args.n
        pandas_errors = int((pandas_out.astype("datetime64[D]") != expected[:sample]).sum())
        row("pandas CustomBusinessDay (extrap.)", t_pandas, f"{pandas_errors / sample:.1%}")
    except ImportError:
        print("pandas not installed: skipped")

    print()
    print(f"bulk vs python-holidays loop:  {per_call_holidays * args.n / t_ours:8.0f}x faster  (target >= 300x)")
    print(f"bulk vs bare numpy gather:     {t_ours / t_gather:8.2f}x the time (target <= 2x)")
    print(f"scalar add_working_days:       {per_call_ours * 1e6:.2f} us vs python-holidays "
          f"{per_call_holidays * 1e6:.2f} us: {per_call_holidays / per_call_ours:.1f}x faster (target >= 3x)")
    print(f"disagreements with python-holidays: {ours_errors} of {args.n:,} (target 0); "
          f"numpy busday_offset: {busday_errors} ({busday_errors / args.n:.1%})")


if __name__ == "__main__":
    main()
