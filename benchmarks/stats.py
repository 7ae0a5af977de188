"""The analysis against numpy and pandas, in one process.

Run: python benchmarks/stats.py [--n 10000000] [--n-analyse 1000000]

  pareto     pareto() of n integer-coded complaints vs numpy bincount + argsort vs pandas value_counts
  crosstab   month x category counts of n complaints vs pandas groupby/unstack
  analyse    a full half-year analyse() over n-analyse complaints (synthetic fact columns), in seconds
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from complaint_engine.facts import FACT_COLUMNS
from complaint_engine.stats import ComplaintFrame, analyse, crosstab, pareto

CATEGORIES = ["repair", "noise", "cleaning", "security", "landscaping", "parking", "fees", "facilities",
              "staff_attitude", "municipal", "other"]


def best(fn: Callable[[], Any], repeat: int = 3) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def synthetic_columns(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Fact columns of n complaints over 2024 with a realistic category mix and clocks."""
    start = np.datetime64("2023-12-31T16:00", "us")  # 2024-01-01 00:00 Shanghai
    received = np.sort(start + rng.integers(0, 366 * 86_400, n).astype("timedelta64[s]"))
    weights = np.array([30, 18, 12, 8, 5, 7, 6, 6, 4, 2, 2], dtype=float)
    cats = rng.choice(len(CATEGORIES), n, p=weights / weights.sum())
    cols: dict[str, np.ndarray] = {}
    nat = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    for name, kind in FACT_COLUMNS:
        cols[name] = nat.copy() if kind == "us" else (np.zeros(n, dtype=np.int64) if kind == "int" else
                                                       np.full(n, None, dtype=object))
    hour = np.timedelta64(3_600_000_000, "us")
    cols["id"] = np.array([f"c{i}" for i in range(n)], dtype=object)
    cols["serial"] = cols["id"]
    cols["office"] = np.full(n, "A", dtype=object)
    cols["category"] = np.array(CATEGORIES, dtype=object)[cats]
    cols["channel"] = np.array(["phone", "visit", "online", "letter"], dtype=object)[rng.integers(0, 4, n)]
    cols["department"] = np.array(["engineering", "security", "cleaning", "customer_service"],
                                  dtype=object)[rng.integers(0, 4, n)]
    cols["unit"] = np.array([f"{b}-{u:04d}" for b, u in zip(rng.integers(1, 30, n), rng.integers(101, 3000, n),
                                                             strict=True)], dtype=object)
    cols["status"] = np.full(n, "closed", dtype=object)
    cols["severity"] = np.full(n, "normal", dtype=object)
    cols["received_us"] = received
    cols["registered_us"] = received + hour // 6
    cols["dispatched_us"] = received + hour // 2
    cols["replied_us"] = received + hour * rng.integers(1, 80, n)
    cols["closed_us"] = cols["replied_us"] + hour * 24
    cols["reply_due_us"] = received + hour * 48
    cols["reply_met_us"] = cols["replied_us"]
    cols["reply_breached"] = (cols["replied_us"] > cols["reply_due_us"]).astype(np.int64)
    cols["reply_dept"] = cols["department"]
    cols["callback_reached"] = (rng.random(n) < 0.97).astype(np.int64)
    cols["satisfaction"] = np.where(cols["callback_reached"] == 1, "satisfied", None).astype(object)
    return cols


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--n-analyse", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    n = args.n
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
          f"numpy {np.__version__}; n = {n:,}")
    codes = rng.integers(0, len(CATEGORIES), n)
    t_ours = best(lambda: pareto(codes, labels=CATEGORIES))
    t_numpy = best(lambda: np.argsort(-np.bincount(codes, minlength=len(CATEGORIES)), kind="stable"))
    print(f"pareto    ours {t_ours * 1e3:8.1f} ms   numpy bincount+sort {t_numpy * 1e3:8.1f} ms   "
          f"ours/numpy = {t_ours / t_numpy:.2f}x (target <= 1.5x)")
    months = rng.integers(0, 12, n)
    t_cross = best(lambda: crosstab(months, codes, 12, len(CATEGORIES)))
    try:
        import pandas as pd

        s = pd.Series(codes)
        t_vc = best(lambda: s.value_counts())
        print(f"          pandas value_counts {t_vc * 1e3:8.1f} ms   pandas/ours = {t_vc / t_ours:.2f}x "
              "(target: ours faster)")
        df = pd.DataFrame({"month": months, "category": codes})
        t_pd = best(lambda: df.groupby(["month", "category"]).size().unstack(fill_value=0))
        print(f"crosstab  ours {t_cross * 1e3:8.1f} ms   pandas groupby/unstack {t_pd * 1e3:8.1f} ms   "
              f"pandas/ours = {t_pd / t_cross:.1f}x (target >= 5x)")
    except ImportError:
        print(f"crosstab  ours {t_cross * 1e3:8.1f} ms   (pandas not installed)")
    cols = synthetic_columns(args.n_analyse, rng)
    t0 = time.perf_counter()
    frame = ComplaintFrame(cols)
    t1 = time.perf_counter()
    report = analyse(frame, "2024H1")
    t2 = time.perf_counter()
    print(f"analyse   {args.n_analyse:,} complaints: frame {t1 - t0:.2f} s, half-year analyse {t2 - t1:.2f} s "
          f"({report.valid:,} valid in 2024H1, {len(report.findings)} findings)")


if __name__ == "__main__":
    main()
