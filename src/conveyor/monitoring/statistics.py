"""Per-feature statistics of tabular data, computed in one streamed pass over Arrow batches.

The input is any stream of `pyarrow.RecordBatch`es: a scan of many Parquet files
(`batches(source)`), a table, or an iterator of your own. No column is ever held whole:
each batch updates small per-feature accumulators and is dropped, so memory stays
bounded by the batch size whatever the number of rows. The result, `Statistics`, holds
counts, moments, histograms and value counts only (never rows); it is mergeable
(`a.merge(b)`: the statistics of two files make those of both) and JSON-serialisable
(`to_json()` / `Statistics.from_json()`), to be stored as a job's outputs and cached as
a baseline's statistics.

Numeric features (integers, floats, decimals) get `NumericStatistics`:

    count    values present (not null); rows = count + missing
    missing  nulls
    nan, pos_inf, neg_inf   NaN, +infinity and -infinity values (part of `count`)
    min, max, mean, std     over the finite values (std: population, ddof=0); None when
                            there is none
    edges, counts           the histogram of the finite values: `counts[i]` values in
                            [edges[i], edges[i+1]), the last bucket closed [.., edges[-1]]
    below, above            finite values below edges[0] and above edges[-1]

Categorical features (strings, booleans, dictionary arrays, and the integer features named
in `categorical=`) get `CategoricalStatistics`: `count`, `missing`, and `values`, the count
of each distinct value (as a string: booleans are "true" and "false"). At most
`max_values` (default `MAX_VALUES`, 10,000) distinct values are kept, the most frequent;
the rest are counted together in `other`, so `count == sum(values) + other` always. Below
the cap the counts are exact; above it, the kept values are the most frequent of each
merge step (a value dropped early and seen again later keeps its early count in `other`).

How the numeric buckets are chosen, so that one pass suffices for a target:

- A baseline's edges come from the baseline itself, at its quantiles: `buckets` (default
  10, TFDV's default) buckets of about equal baseline mass, with the exact min and max as
  the outer edges. A value that alone holds at least 1/`buckets` of the baseline (the 0 of
  a mostly-zero feature, each value of a 0/1 feature) gets a bucket of its own, of the
  width of one float: `[v, nextafter(v))`. Quantile edges rather than TFDV's equal-width
  buckets between min and max: one outlier stretches equal-width buckets until nearly all
  the mass sits in one or two of them, and the Jensen-Shannon divergence then cannot see
  a shift within the bulk; equal-mass buckets see it wherever the data are, and give the
  significance test (significance.py) a well-spread reference. The quantiles are
  estimated from a uniform sample of `SAMPLE_SIZE` rows; the counts are exact. So
  `baseline_statistics` reads its source twice: once for the min, max and sample, once
  for everything else. It is computed once per baseline and cached.
- A target is binned on its baseline's edges in one pass, with an underflow bucket
  `[min, edges[0])` and an overflow bucket `(edges[-1], max]` whose outer edges are the
  target's own min and max, known at the end of the pass (`NumericStatistics.histogram`
  lays them out). Two targets binned on the same baseline merge exactly.

    from conveyor.monitoring.statistics import baseline_statistics, target_statistics

    baseline = baseline_statistics("data/train/")       # Parquet files, read twice
    target = target_statistics(log_files, baseline)      # paths, a table, or batches: once
    target.features["age"].histogram                    # Histogram(edges, counts, ...)
    Statistics.from_json(target.to_json()) == target    # True
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from conveyor.errors import UsageError

DEFAULT_BUCKETS = 10
"""Buckets of a baseline's numeric histogram (TFDV's default), before atoms get their own."""
MAX_VALUES = 10_000
"""Distinct values kept per categorical feature; the rest are counted in `other`."""
SAMPLE_SIZE = 10_000
"""Rows sampled uniformly from a baseline to place its quantile edges."""
FORMAT = 1
"""Version of the JSON layout that `Statistics.to_json` writes."""

NUMERIC, CATEGORICAL = "numeric", "categorical"

Source: TypeAlias = Any
"""What `batches` reads: see there."""


class StatisticsError(UsageError):
    """The data cannot be summarised as asked; the message names the feature and the fix."""

    http_status = 400


# The statistics


@dataclass(frozen=True)
class Histogram:
    """The distribution of one numeric feature's present values, bucket by bucket.

    `counts[i]` values in [edges[i], edges[i+1]) (the last bucket closed); a bucket of
    zero width (`edges[i] == edges[i+1]`) holds the values equal to that edge. NaN, +inf
    and -inf are counted apart. This is what the distances compare.
    """

    edges: tuple[float, ...]
    counts: tuple[float, ...]
    nan: float = 0
    pos_inf: float = 0
    neg_inf: float = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "edges", tuple(float(e) for e in self.edges))
        object.__setattr__(self, "counts", tuple(self.counts))
        if self.counts and len(self.edges) != len(self.counts) + 1:
            raise StatisticsError(
                f"a histogram of {len(self.counts)} buckets needs {len(self.counts) + 1} "
                f"edges, not {len(self.edges)}"
            )
        if any(not math.isfinite(e) for e in self.edges) or any(
            b < a for a, b in itertools.pairwise(self.edges)
        ):
            raise StatisticsError(f"histogram edges must be finite and sorted: {self.edges}")
        if any(c < 0 for c in (*self.counts, self.nan, self.pos_inf, self.neg_inf)):
            raise StatisticsError("histogram counts cannot be negative")

    @property
    def total(self) -> float:
        """Every value counted: the finite ones, NaN and the infinities."""
        return sum(self.counts) + self.nan + self.pos_inf + self.neg_inf


@dataclass(frozen=True)
class NumericStatistics:
    """Statistics of one numeric feature (the fields are described in the module doc)."""

    kind: ClassVar[str] = NUMERIC
    count: int = 0
    missing: int = 0
    nan: int = 0
    pos_inf: int = 0
    neg_inf: int = 0
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    edges: tuple[float, ...] = ()
    counts: tuple[int, ...] = ()
    below: int = 0
    above: int = 0

    @property
    def finite(self) -> int:
        """The number of finite values (those of min, max, mean, std and the buckets)."""
        return self.count - self.nan - self.pos_inf - self.neg_inf

    @property
    def histogram(self) -> Histogram:
        """The buckets laid out: [min, edges[0]) first when `below`, (edges[-1], max] last
        when `above`; without edges, one bucket [min, max]."""
        edges, counts = list(self.edges), list(self.counts)
        if not edges:
            if self.below + self.above:
                edges, counts = [self.min, self.max], [self.below + self.above]
        else:
            if self.below:
                edges, counts = [self.min, *edges], [self.below, *counts]
            if self.above:
                edges, counts = [*edges, self.max], [*counts, self.above]
        return Histogram(tuple(edges), tuple(counts), self.nan, self.pos_inf, self.neg_inf)

    def merge(self, other: NumericStatistics) -> NumericStatistics:
        """The statistics of both sets of values; they must share their bucket edges."""
        if not isinstance(other, NumericStatistics):
            raise StatisticsError("cannot merge numeric statistics with categorical ones")
        if self.edges != other.edges:
            raise StatisticsError(
                "cannot merge numeric statistics binned on different edges: compute both "
                "with target_statistics(..., baseline) against the same baseline"
            )
        n1, n2 = self.finite, other.finite
        mean, std = self.mean, self.std
        if n2 and not n1:
            mean, std = other.mean, other.std
        elif n1 and n2:
            mean, m2 = _combine(n1, self.mean, self.std**2 * n1, n2, other.mean, other.std**2 * n2)
            std = math.sqrt(m2 / (n1 + n2))
        return NumericStatistics(
            count=self.count + other.count,
            missing=self.missing + other.missing,
            nan=self.nan + other.nan,
            pos_inf=self.pos_inf + other.pos_inf,
            neg_inf=self.neg_inf + other.neg_inf,
            min=_extreme(min, self.min, other.min),
            max=_extreme(max, self.max, other.max),
            mean=mean,
            std=std,
            edges=self.edges,
            counts=tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)),
            below=self.below + other.below,
            above=self.above + other.above,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (`from_json` reads it back exactly)."""
        return {
            "kind": NUMERIC,
            **{f: getattr(self, f) for f in _NUMERIC_FIELDS},
            "edges": list(self.edges),
            "counts": list(self.counts),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NumericStatistics:
        """The statistics `to_json` wrote."""
        return cls(
            **{f: data[f] for f in _NUMERIC_FIELDS},
            edges=tuple(data["edges"]),
            counts=tuple(data["counts"]),
        )


_NUMERIC_FIELDS = (
    "count",
    "missing",
    "nan",
    "pos_inf",
    "neg_inf",
    "min",
    "max",
    "mean",
    "std",
    "below",
    "above",
)


@dataclass(frozen=True)
class CategoricalStatistics:
    """Statistics of one categorical feature: present and missing values, value counts
    (most frequent first) and `other`, the count of the values beyond the cap."""

    kind: ClassVar[str] = CATEGORICAL
    count: int = 0
    missing: int = 0
    values: Mapping[str, int] = field(default_factory=dict)
    other: int = 0

    def merge(
        self, other: CategoricalStatistics, max_values: int = MAX_VALUES
    ) -> CategoricalStatistics:
        """The statistics of both; the `max_values` most frequent values are kept."""
        if not isinstance(other, CategoricalStatistics):
            raise StatisticsError("cannot merge categorical statistics with numeric ones")
        counts = dict(self.values)
        for value, count in other.values.items():
            counts[value] = counts.get(value, 0) + count
        values, dropped = _top(counts, max_values)
        return CategoricalStatistics(
            count=self.count + other.count,
            missing=self.missing + other.missing,
            values=values,
            other=self.other + other.other + dropped,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (`from_json` reads it back exactly)."""
        return {
            "kind": CATEGORICAL,
            "count": self.count,
            "missing": self.missing,
            "values": dict(self.values),
            "other": self.other,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CategoricalStatistics:
        """The statistics `to_json` wrote."""
        return cls(data["count"], data["missing"], dict(data["values"]), data["other"])


FeatureStatistics: TypeAlias = NumericStatistics | CategoricalStatistics


@dataclass(frozen=True)
class Statistics:
    """The statistics of a data set: its row count and each feature's statistics."""

    rows: int
    features: Mapping[str, FeatureStatistics]

    def merge(self, other: Statistics) -> Statistics:
        """The statistics of both data sets (same features, numeric ones on the same edges)."""
        if set(self.features) != set(other.features):
            raise StatisticsError(
                f"cannot merge statistics of different features: {sorted(self.features)} "
                f"and {sorted(other.features)}"
            )
        merged = {name: s.merge(other.features[name]) for name, s in self.features.items()}
        return Statistics(self.rows + other.rows, merged)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: `{"format": 1, "rows": N, "features": {name: {...}}}`."""
        features = {name: s.to_json() for name, s in self.features.items()}
        return {"format": FORMAT, "rows": self.rows, "features": features}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> Statistics:
        """The statistics `to_json` wrote, as a dict or as its JSON text."""
        if isinstance(data, str):
            data = json.loads(data)
        if data.get("format") != FORMAT:
            raise StatisticsError(
                f"statistics in format {data.get('format')!r}, this Conveyor reads format "
                f"{FORMAT}: compute them again"
            )
        features = {}
        for name, feature in data["features"].items():
            kinds = {NUMERIC: NumericStatistics, CATEGORICAL: CategoricalStatistics}
            if feature.get("kind") not in kinds:
                raise StatisticsError(
                    f"feature {name!r} has an unknown kind {feature.get('kind')!r}"
                )
            features[name] = kinds[feature["kind"]].from_json(feature)
        return cls(data["rows"], features)

    def digest(self) -> str:
        """The sha256 of the canonical JSON: equal for equal statistics."""
        return feature_digest(self)


def feature_digest(statistics: Statistics | FeatureStatistics) -> str:
    """The sha256 (hex) of the canonical JSON of a data set's or one feature's statistics."""
    text = json.dumps(statistics.to_json(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# Computing them


def baseline_statistics(
    source: Source,
    *,
    features: Sequence[str] | None = None,
    categorical: Collection[str] = (),
    buckets: int = DEFAULT_BUCKETS,
    max_values: int = MAX_VALUES,
    seed: int = 0,
) -> Statistics:
    """The statistics of a baseline (training data), its numeric edges at its quantiles.

    `source` is read twice (see `batches` for what it may be; not a one-shot iterator):
    first the numeric columns only, for each one's min, max and a uniform sample of
    `SAMPLE_SIZE` rows (drawn with `seed`), then every feature. `features` defaults to
    every column of a numeric, string, boolean or dictionary type; `categorical` names
    integer features to count as categories.
    """
    if isinstance(source, Iterator):
        raise StatisticsError(
            "baseline_statistics reads its source twice: pass a path, a dataset, a table "
            "or a function returning the batches, not an iterator"
        )
    if buckets < 1:
        raise StatisticsError(f"buckets must be at least 1, not {buckets}")
    if _is_paths(source):
        source = _parquet(source)  # found once, read twice
    kinds = _kinds(_schema(source), features, categorical)
    numeric = [name for name, kind in kinds.items() if kind == NUMERIC]
    edges = _quantile_edges_of(source, numeric, buckets, seed) if numeric else {}
    return _summarise(batches(source, list(kinds)), kinds, edges, max_values)


def target_statistics(
    source: Source, baseline: Statistics, *, max_values: int = MAX_VALUES
) -> Statistics:
    """The statistics of `source` in one pass, for the features of `baseline`, each numeric
    one binned on the baseline's edges (plus an underflow and an overflow bucket).
    A feature absent from a batch counts as missing in its rows."""
    kinds = {name: s.kind for name, s in baseline.features.items()}
    edges = {
        name: s.edges for name, s in baseline.features.items() if isinstance(s, NumericStatistics)
    }
    return _summarise(batches(source, list(kinds)), kinds, edges, max_values)


def batches(source: Source, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
    """The record batches of `source`, with only `columns` when given (those present).

    `source` is a Parquet file or folder, or a list of them (read with `pyarrow.dataset`
    file by file, strings decoded as dictionaries, which is much faster; memory stays
    within a few hundred MiB whatever the number of files), a `pyarrow.dataset.Dataset`,
    a `pyarrow.Table` or `RecordBatch`, a function returning any of these, or an iterable
    of record batches (passed through as is).
    """
    source = _opened(source)
    if _is_dataset(source):
        present = set(source.schema.names)
        wanted = None if columns is None else [c for c in columns if c in present]
        # File by file: a scan of the whole dataset reads ahead across files, and its
        # memory then grows with the number of files when the consumer is the slower.
        for fragment in source.get_fragments():
            try:
                names = fragment.physical_schema.names  # a file may lack a column, or have more
                chosen = [c for c in (wanted or source.schema.names) if c in names]
                yield from fragment.to_batches(columns=chosen, batch_readahead=4)
            except (pa.ArrowException, OSError) as exc:
                raise StatisticsError(
                    f"cannot read {getattr(fragment, 'path', fragment)}: {exc}; fix or remove "
                    "the file"
                ) from exc
    elif isinstance(source, pa.Table | pa.RecordBatch):
        if columns is not None:
            source = source.select([c for c in columns if c in source.schema.names])
        yield from source.to_batches() if isinstance(source, pa.Table) else [source]
    else:
        yield from source


def _opened(source: Source) -> Any:
    """`source` called when a function, opened as a dataset when Parquet paths."""
    if callable(source) and not _is_dataset(source):
        source = source()
    return _parquet(source) if _is_paths(source) else source


def _is_paths(source: Any) -> bool:
    return isinstance(source, str | Path) or (
        isinstance(source, Sequence) and bool(source) and isinstance(source[0], str | Path)
    )


def _is_dataset(source: Any) -> bool:
    # pyarrow.dataset imports pandas: imported only when Parquet paths are read
    module = sys.modules.get("pyarrow.dataset")
    return module is not None and isinstance(source, module.Dataset)


def _parquet(paths: str | Path | Sequence[str | Path]) -> Any:
    import pyarrow.dataset as ds

    paths = [str(p) for p in paths] if not isinstance(paths, str | Path) else str(paths)
    try:
        found = ds.dataset(paths, format="parquet")
        strings = [f.name for f in found.schema if _is_text(f.type)]
        if not strings:
            return found
        options = ds.ParquetReadOptions(dictionary_columns=strings)
        return ds.dataset(paths, format=ds.ParquetFileFormat(read_options=options))
    except (pa.ArrowException, OSError) as exc:
        raise StatisticsError(f"cannot read the Parquet files {paths}: {exc}") from exc


def _schema(source: Source) -> pa.Schema:
    source = _opened(source)
    if _is_dataset(source) or isinstance(source, pa.Table | pa.RecordBatch):
        return source.schema
    for batch in source:  # an iterable: its first batch says
        return batch.schema
    return pa.schema([])


def _is_text(type_: pa.DataType) -> bool:
    return (
        pa.types.is_string(type_)
        or pa.types.is_large_string(type_)
        or (pa.types.is_string_view(type_))
    )


def _type_name(type_: pa.DataType) -> str:
    return str(type_.value_type if pa.types.is_dictionary(type_) else type_)


def _is_numeric(type_: pa.DataType) -> bool:
    return pa.types.is_integer(type_) or pa.types.is_floating(type_) or pa.types.is_decimal(type_)


def _is_categorical(type_: pa.DataType) -> bool:
    return _is_text(type_) or pa.types.is_boolean(type_) or pa.types.is_dictionary(type_)


def _kinds(
    schema: pa.Schema, features: Sequence[str] | None, categorical: Collection[str]
) -> dict[str, str]:
    kinds = {}
    for name in schema.names if features is None else features:
        if name not in schema.names:
            raise StatisticsError(f"feature {name!r} is not in the data (columns: {schema.names})")
        type_ = schema.field(name).type
        if name in categorical or _is_categorical(type_):
            kinds[name] = CATEGORICAL
        elif _is_numeric(type_):
            kinds[name] = NUMERIC
        elif features is not None:
            raise StatisticsError(
                f"feature {name!r} is of type {type_}, neither numeric nor categorical: "
                "leave it out of `features`, or cast it"
            )
    unknown = set(categorical) - set(kinds)
    if unknown:
        raise StatisticsError(f"categorical names features not in the data: {sorted(unknown)}")
    return kinds


def _summarise(
    stream: Iterable[pa.RecordBatch],
    kinds: Mapping[str, str],
    edges: Mapping[str, Sequence[float]],
    max_values: int,
) -> Statistics:
    accumulators: dict[str, _Numeric | _Categorical] = {
        name: _Numeric(edges.get(name, ())) if kind == NUMERIC else _Categorical(max_values)
        for name, kind in kinds.items()
    }
    rows = 0
    for number, batch in enumerate(stream):
        rows += batch.num_rows
        names = batch.schema.names
        for name, accumulator in accumulators.items():
            if name not in names:
                accumulator.missing += batch.num_rows
                continue
            column = batch.column(names.index(name))
            try:
                accumulator.add(column)
            except _WrongType as exc:
                raise StatisticsError(
                    f"feature {name!r} is {kinds[name]}, but batch {number} holds "
                    f"{_type_name(column.type)} values: the data's schema changed; cast the "
                    "column or monitor it apart"
                ) from exc
    return Statistics(rows, {name: a.result() for name, a in accumulators.items()})


# Accumulators: the state of one feature during a pass


class _WrongType(Exception):
    pass


class _Numeric:
    """Counts, min, max, mean and M2 (Chan et al.), and the count of finite values at or
    above each edge (one comparison per edge: much faster than a binary search)."""

    def __init__(self, edges: Sequence[float]) -> None:
        self.edges = tuple(float(e) for e in edges)
        # The last edge nudged up one float, so that `>=` leaves values equal to it inside.
        search = list(self.edges)
        if search:
            search[-1] = math.nextafter(search[-1], math.inf)
        self.search = search
        self.at_or_above = np.zeros(len(search), dtype=np.int64)
        self.count = self.missing = self.nan = self.pos_inf = self.neg_inf = self.finite = 0
        self.min = self.max = self.mean = None
        self.m2 = 0.0

    def add(self, column: pa.Array) -> None:
        if not _is_numeric(column.type):
            raise _WrongType
        values = _floats(column)
        self.missing += column.null_count
        self.count += len(values)
        total = _sum(values)
        if not math.isfinite(total):  # NaN or an infinity somewhere (or an overflow)
            nan = np.isnan(values)
            self.nan += int(np.count_nonzero(nan))
            self.pos_inf += int(np.count_nonzero(values == math.inf))
            self.neg_inf += int(np.count_nonzero(values == -math.inf))
            values = values[np.isfinite(values)]
            total = _sum(values)
        n = len(values)
        if not n:
            return
        mean = total / n if math.isfinite(total) else float(np.mean(values / n) * n)
        deviations = values - mean
        m2 = float(np.einsum("i,i->", deviations, deviations))  # not np.dot: BLAS threads
        low, high = float(values.min()), float(values.max())
        if self.finite:
            self.mean, self.m2 = _combine(self.finite, self.mean, self.m2, n, mean, m2)
            self.min, self.max = min(self.min, low), max(self.max, high)
        else:
            self.mean, self.m2, self.min, self.max = mean, m2, low, high
        self.finite += n
        for i, edge in enumerate(self.search):
            self.at_or_above[i] += np.count_nonzero(values >= edge)

    def result(self) -> NumericStatistics:
        if self.search:
            ge = [int(c) for c in self.at_or_above]
            below, above = self.finite - ge[0], ge[-1]
            counts = tuple(a - b for a, b in itertools.pairwise(ge))
        else:  # no edges (the baseline had no finite value): all of them above
            below, above, counts = 0, self.finite, ()
        return NumericStatistics(
            count=self.count,
            missing=self.missing,
            nan=self.nan,
            pos_inf=self.pos_inf,
            neg_inf=self.neg_inf,
            min=self.min,
            max=self.max,
            mean=self.mean,
            std=math.sqrt(self.m2 / self.finite) if self.finite else None,
            edges=self.edges,
            counts=counts,
            below=below,
            above=above,
        )


class _Categorical:
    """Value counts in a dict, cut back to the most frequent when it grows past twice
    the cap (and to the cap at the end)."""

    def __init__(self, max_values: int) -> None:
        self.max_values = max_values
        self.counts: dict[str, int] = {}
        self.count = self.missing = self.other = 0

    def add(self, column: pa.Array) -> None:
        missing = column.null_count
        if pa.types.is_dictionary(column.type):
            present = column.drop_null() if missing else column
            tally = np.bincount(present.indices.to_numpy(), minlength=len(present.dictionary))
            seen = np.flatnonzero(tally)
            keys = _texts(present.dictionary.take(pa.array(seen)))
            numbers = tally[seen].tolist()
        else:
            if pa.types.is_nested(column.type) or pa.types.is_binary(column.type):
                raise _WrongType
            tallied = pc.value_counts(column)
            keys = _texts(tallied.field("values"))
            numbers = tallied.field("counts").to_pylist()
        counts = self.counts
        for key, number in zip(keys, numbers, strict=True):
            if key is None:  # the null of value_counts, or a null in a dictionary
                continue
            counts[key] = counts.get(key, 0) + number
        self.missing += missing
        self.count += len(column) - missing
        if len(counts) > 2 * self.max_values:
            self.counts, dropped = _top(counts, self.max_values)
            self.other += dropped

    def result(self) -> CategoricalStatistics:
        values, dropped = _top(self.counts, self.max_values)
        return CategoricalStatistics(self.count, self.missing, values, self.other + dropped)


def _floats(column: pa.Array) -> np.ndarray:
    """The present values of a numeric column as float64 (no copy for float64 without nulls)."""
    if column.null_count:
        column = column.drop_null()
    if not pa.types.is_float64(column.type):
        column = pc.cast(column, pa.float64())
    return column.to_numpy(zero_copy_only=False)


def _sum(values: np.ndarray) -> float:
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf, or an overflow
        return float(np.add.reduce(values)) if len(values) else 0.0


def _texts(values: pa.Array) -> list[str | None]:
    if not _is_text(values.type):
        values = pc.cast(values, pa.string())
    return values.to_pylist()


def _top(counts: Mapping[str, int], limit: int) -> tuple[dict[str, int], int]:
    """The `limit` most frequent values (ties by value), most frequent first; the count
    of the rest."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return dict(ordered[:limit]), sum(c for _, c in ordered[limit:])


def _combine(
    n1: int, mean1: float, m2_1: float, n2: int, mean2: float, m2_2: float
) -> tuple[float, float]:
    """Mean and sum of squared deviations of two groups together (Chan et al., 1979)."""
    n = n1 + n2
    delta = mean2 - mean1
    return mean1 + delta * n2 / n, m2_1 + m2_2 + delta * delta * n1 * n2 / n


def _extreme(pick: Callable[[float, float], float], a: float | None, b: float | None):
    return b if a is None else a if b is None else pick(a, b)


# The baseline's edges


def _quantile_edges_of(
    source: Source, numeric: Sequence[str], buckets: int, seed: int
) -> dict[str, tuple[float, ...]]:
    """First pass of a baseline: each numeric feature's finite min and max, and the values
    of a uniform sample of rows (the SAMPLE_SIZE smallest of a random key per row)."""
    rng = np.random.default_rng(seed)
    keys = np.empty(0)
    kept: dict[str, np.ndarray] = {name: np.empty(0) for name in numeric}
    low: dict[str, float] = {}
    high: dict[str, float] = {}
    for batch in batches(source, numeric):
        batch_keys = rng.random(batch.num_rows)
        if len(keys) >= SAMPLE_SIZE:
            chosen = np.flatnonzero(batch_keys < keys.max())
        else:
            chosen = np.arange(batch.num_rows)
        names = batch.schema.names
        taken = pa.array(chosen)
        for name in numeric:
            if name not in names:
                kept[name] = np.concatenate([kept[name], np.full(len(chosen), math.nan)])
                continue
            column = batch.column(names.index(name))
            if not _is_numeric(column.type):
                raise StatisticsError(
                    f"feature {name!r} is numeric, but a batch holds {_type_name(column.type)} "
                    "values: the data's schema changed; cast the column or monitor it apart"
                )
            values = _floats(column)
            if not math.isfinite(_sum(values)):
                values = values[np.isfinite(values)]
            if len(values):
                low[name] = min(low.get(name, math.inf), float(values.min()))
                high[name] = max(high.get(name, -math.inf), float(values.max()))
            sampled = pc.cast(column.take(taken), pa.float64()).to_numpy(zero_copy_only=False)
            kept[name] = np.concatenate([kept[name], sampled])
        keys = np.concatenate([keys, batch_keys[chosen]])
        if len(keys) > SAMPLE_SIZE:
            order = np.argpartition(keys, SAMPLE_SIZE - 1)[:SAMPLE_SIZE]
            keys = keys[order]
            kept = {name: values[order] for name, values in kept.items()}
    edges = {}
    for name in numeric:
        if name in low:
            sample = kept[name][np.isfinite(kept[name])]
            edges[name] = quantile_edges(sample, low[name], high[name], buckets)
        else:
            edges[name] = ()
    return edges


def quantile_edges(
    sample: np.ndarray, low: float, high: float, buckets: int = DEFAULT_BUCKETS
) -> tuple[float, ...]:
    """Bucket edges from `low` to `high` at the quantiles of `sample` (finite values), with
    a one-float-wide bucket `[v, nextafter(v))` for each value `v` that holds at least
    1/`buckets` of the sample; `(low, high)` alone when they are equal."""
    if low == high:
        return (low, high)
    edges = {low, high}
    sample = np.sort(sample[(sample >= low) & (sample <= high)])
    if len(sample):
        levels = np.linspace(0, 1, buckets + 1)[1:-1]
        edges.update(float(q) for q in np.quantile(sample, levels, method="inverted_cdf"))
        values, counts = np.unique(sample, return_counts=True)
        for value in values[counts * buckets >= len(sample)].tolist():
            edges.add(value)
            if value < high:
                edges.add(math.nextafter(value, math.inf))
            else:
                edges.add(math.nextafter(value, -math.inf))
    return tuple(sorted(e for e in edges if low <= e <= high))


__all__ = [
    "CATEGORICAL",
    "DEFAULT_BUCKETS",
    "MAX_VALUES",
    "NUMERIC",
    "SAMPLE_SIZE",
    "CategoricalStatistics",
    "FeatureStatistics",
    "Histogram",
    "NumericStatistics",
    "Statistics",
    "StatisticsError",
    "baseline_statistics",
    "batches",
    "feature_digest",
    "quantile_edges",
    "target_statistics",
]
