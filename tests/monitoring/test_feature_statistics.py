"""Streamed per-feature statistics: equal to whole-array numpy, mergeable, JSON round trip."""

import json
import math
import subprocess
import sys
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conveyor.monitoring.statistics import (
    CategoricalStatistics,
    NumericStatistics,
    Statistics,
    StatisticsError,
    baseline_statistics,
    batches,
    quantile_edges,
    target_statistics,
)


def frame(rows: int, seed: int, shift: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = rng.normal(10 + shift, 3, rows)
    x[rng.random(rows) < 0.03] = np.nan
    x[rng.random(rows) < 0.01] = np.inf
    x[rng.random(rows) < 0.01] = -np.inf
    nulls = rng.random(rows) < 0.05
    colour = rng.choice(["red", "green", "blue", "teal"], rows, p=[0.4, 0.3, 0.2, 0.1])
    return pa.table(
        {
            "x": pa.array(x, mask=nulls),
            "n": pa.array(rng.poisson(4, rows)),
            "flag": pa.array(rng.random(rows) < 0.3),
            "colour": pa.array(colour, mask=rng.random(rows) < 0.02),
            "when": pa.array(np.arange(rows), pa.timestamp("s")),  # not a feature type
        }
    )


def in_batches(table: pa.Table, size: int) -> list[pa.RecordBatch]:
    return table.to_batches(max_chunksize=size)


def assert_same(a: Statistics, b: Statistics) -> None:
    """Equal statistics, up to the rounding of mean and std (which batches sum first)."""
    assert a.rows == b.rows and set(a.features) == set(b.features)
    for name, feature in a.features.items():
        left, right = feature.to_json(), b.features[name].to_json()
        for moment in ("mean", "std"):
            if moment in left:
                assert left.pop(moment) == pytest.approx(right.pop(moment), rel=1e-12)
        assert left == right, name


def test_streamed_statistics_equal_whole_array_numpy():
    table = frame(20_000, seed=1)
    baseline = baseline_statistics(in_batches(table, 777))
    assert set(baseline.features) == {"x", "n", "flag", "colour"}  # the timestamp is left out
    assert baseline.rows == 20_000

    x = baseline.features["x"]
    whole = table.column("x").to_numpy(zero_copy_only=False)
    present = whole[~np.asarray(table.column("x").is_null())]
    finite = present[np.isfinite(present)]
    assert isinstance(x, NumericStatistics)
    assert x.count == len(present) and x.missing == table.column("x").null_count
    assert x.nan == np.isnan(present).sum()
    assert (x.pos_inf, x.neg_inf) == ((present == np.inf).sum(), (present == -np.inf).sum())
    assert (x.min, x.max) == (finite.min(), finite.max())
    assert x.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert x.std == pytest.approx(finite.std(), rel=1e-12)
    # the counts, exactly: numpy's histogram has the same convention (the last bucket closed)
    assert list(x.counts) == np.histogram(finite, bins=np.array(x.edges))[0].tolist()
    assert x.below == x.above == 0 and x.edges[0] == x.min and x.edges[-1] == x.max

    n = baseline.features["n"]
    ints = table.column("n").to_numpy()
    assert (n.count, n.min, n.max) == (len(ints), ints.min(), ints.max())
    assert n.std == pytest.approx(ints.std(), rel=1e-12)

    colour = baseline.features["colour"]
    expected = Counter(v for v in table.column("colour").to_pylist() if v is not None)
    assert isinstance(colour, CategoricalStatistics)
    assert colour.values == dict(expected) and colour.other == 0
    assert list(colour.values) == [v for v, _ in expected.most_common()]  # most frequent first
    assert colour.missing == table.column("colour").null_count
    flag = baseline.features["flag"]
    assert set(flag.values) == {"true", "false"} and flag.count == 20_000


def test_quantile_edges_hold_about_equal_mass():
    baseline = baseline_statistics(frame(50_000, seed=2), features=["x"])
    counts = np.array(baseline.features["x"].counts)
    assert len(counts) == 10
    shares = counts / counts.sum()
    assert np.all(np.abs(shares - 0.1) < 0.02)


def test_atoms_get_buckets_of_their_own():
    binary = np.array([0.0] * 700 + [1.0] * 300)
    edges = quantile_edges(binary, 0.0, 1.0)
    assert edges == (0.0, math.nextafter(0.0, 1), math.nextafter(1.0, 0), 1.0)
    table = pa.table({"b": binary})
    stats = baseline_statistics(table).features["b"]
    assert (stats.counts[0], stats.counts[-1], sum(stats.counts[1:-1])) == (700, 300, 0)
    # a constant feature: one bucket of zero width
    assert quantile_edges(np.full(5, 3.0), 3.0, 3.0) == (3.0, 3.0)
    constant = baseline_statistics(pa.table({"c": [3.0] * 10}))
    target = target_statistics(pa.table({"c": [1.0, 3.0, 3.0, 8.0]}), constant)
    assert target.features["c"].histogram.edges == (1.0, 3.0, 3.0, 8.0)
    assert target.features["c"].histogram.counts == (1, 2, 1)


def test_a_target_is_binned_on_the_baseline_edges_with_under_and_overflow():
    baseline = baseline_statistics(pa.table({"v": np.arange(100.0)}))
    target = target_statistics(pa.table({"v": [-5.0, 0.0, 50.0, 99.0, 120.0, 130.0]}), baseline)
    v = target.features["v"]
    assert v.edges == baseline.features["v"].edges
    assert (v.below, v.above, sum(v.counts)) == (1, 2, 3)
    h = v.histogram
    assert h.edges[0] == -5.0 and h.edges[-1] == 130.0 and h.edges[1:-1] == v.edges
    assert (h.counts[0], h.counts[-1]) == (1, 2)


def test_merge_is_associative_and_equals_the_whole():
    table = frame(9_000, seed=3, shift=1.0)
    baseline = baseline_statistics(frame(9_000, seed=4))
    a, b, c = (target_statistics(table.slice(i * 3000, 3000), baseline) for i in range(3))
    left, right = a.merge(b).merge(c), a.merge(b.merge(c))
    whole = target_statistics(in_batches(table, 1000), baseline)
    assert_same(left, right)
    assert_same(left, whole)
    assert sum(left.features["x"].counts) < whole.features["x"].finite  # some outside the edges
    with pytest.raises(StatisticsError, match="different edges"):
        baseline.merge(baseline_statistics(frame(9_000, seed=5)))


def test_json_round_trip_holds_no_rows():
    stats = baseline_statistics(frame(5_000, seed=5))
    text = json.dumps(stats.to_json())
    again = Statistics.from_json(text)
    assert again == stats and again.digest() == stats.digest()
    assert Statistics.from_json(json.loads(text)) == stats
    assert len(text) < 3_000  # histograms and value counts only
    with pytest.raises(StatisticsError, match="format"):
        Statistics.from_json({**stats.to_json(), "format": 99})


def test_values_beyond_the_cap_are_counted_in_other():
    values = [f"v{i:02d}" for i in range(50) for _ in range(i + 1)]  # v49 is the most frequent
    table = pa.table({"c": values})
    stats = baseline_statistics(table, max_values=10).features["c"]
    assert list(stats.values) == [f"v{i:02d}" for i in range(49, 39, -1)]
    assert stats.count == sum(stats.values.values()) + stats.other == len(values)
    # cut back while streaming: the most frequent of each step, the total still exact
    streamed = baseline_statistics(in_batches(table, 100), max_values=10).features["c"]
    assert len(streamed.values) == 10 and "v49" in streamed.values
    assert streamed.count == sum(streamed.values.values()) + streamed.other == len(values)


def test_parquet_files_and_dictionary_strings(tmp_path):
    table = frame(4_000, seed=6)
    pq.write_table(table.slice(0, 2000), tmp_path / "a.parquet")
    pq.write_table(table.slice(2000), tmp_path / "b.parquet")
    read = list(batches(tmp_path, ["colour", "x"]))
    assert pa.types.is_dictionary(read[0].schema.field("colour").type)
    assert_same(baseline_statistics(tmp_path), baseline_statistics(table))
    from_files = baseline_statistics([tmp_path / "a.parquet", tmp_path / "b.parquet"])
    assert_same(from_files, baseline_statistics(table))


def test_a_feature_absent_from_a_batch_is_missing_and_a_changed_type_is_refused():
    baseline = baseline_statistics(pa.table({"x": [1.0, 2.0], "c": ["a", "b"]}))
    later = [pa.record_batch({"x": [1.0]}), pa.record_batch({"x": [2.0], "c": ["a"]})]
    target = target_statistics(later, baseline)
    assert (target.features["c"].count, target.features["c"].missing) == (1, 1)
    with pytest.raises(StatisticsError, match="feature 'x' is numeric, but batch 1 holds string"):
        target_statistics([pa.record_batch({"x": [1.0]}), pa.record_batch({"x": ["1"]})], baseline)


def test_refusals():
    table = frame(100, seed=7)
    with pytest.raises(StatisticsError, match="reads its source twice"):
        baseline_statistics(iter(table.to_batches()))
    with pytest.raises(StatisticsError, match="'when' is of type timestamp"):
        baseline_statistics(table, features=["when"])
    with pytest.raises(StatisticsError, match="'nope' is not in the data"):
        baseline_statistics(table, features=["nope"])
    ints = baseline_statistics(table, features=["n"], categorical=["n"]).features["n"]
    assert isinstance(ints, CategoricalStatistics) and all(k.isdigit() for k in ints.values)


def test_no_finite_value():
    baseline = baseline_statistics(pa.table({"x": [math.nan, math.inf]}))
    x = baseline.features["x"]
    assert (x.count, x.nan, x.pos_inf, x.min, x.mean, x.std, x.edges) == (
        2,
        1,
        1,
        None,
        None,
        None,
        (),
    )
    target = target_statistics(pa.table({"x": [1.0, 2.0, math.nan]}), baseline)
    assert target.features["x"].histogram.counts == (2,)
    json.dumps(target.to_json(), allow_nan=False)


def test_importing_the_package_imports_neither_pandas_nor_sklearn():
    code = (
        "import sys, conveyor.monitoring, conveyor.monitoring.statistics, "
        "conveyor.monitoring.distances, conveyor.monitoring.significance\n"
        "bad = [m for m in ('pandas', 'sklearn') if m in sys.modules]\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bad_files_are_named(tmp_path):
    baseline = baseline_statistics(pa.table({"x": [1.0, 2.0]}))
    pq.write_table(pa.table({"x": [1.0]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"x": ["1"]}), tmp_path / "b.parquet")
    with pytest.raises(StatisticsError, match="'x' is numeric, but batch 1 holds string values"):
        target_statistics(tmp_path, baseline)
    (tmp_path / "b.parquet").write_bytes(b"PAR1 not parquet")
    with pytest.raises(StatisticsError, match=r"cannot read .*b\.parquet"):
        target_statistics(tmp_path, baseline)
