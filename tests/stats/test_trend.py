"""Mann–Kendall with Sen's slope (agrees with pymannkendall to 1e-9) and c/u control charts."""

from __future__ import annotations

import math

import numpy as np
import pymannkendall
import pytest
from hypothesis import given
from hypothesis import strategies as st

from complaint_engine import ValidationError
from complaint_engine.stats import c_chart, mann_kendall, u_chart

series = st.lists(st.integers(0, 40), min_size=3, max_size=60) | st.lists(
    st.floats(0, 100, allow_nan=False, allow_infinity=False), min_size=3, max_size=60)


@given(series)
def test_agrees_with_pymannkendall(x: list[float]) -> None:
    ours = mann_kendall(x)
    ref = pymannkendall.original_test(np.asarray(x, dtype=float))
    assert ours.trend == ref.trend
    assert ours.h == bool(ref.h)
    for name, value in (("s", ref.s), ("var_s", ref.var_s), ("z", ref.z), ("p", ref.p), ("tau", ref.Tau),
                        ("slope", ref.slope), ("intercept", ref.intercept)):
        assert math.isclose(getattr(ours, name), float(value), rel_tol=0, abs_tol=1e-9), name


def test_an_increasing_series_is_increasing() -> None:
    r = mann_kendall([3, 4, 4, 6, 7, 9, 9, 12, 13, 15, 16, 18])
    assert r.trend == "increasing"
    assert r.slope > 0
    assert r.p < 0.05


def test_ties_reduce_the_variance() -> None:
    assert mann_kendall([1, 1, 1, 2, 2, 3]).var_s < mann_kendall([1, 2, 3, 4, 5, 6]).var_s


@pytest.mark.parametrize(("x", "fragment"), [([1, 2], "at least 3"), ([1, float("nan"), 3], "NaN"),
                                              ([[1, 2], [3, 4]], "one-dimensional")])
def test_bad_series_are_refused(x: object, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        mann_kendall(x)


def test_c_chart_limits_and_signals() -> None:
    chart = c_chart([4, 5, 3, 6, 4, 20])
    assert chart.center == pytest.approx(7.0)
    assert chart.ucl[0] == pytest.approx(7 + 3 * math.sqrt(7))
    assert chart.lcl[0] == 0.0  # 7 − 3√7 < 0: floored
    assert chart.out_of_control == (5,)


def test_u_chart_limits_vary_with_exposure() -> None:
    chart = u_chart([10, 12, 30], [400, 500, 400])
    ubar = 52 / 1300
    assert chart.center == pytest.approx(ubar)
    assert chart.ucl.tolist() == pytest.approx([ubar + 3 * math.sqrt(ubar / n) for n in (400, 500, 400)])
    assert chart.lcl.tolist() == pytest.approx([max(0, ubar - 3 * math.sqrt(ubar / n)) for n in (400, 500, 400)])
    assert chart.out_of_control == (2,)


def test_limits_on_the_scale_of_the_counts() -> None:
    """What the trend chart draws next to the monthly counts: a u chart's rate limits times each exposure
    (a count above its limit is exactly a rate above the rate limit); a c chart's limits unchanged."""
    counts, households = [10, 12, 30], [400, 500, 400]
    u = u_chart(counts, households)
    center, ucl, lcl = u.in_counts(households)
    assert center.tolist() == pytest.approx([u.center * n for n in households])
    assert ucl.tolist() == pytest.approx([limit * n for limit, n in zip(u.ucl, households, strict=True)])
    assert [i for i, c in enumerate(counts) if c > ucl[i] or c < lcl[i]] == list(u.out_of_control)
    c = c_chart([4, 5, 3, 6, 4, 20])
    assert [a.tolist() for a in c.in_counts()] == [[7.0] * 6, c.ucl.tolist(), c.lcl.tolist()]
    with pytest.raises(ValidationError, match="exposure"):
        u.in_counts([400, 500])


@pytest.mark.parametrize(("exposure", "fragment"), [([100, 0], "positive"), ([100], "one exposure per count"),
                                                    ([100, float("nan")], "NaN")])
def test_bad_exposure_is_refused(exposure: list[float], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        u_chart([1, 2], exposure)


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValidationError, match="non-negative"):
        c_chart([1, -2, 3])


def test_crosstab_counts_pairs_ignores_negative_codes_and_refuses_out_of_range() -> None:
    from complaint_engine.stats import crosstab

    rows = np.array([0, 0, 1, 2, -1, 2])
    cols = np.array([1, 1, 0, 2, 0, -1])
    assert crosstab(rows, cols, 3, 3).tolist() == [[0, 2, 0], [1, 0, 0], [0, 0, 1]]
    with pytest.raises(ValidationError, match="row codes"):
        crosstab(np.array([3]), np.array([0]), 3, 3)
    with pytest.raises(ValidationError, match="column codes"):
        crosstab(np.array([0]), np.array([3]), 3, 3)
    assert crosstab(np.array([], dtype=np.int64), np.array([], dtype=np.int64), 2, 2).tolist() == [[0, 0], [0, 0]]


@given(st.lists(st.tuples(st.integers(-1, 4), st.integers(-1, 3)), max_size=300))
def test_crosstab_equals_a_python_count(pairs: list[tuple[int, int]]) -> None:
    from complaint_engine.stats import counts as counts_module
    from complaint_engine.stats import crosstab

    rows = np.array([p[0] for p in pairs], dtype=np.int64)
    cols = np.array([p[1] for p in pairs], dtype=np.int64)
    expected = np.zeros((5, 4), dtype=np.int64)
    for r, c in pairs:
        if r >= 0 and c >= 0:
            expected[r, c] += 1
    old = counts_module.CHUNK
    counts_module.CHUNK = 7  # several chunks, so chunk boundaries are exercised
    try:
        assert crosstab(rows, cols, 5, 4).tolist() == expected.tolist()
    finally:
        counts_module.CHUNK = old
