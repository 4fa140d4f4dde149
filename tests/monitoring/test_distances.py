"""The Jensen-Shannon divergence and the L-infinity distance, against values worked out by
hand on small histograms (and TFDV's own test cases, metrics_test.cc)."""

import math

import numpy as np
import pytest

from conveyor.monitoring.distances import (
    JENSEN_SHANNON,
    DistanceError,
    aligned,
    distance,
    jensen_shannon,
    jensen_shannon_of_counts,
    l_infinity,
    l_infinity_of_counts,
)
from conveyor.monitoring.statistics import CategoricalStatistics, Histogram, NumericStatistics


def js_by_hand(p, q):
    """JS with log base 2 of two lists of shares on the same buckets, term by term."""
    total = 0.0
    for a, b in zip(p, q):
        m = (a + b) / 2
        if a:
            total += a * math.log2(a / m) / 2
        if b:
            total += b * math.log2(b / m) / 2
    return total


def test_identical_histograms_are_at_zero():
    h = Histogram((0, 1, 2, 3), (5, 0, 7), nan=2, pos_inf=1, neg_inf=3)
    assert jensen_shannon(h, h) == 0


def test_disjoint_histograms_are_at_one():
    assert jensen_shannon(Histogram((0, 1), (5,)), Histogram((2, 3), (7,))) == 1
    # adjacent but not overlapping: still disjoint
    assert jensen_shannon(Histogram((0, 1), (5,)), Histogram((1, 2), (7,))) == 1
    assert jensen_shannon(Histogram((), (), nan=3), Histogram((0, 1), (2,))) == 1


def test_same_edges():
    # p = [1/4, 3/4], q = [1/2, 1/2]
    expected = js_by_hand([0.25, 0.75], [0.5, 0.5])
    assert expected == pytest.approx(0.0487949, abs=1e-6)
    got = jensen_shannon(Histogram((0, 1, 2), (1, 3)), Histogram((0, 1, 2), (2, 2)))
    assert got == pytest.approx(expected, abs=1e-12)


def test_different_edges_spread_each_bucket_evenly():
    # [0, 2) holding 4 is spread as 2 in [0, 1) and 2 in [1, 2)
    got = jensen_shannon(Histogram((0, 1, 2), (1, 3)), Histogram((0, 2), (4,)))
    assert got == pytest.approx(js_by_hand([0.25, 0.75], [0.5, 0.5]), abs=1e-12)
    # overlapping ranges: union edges 0, 1, 2, 3; p = [.5, .5, 0], q = [0, .5, .5]
    got = jensen_shannon(Histogram((0, 2), (4,)), Histogram((1, 3), (4,)))
    assert got == pytest.approx(0.5, abs=1e-12)
    # a bucket split in thirds: [0, 3) holding 3 against [0, 1), [1, 3)
    got = jensen_shannon(Histogram((0, 3), (3,)), Histogram((0, 1, 3), (3, 1)))
    assert got == pytest.approx(js_by_hand([1 / 3, 2 / 3], [0.75, 0.25]), abs=1e-12)


def test_nan_and_infinities_have_buckets_of_their_own():
    # TFDV's WithNaNs: p = [NaN 1/4, 3/4], q = [0, 1]
    with_nan = Histogram((1, 2), (3,), nan=1)
    plain = Histogram((1, 2), (4,))
    assert jensen_shannon(with_nan, plain) == pytest.approx(0.13792538096, abs=1e-9)
    assert jensen_shannon(with_nan, plain, tfdv_nonfinite=True) == pytest.approx(
        0.13792538096, abs=1e-9
    )
    # +inf against -inf: p = [1/2, 1/2 (+inf), 0], q = [1/2, 0, 1/2 (-inf)]
    a = Histogram((0, 1), (2,), pos_inf=2)
    b = Histogram((0, 1), (2,), neg_inf=2)
    assert jensen_shannon(a, b) == pytest.approx(js_by_hand([0.5, 0.5, 0], [0.5, 0, 0.5]))
    assert jensen_shannon(a, b) == pytest.approx(0.5)
    # the same non-finite values on both sides match...
    both = Histogram((0, 1), (2,), nan=1, pos_inf=1, neg_inf=1)
    assert jensen_shannon(both, both) == 0
    # ...except under TFDV's rule, where NaN is never equal to NaN (NaNNotEqualToSelf)
    only_nan = Histogram((), (), nan=1)
    assert jensen_shannon(only_nan, only_nan) == 0
    assert jensen_shannon(only_nan, only_nan, tfdv_nonfinite=True) == pytest.approx(1.0)
    # TFDV: p = [1/5 finite, 2/5 NaN, 2/5 inf], q the same but unshared
    got = jensen_shannon(both, both, tfdv_nonfinite=True)
    assert got == pytest.approx(js_by_hand([0.4, 0.2, 0, 0.4, 0], [0.4, 0, 0.2, 0, 0.4]))


