"""Pareto (排列圖, P-6.3.2): reproduces R qcc's pareto.chart; ties by label; the vital few; bad counts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from complaint_engine import ValidationError
from complaint_engine.stats import pareto


def test_reproduces_the_qcc_pareto_chart_example() -> None:
    # qcc documentation: defect <- c(80, 27, 66, 94, 33); names(defect) <- c("price code", "schedule date",
    # "supplier code", "contact num.", "part num."); pareto.chart(defect)
    names = ["price code", "schedule date", "supplier code", "contact num.", "part num."]
    table = pareto(names, [80, 27, 66, 94, 33])
    expected = [  # Frequency, Cum.Freq., Percentage, Cum.Percent.
        ("contact num.", 94, 94, 31.33333, 31.33333),
        ("price code", 80, 174, 26.66667, 58.00000),
        ("supplier code", 66, 240, 22.00000, 80.00000),
        ("part num.", 33, 273, 11.00000, 91.00000),
        ("schedule date", 27, 300, 9.00000, 100.00000),
    ]
    for got, want in zip(table.rows(), expected, strict=True):
        assert got[:3] == want[:3]
        assert got[3] == pytest.approx(want[3], abs=1e-5)
        assert got[4] == pytest.approx(want[4], abs=1e-5)
    # cumulative share reaches exactly 80 % at the third category: it is included
    assert table.vital_few == ("contact num.", "price code", "supplier code")


def test_raw_labels_codes_with_labels_and_labels_with_counts_agree() -> None:
    raw = ["noise"] * 5 + ["repair"] * 3 + ["fees"] * 3 + ["other"]
    codes = np.array([0] * 5 + [1] * 3 + [2] * 3 + [3])
    a = pareto(raw)
    b = pareto(codes, labels=["noise", "repair", "fees", "other"])
    c = pareto(["noise", "repair", "fees", "other"], [5, 3, 3, 1])
    assert a == b == c
    assert a.labels == ("noise", "fees", "repair", "other")  # fees and repair tie: by label


def test_vital_few_includes_the_category_that_crosses_the_cutoff() -> None:
    t = pareto(["a", "b", "c"], [50, 29, 21])
    assert t.vital_few == ("a", "b", "c")  # 79 % after b: c is needed to reach 80 %
    assert pareto(["a", "b", "c"], [50, 30, 20]).vital_few == ("a", "b")


def test_an_other_bucket_pools_the_tail_and_is_last() -> None:
    t = pareto(list("abcdef"), [50, 30, 10, 5, 3, 2], other=0.95, other_label="其他")
    assert t.labels == ("a", "b", "c", "d", "其他")
    assert t.counts.tolist() == [50, 30, 10, 5, 5]
    assert "其他" not in t.vital_few


def test_zero_counts_are_dropped_and_an_empty_table_is_empty() -> None:
    assert pareto(["a", "b"], [3, 0]).labels == ("a",)
    empty = pareto([])
    assert len(empty) == 0
    assert empty.vital_few == ()


@pytest.mark.parametrize("counts", [[1, -1], [1.5, 2], [float("nan"), 1], ["x", 1]])
def test_negative_or_non_integer_counts_are_refused(counts: list[object]) -> None:
    with pytest.raises(ValidationError, match="counts"):
        pareto(["a", "b"], counts)


def test_other_bad_input() -> None:
    with pytest.raises(ValidationError, match="cutoff"):
        pareto(["a"], cutoff=0)
    with pytest.raises(ValidationError, match=r"codes in 0\.\.1"):
        pareto(np.array([0, 2]), labels=["a", "b"])
    with pytest.raises(ValidationError, match="one count per value"):
        pareto(["a", "b"], [1])
    with pytest.raises(ValidationError, match="distinct"):
        pareto(["a", "a"], [1, 2])
    with pytest.raises(ValidationError, match=r"codes -1.*codes in 0\.\.1"):
        pareto(np.array([0, -1]), labels=["a", "b"])
    with pytest.raises(ValidationError, match="integer codes when labels are given"):
        pareto(np.array([0.0, 1.0]), labels=["a", "b"])
    with pytest.raises(ValidationError, match=r"labels \(no None\)"):
        pareto(["a", None])
    with pytest.raises(ValidationError, match=r"other 1\.5.*None or a share"):
        pareto(["a"], other=1.5)


def test_integer_values_without_labels_are_their_own_labels_and_whole_float_counts_are_counts() -> None:
    assert pareto(np.array([7, 7, 3])).labels == ("7", "3")
    assert pareto(["a", "b"], np.array([2.0, 5.0])).counts.tolist() == [5, 2]


@given(st.lists(st.sampled_from(list("abcdefgh")), min_size=1, max_size=200), st.floats(0.05, 1.0))
def test_pareto_invariants(values: list[str], cutoff: float) -> None:
    t = pareto(values, cutoff=cutoff)
    assert t.total == len(values)
    assert (np.diff(t.counts) <= 0).all()
    assert (np.diff(t.cum_percent) >= 0).all()
    assert t.cum_percent[-1] == pytest.approx(100)
    k = len(t.vital_few)
    assert t.vital_few == t.labels[:k]
    assert t.cum_percent[k - 1] >= cutoff * 100 - 1e-9
    assert k == 1 or t.cum_percent[k - 2] < cutoff * 100 - 1e-9
    shuffled = pareto(sorted(values, reverse=True), cutoff=cutoff)
    assert shuffled == t  # independent of input order
