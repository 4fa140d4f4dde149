"""The significance gate: no alarm from sample size alone, large or small; the cache."""

import json

import numpy as np
import pyarrow as pa
import pytest

from conveyor.monitoring.distances import JENSEN_SHANNON, L_INFINITY, distance
from conveyor.monitoring.significance import (
    ANOMALY,
    INSUFFICIENT_DATA,
    NORMAL,
    NullCache,
    SignificanceError,
    assess,
    compare,
    null_quantile,
    size_bucket,
)
from conveyor.monitoring.statistics import baseline_statistics, target_statistics


def data(rows: int, seed: int, shift: float = 0.0, share_of_a: float = 0.5) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "x": rng.normal(shift, 1, rows),
            "c": rng.choice(["a", "b", "c"], rows, p=[share_of_a, 0.3, 0.7 - share_of_a]),
        }
    )


@pytest.fixture(scope="module")
def baseline():
    return baseline_statistics(data(200_000, seed=1))


def test_a_large_undrifted_sample_over_a_small_threshold_is_not_an_anomaly(baseline):
    target = target_statistics(data(200_000, seed=2), baseline)
    x = target.features["x"]
    found = distance(baseline.features["x"], x)
    threshold = found / 2  # a bare threshold would alarm
    assert found > threshold > 0
    chance = null_quantile(baseline.features["x"], x.count)
    verdict = assess(found, threshold, chance, x.count)
    assert verdict.status == NORMAL and not verdict.anomaly and verdict.significant is False

    shifted = target_statistics(data(200_000, seed=3, shift=0.05), baseline).features["x"]
    moved = distance(baseline.features["x"], shifted)
    verdict = assess(
        moved, threshold, null_quantile(baseline.features["x"], shifted.count), shifted.count
    )
    assert verdict.status == ANOMALY and verdict.anomaly and verdict.significant


def test_a_small_sample_is_insufficient_data_and_noise_does_not_alarm(baseline):
    tiny = target_statistics(data(50, seed=4, shift=3.0), baseline)
    verdict = compare(baseline, tiny)["x"]
    assert verdict.status == INSUFFICIENT_DATA and not verdict.anomaly
    assert verdict.distance > 0.3 and verdict.null_quantile is None  # far, but too few values
    # at 150 values (enough), chance alone reaches further than at 200,000
    small = target_statistics(data(150, seed=5), baseline)
    results = compare(baseline, small, default_categorical_alert_threshold=0.01)
    assert results["c"].distance > 0.01 and results["c"].status == NORMAL
    assert results["c"].null_quantile > results["c"].distance
    # a window with no values at all
    empty = target_statistics(
        pa.table({"x": pa.array([], pa.float64()), "c": pa.array([], pa.string())}), baseline
    )
    assert {v.status for v in compare(baseline, empty).values()} == {INSUFFICIENT_DATA}


def test_compare_flags_the_features_that_moved(baseline):
    target = target_statistics(data(100_000, seed=6, shift=1.5, share_of_a=0.1), baseline)
    results = compare(baseline, target)
    assert results["x"].measure == JENSEN_SHANNON and results["c"].measure == L_INFINITY
    assert results["x"].anomaly and results["c"].anomaly
    assert results["x"].threshold == results["c"].threshold == 0.3
    calm = compare(baseline, target, feature_alert_thresholds={"x": 0.9, "c": 0.9})
    assert not calm["x"].anomaly and not calm["c"].anomaly
    json.dumps({name: a.to_json() for name, a in results.items()})


def test_the_cache_is_hit_the_second_time(baseline, tmp_path):
    cache = NullCache()
    feature = baseline.features["x"]
    first = cache.null_quantile(feature, 10_000, feature="x")
    assert (cache.hits, cache.misses) == (0, 1)
    assert cache.null_quantile(feature, 10_000, feature="x") == first
    assert cache.null_quantile(feature, 10_100, feature="x") == first  # the same size bucket
    assert (cache.hits, cache.misses) == (2, 1)
    path = tmp_path / "cache" / "null-quantiles.json"
    cache.save(path)
    again = NullCache.load(path)
    assert again.null_quantile(feature, 10_000, feature="x") == first
    assert (again.hits, again.misses) == (1, 0)
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    assert NullCache.load(tmp_path / "absent.json").entries == {}
    # compare uses it: one miss per feature, then hits
    target = target_statistics(data(10_000, seed=7), baseline)
    compare(baseline, target, cache=again)
    misses = again.misses
    compare(baseline, target, cache=again)
    assert again.misses == misses


def test_null_quantiles():
    stats = baseline_statistics(data(20_000, seed=8)).features["x"]
    large, small = null_quantile(stats, 20_000), null_quantile(stats, 200)
    assert 0 < large < small < 0.3
    assert null_quantile(stats, 200) == small  # seeded
    assert null_quantile(stats, 200, seed=1) != small
    # JS by chance is about (k - 1) (1 / n + 1 / m) / (8 ln 2): 99th percentile a few times that
    mean_chance = (len(stats.counts) - 1) * (1 / 20_000 + 1 / 20_000) / (8 * np.log(2))
    assert mean_chance < large < 5 * mean_chance
    with pytest.raises(SignificanceError, match="at least one value"):
        null_quantile(stats, 0)
    with pytest.raises(SignificanceError, match="unknown measure"):
        null_quantile(stats, 10, "psi")


def test_size_buckets_round_down_by_less_than_ten_percent():
    assert [size_bucket(n) for n in (0, 1, 15)] == [0, 1, 15]
    previous = 0
    for n in range(16, 200_000, 37):
        bucket = size_bucket(n)
        assert n / 1.0906 <= bucket <= n and bucket >= previous
        previous = bucket
    assert size_bucket(10_000) == size_bucket(10_100)


def test_assess():
    assert assess(0.5, 0.3, 0.1, 1000).status == ANOMALY
    assert assess(0.5, 0.3, 0.6, 1000).status == NORMAL  # within chance
    assert assess(0.2, 0.3, 0.1, 1000).status == NORMAL  # under the threshold
    assert assess(0.5, 0.3, 0.1, 99).status == INSUFFICIENT_DATA
    assert assess(0.5, 0.3, 0.1, 1000, n_reference=20).status == INSUFFICIENT_DATA
    assert assess(None, 0.3, None, 1000).status == INSUFFICIENT_DATA
    assert assess(0.5, 0.3, 0.1, 10, min_samples=5).anomaly