def test_point_masses_match_by_value():
    # a constant baseline [5, 5] against a target that spreads around it
    baseline = Histogram((5, 5), (10,))
    target = Histogram((4, 5, 5, 6), (2, 6, 2))
    # buckets: [4, 5), (5, 6], the point 5: p = [0, 0, 1], q = [.2, .2, .6]
    assert jensen_shannon(baseline, target) == pytest.approx(
        js_by_hand([0, 0, 1], [0.2, 0.2, 0.6]), abs=1e-12
    )


def test_numeric_statistics_compare_on_their_laid_out_histogram():
    baseline = NumericStatistics(count=4, min=0, max=2, edges=(0, 1, 2), counts=(2, 2))
    # a target binned on the baseline's edges, with 2 values in [-2, 0) and 2 in (2, 4]
    target = NumericStatistics(
        count=8, min=-2, max=4, edges=(0, 1, 2), counts=(2, 2), below=2, above=2
    )
    assert target.histogram == Histogram((-2, 0, 1, 2, 4), (2, 2, 2, 2))
    assert distance(baseline, target) == pytest.approx(
        js_by_hand([0, 0.5, 0.5, 0], [0.25, 0.25, 0.25, 0.25])
    )


def test_l_infinity():
    assert l_infinity({"a": 2, "b": 2}, {"a": 3, "b": 1}) == pytest.approx(0.25)
    assert l_infinity({"a": 2}, {"b": 5}) == pytest.approx(1.0)
    assert l_infinity({"a": 2, "b": 6}, {"b": 3, "a": 1}) == 0
    # the values beyond the cap are one bucket: p = [x .5, y 0, other .5], q = [.5, .5, 0]
    capped = CategoricalStatistics(count=10, values={"x": 5}, other=5)
    full = CategoricalStatistics(count=10, values={"x": 5, "y": 5})
    assert l_infinity(capped, full) == pytest.approx(0.5)
    assert distance(capped, full) == pytest.approx(0.5)  # L-infinity by default


def test_jensen_shannon_of_categories():
    # TFDV's RankHistogram case
    a = {"b": 2, "a": 2, "c": 1}
    b = {"a": 2, "Z": 1, "Y": 1, "X": 1}
    assert jensen_shannon(a, b) == pytest.approx(0.6, abs=1e-5)
    assert distance(
        CategoricalStatistics(5, 0, a), CategoricalStatistics(5, 0, b), JENSEN_SHANNON
    ) == (pytest.approx(0.6, abs=1e-5))


def test_refusals():
    numeric = Histogram((0, 1), (1,))
    with pytest.raises(DistanceError, match="compares categories"):
        l_infinity(numeric, numeric)
    with pytest.raises(DistanceError, match="numeric distribution with a categorical"):
        jensen_shannon(numeric, {"a": 1})
    with pytest.raises(DistanceError, match="no values"):
        jensen_shannon(numeric, Histogram((), ()))
    with pytest.raises(DistanceError, match="unknown measure"):
        distance(
            CategoricalStatistics(1, 0, {"a": 1}), CategoricalStatistics(1, 0, {"a": 1}), "psi"
        )


def test_measures_of_many_pairs_at_once_equal_one_at_a_time():
    rng = np.random.default_rng(3)
    p, q = rng.integers(0, 20, (50, 7)), rng.integers(0, 20, (50, 7))
    p[:, 0] += 1
    q[:, 0] += 1
    js = jensen_shannon_of_counts(p, q)
    linf = l_infinity_of_counts(p, q)
    for i in range(50):
        shares_p, shares_q = p[i] / p[i].sum(), q[i] / q[i].sum()
        assert js[i] == pytest.approx(js_by_hand(shares_p, shares_q), abs=1e-12)
        assert linf[i] == pytest.approx(np.abs(shares_p - shares_q).max())


def test_aligned_lays_out_buckets_then_points_then_non_finite():
    p, q = aligned(Histogram((0, 2), (4,), nan=1), Histogram((1, 1, 3), (3, 5)))
    # union intervals [0, 1), [1, 2), [2, 3); the point 1; NaN, +inf, -inf
    assert p.tolist() == [2, 2, 0, 0, 1, 0, 0]
    assert q.tolist() == [0, 2.5, 2.5, 3, 0, 0, 0]
