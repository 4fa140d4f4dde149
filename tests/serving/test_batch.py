"""Batch prediction: registered scikit-learn models over CSV, Parquet and JSON Lines files."""

from __future__ import annotations

import json
import shutil

import joblib
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import skops.io
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from conveyor.errors import UsageError
from conveyor.registry import ModelNotFound, Registry, VersionNotFound
from conveyor.serving.batch import BatchInputError, predict_file
from conveyor.serving.loading import ModelLoader
from conveyor.serving.runtimes import ChecksumMismatch, UntrustedModel
from conveyor.store.metadata import MetadataStore

FEATURES = ["tenure", "spend", "visits"]
ROWS = 10_000


def customers(n: int, seed: int = 0) -> pd.DataFrame:
    """`n` customers: an id that passes through, three numeric features, a city."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "tenure": rng.integers(0, 72, size=n),
            "spend": rng.normal(60, 20, size=n),
            "visits": rng.poisson(4, size=n).astype(float),
            "city": rng.choice(["paris", "lyon", "nice"], size=n),
        }
    )


def churned(frame: pd.DataFrame) -> np.ndarray:
    return ((frame["tenure"] < 20) & (frame["spend"] > 55) | (frame["city"] == "nice")).astype(int)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Saved folders: `logistic` (fitted on named columns), `other` (another logistic),
    `unnamed` (fitted on a bare array), `regression`, `pipeline` (reads `city` by name)."""
    root = tmp_path_factory.mktemp("models")
    train = customers(2000, seed=1)
    y = churned(train)

    def save(name, model, file="model.skops"):
        (root / name).mkdir()
        if file == "model.skops":
            skops.io.dump(model, root / name / file)
        else:
            joblib.dump(model, root / name / file)
        return model

    fitted = {
        "logistic": save("logistic", LogisticRegression(max_iter=1000).fit(train[FEATURES], y)),
        "other": save("other", LogisticRegression(C=0.001).fit(train[FEATURES], 1 - y)),
        "unnamed": save(
            "unnamed", LogisticRegression(max_iter=1000).fit(train[FEATURES].to_numpy(), y)
        ),
        "regression": save("regression", LinearRegression().fit(train[FEATURES], train["spend"])),
        "pickled": save("pickled", LogisticRegression().fit(train[FEATURES], y), "model.joblib"),
    }
    pipeline = Pipeline(
        [
            (
                "columns",
                ColumnTransformer(
                    [("city", OneHotEncoder(), ["city"]), ("numbers", StandardScaler(), FEATURES)]
                ),
            ),
            ("model", LogisticRegression(max_iter=1000)),
        ]
    )
    fitted["pipeline"] = save("pipeline", pipeline.fit(train[[*FEATURES, "city"]], y))
    return root, fitted


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """10,000 customers in each format."""
    root = tmp_path_factory.mktemp("data")
    frame = customers(ROWS)
    frame.to_csv(root / "customers.csv", index=False)
    frame.to_parquet(root / "customers.parquet", index=False)
    frame.to_json(root / "customers.jsonl", orient="records", lines=True, double_precision=15)
    return root, frame


@pytest.fixture
def registry(models):
    with MetadataStore.open() as store:
        registry = Registry(store)
        root, _ = models
        registry.upload("churn", root / "logistic", framework="sklearn")
        yield registry


@pytest.fixture
def loader(tmp_path):
    """A model loader of the test's own (each test loads its versions afresh)."""
    return ModelLoader(tmp_path / "models")


@pytest.fixture
def out(tmp_path):
    """A folder of the test's own for inputs and outputs (its Conveyor home is beside it)."""
    folder = tmp_path / "files"
    folder.mkdir()
    return folder


def read(path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_json(path, lines=True, precise_float=True)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_every_format_gets_one_prediction_per_row(loader, registry, models, data, out, fmt):
    folder, frame = data
    _, fitted = models
    seen = []
    result = predict_file(
        registry,
        loader,
        "churn",
        folder / f"customers.{fmt}",
        out / f"scored.{fmt}",
        batch_size=3000,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert (result.model, result.rows, result.column) == ("churn@1", ROWS, "prediction")
    assert (result.input_format, result.output_format) == (fmt, fmt)
    assert seen == [(0, ROWS), (3000, ROWS), (6000, ROWS), (9000, ROWS), (ROWS, ROWS)]

    scored = read(out / f"scored.{fmt}")
    assert list(scored.columns) == [*frame.columns, "prediction"]
    assert scored["customer_id"].tolist() == list(range(ROWS))
    expected = fitted["logistic"].predict(frame[FEATURES])
    assert scored["prediction"].tolist() == expected.tolist()
    assert 0 < expected.sum() < ROWS
    pd.testing.assert_frame_equal(scored[frame.columns], frame, check_dtype=False, rtol=1e-12)
    assert [p.name for p in out.iterdir()] == [f"scored.{fmt}"]


@pytest.mark.parametrize(
    ("source", "target"), [("csv", "parquet"), ("parquet", "jsonl"), ("jsonl", "csv")]
)
def test_formats_convert(loader, registry, data, out, source, target):
    folder, frame = data
    result = predict_file(
        registry, loader, "churn", folder / f"customers.{source}", out / f"out.{target}"
    )
    assert result.output_format == target
    scored = read(out / f"out.{target}")
    assert len(scored) == ROWS
    assert scored["city"].tolist() == frame["city"].tolist()


def test_format_named_when_the_extension_does_not_say(loader, registry, data, out):
    folder, _ = data
    shutil.copy(folder / "customers.jsonl", out / "customers.txt")
    result = predict_file(
        registry, loader, "churn", out / "customers.txt", out / "out.data", input_format="jsonl"
    )
    assert (result.input_format, result.output_format) == ("jsonl", "jsonl")
    assert len((out / "out.data").read_text().splitlines()) == ROWS
    with pytest.raises(UsageError, match=r"cannot tell the format of the input .*customers\.txt"):
        predict_file(registry, loader, "churn", out / "customers.txt", out / "o.csv")
    with pytest.raises(UsageError, match="format 'xml' is not one of csv, jsonl, parquet"):
        predict_file(
            registry, loader, "churn", out / "customers.txt", out / "o", input_format="xml"
        )


def test_versions_by_alias_and_id(loader, registry, models, data, out):
    root, fitted = models
    folder, frame = data
    registry.upload("churn", root / "other", framework="sklearn", aliases=["challenger"])
    head = frame.head(500)
    head.to_parquet(out / "head.parquet")
    for reference, model, expected in [
        ("churn", "logistic", "churn@1"),
        ("churn@challenger", "other", "churn@2"),
        ("churn@2", "other", "churn@2"),
    ]:
        result = predict_file(registry, loader, reference, out / "head.parquet", out / "o.parquet")
        assert result.model == expected
        predicted = pd.read_parquet(out / "o.parquet")["prediction"]
        assert predicted.tolist() == fitted[model].predict(head[FEATURES]).tolist()


def test_several_values_per_row_go_to_predictions(loader, registry, models, data, out):
    _, fitted = models
    folder, frame = data
    proba = fitted["logistic"].predict_proba(frame[FEATURES])
    for fmt in ("parquet", "jsonl", "csv"):
        result = predict_file(
            registry,
            loader,
            "churn",
            folder / "customers.parquet",
            out / f"p.{fmt}",
            parameters={"method": "predict_proba"},
        )
        assert result.column == "predictions"
        column = read(out / f"p.{fmt}")["predictions"]
        values = [json.loads(v) for v in column] if fmt == "csv" else [list(v) for v in column]
        np.testing.assert_allclose(values, proba, rtol=1e-12)


def test_regression_keeps_full_precision(loader, registry, models, data, out):
    root, fitted = models
    folder, frame = data
    registry.upload("spend", root / "regression", framework="sklearn")
    predict_file(registry, loader, "spend", folder / "customers.csv", out / "s.jsonl")
    predict_file(registry, loader, "spend", folder / "customers.csv", out / "s.csv")
    expected = fitted["regression"].predict(frame[FEATURES])
    for name in ("s.jsonl", "s.csv"):
        np.testing.assert_array_equal(read(out / name)["prediction"].to_numpy(), expected)


def test_model_without_names_takes_the_columns_its_schema_names(
    loader, registry, models, data, out
):
    root, fitted = models
    folder, frame = data
    schema = [
        {"name": "tenure", "type": "integer", "description": "months"},
        {"name": "spend", "type": "float"},
        {"name": "visits", "type": "float"},
    ]
    registry.upload("bare", root / "unnamed", framework="sklearn", input_schema=schema)
    shuffled = frame[["visits", "city", "customer_id", "spend", "tenure"]]
    shuffled.to_csv(out / "shuffled.csv", index=False)
    predict_file(registry, loader, "bare", out / "shuffled.csv", out / "o.csv")
    expected = fitted["unnamed"].predict(frame[FEATURES].to_numpy())
    assert pd.read_csv(out / "o.csv")["prediction"].tolist() == expected.tolist()

    registry.upload("blind", root / "unnamed", framework="sklearn")
    with pytest.raises(BatchInputError, match="has 5 columns, but the model takes 3 features"):
        predict_file(registry, loader, "blind", out / "shuffled.csv", out / "o2.csv")
    frame[FEATURES].to_csv(out / "only.csv", index=False)
    predict_file(registry, loader, "blind", out / "only.csv", out / "o2.csv")
    assert pd.read_csv(out / "o2.csv")["prediction"].tolist() == expected.tolist()


def test_a_pipeline_reading_strings_by_name(loader, registry, models, data, out):
    root, fitted = models
    folder, frame = data
    registry.upload("city", root / "pipeline", framework="sklearn", trusted=True)
    for fmt in ("csv", "parquet", "jsonl"):
        predict_file(registry, loader, "city", folder / f"customers.{fmt}", out / f"o.{fmt}")
        expected = fitted["pipeline"].predict(frame[[*FEATURES, "city"]])
        assert read(out / f"o.{fmt}")["prediction"].tolist() == expected.tolist()


def test_single_file_artifact(loader, registry, models, data, out):
    root, fitted = models
    folder, frame = data
    registry.upload("file", root / "logistic" / "model.skops", framework="sklearn")
    frame.head(100).to_csv(out / "head.csv", index=False)
    predict_file(registry, loader, "file", out / "head.csv", out / "o.csv")
    expected = fitted["logistic"].predict(frame.head(100)[FEATURES])
    assert pd.read_csv(out / "o.csv")["prediction"].tolist() == expected.tolist()


def test_unknown_model_version_and_alias(loader, registry, data, out):
    folder, _ = data
    source = folder / "customers.csv"
    with pytest.raises(ModelNotFound, match="no model 'nope'"):
        predict_file(registry, loader, "nope", source, out / "o.csv")
    with pytest.raises(VersionNotFound, match="alias 'production'"):
        predict_file(registry, loader, "churn@production", source, out / "o.csv")
    with pytest.raises(VersionNotFound):
        predict_file(registry, loader, "churn@7", source, out / "o.csv")
    assert list(out.iterdir()) == []


def test_unreadable_inputs(loader, registry, data, out):
    with pytest.raises(
        BatchInputError, match=r"cannot read the input .*absent\.csv: it does not exist"
    ):
        predict_file(registry, loader, "churn", out / "absent.csv", out / "o.csv")
    (out / "folder.csv").mkdir()
    with pytest.raises(BatchInputError, match="it is a folder"):
        predict_file(registry, loader, "churn", out / "folder.csv", out / "o.csv")
    (out / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(
        BatchInputError, match=r"cannot read the input .*broken\.parquet as parquet"
    ):
        predict_file(registry, loader, "churn", out / "broken.parquet", out / "o.parquet")
    (out / "broken.jsonl").write_text('{"tenure": 1, "spend": 2, "visits": 3}\n{oops\n')
    with pytest.raises(BatchInputError, match=r"cannot read the input .*broken\.jsonl as jsonl"):
        predict_file(registry, loader, "churn", out / "broken.jsonl", out / "o.jsonl")
    (out / "empty.csv").write_text("tenure,spend,visits\n")
    with pytest.raises(BatchInputError, match="holds no rows"):
        predict_file(registry, loader, "churn", out / "empty.csv", out / "o.csv")
    with pytest.raises(UsageError, match="the folder .*nowhere does not exist"):
        predict_file(registry, loader, "churn", out / "empty.csv", out / "nowhere" / "o.csv")
    leftovers = {p.name for p in out.iterdir()}
    assert leftovers == {"folder.csv", "broken.parquet", "broken.jsonl", "empty.csv"}


def test_missing_feature_is_named_and_nothing_is_written(loader, registry, data, out):
    folder, frame = data
    frame.drop(columns=["spend", "visits"]).to_parquet(out / "partial.parquet")
    with pytest.raises(
        BatchInputError,
        match=r"partial\.parquet has no column 'spend', which the model takes \(nor 'visits'\); "
        "it takes: tenure, spend, visits",
    ):
        predict_file(registry, loader, "churn", out / "partial.parquet", out / "o.parquet")
    assert not (out / "o.parquet").exists()


def test_a_bad_row_late_in_the_file_leaves_the_old_output_whole(loader, registry, data, out):
    folder, frame = data
    broken = frame.astype({"visits": object})
    broken.loc[9_500, "visits"] = "many"
    broken.to_csv(out / "late.csv", index=False)
    (out / "o.csv").write_text("previous results\n")
    with pytest.raises(BatchInputError, match="column 'visits' does not hold numbers"):
        predict_file(registry, loader, "churn", out / "late.csv", out / "o.csv", batch_size=1000)
    assert (out / "o.csv").read_text() == "previous results\n"
    assert sorted(p.name for p in out.iterdir()) == ["late.csv", "o.csv"]


def test_a_column_named_prediction_is_refused(loader, registry, data, out):
    folder, frame = data
    frame.assign(prediction=1).head(10).to_csv(out / "p.csv", index=False)
    with pytest.raises(BatchInputError, match="already has a column 'prediction'"):
        predict_file(registry, loader, "churn", out / "p.csv", out / "o.csv")


def test_parquet_output_across_batches_of_other_types(loader, registry, data, out):
    folder, frame = data
    gaps = frame.head(4000).astype({"customer_id": "Int64"})
    gaps.loc[3500, "customer_id"] = pd.NA  # the second batch of ids reads as floats
    gaps.to_csv(out / "gaps.csv", index=False)
    predict_file(registry, loader, "churn", out / "gaps.csv", out / "o.parquet", batch_size=2000)
    table = pq.read_table(out / "o.parquet")
    assert str(table.schema.field("customer_id").type) == "int64"
    assert table.column("customer_id").null_count == 1

    mixed = frame.head(4000).astype({"customer_id": object})
    mixed.loc[3500, "customer_id"] = "vip-1"
    mixed.to_csv(out / "mixed.csv", index=False)
    with pytest.raises(
        BatchInputError, match=r"change type .* in customer_id \(int64 then \w*string\)"
    ):
        predict_file(
            registry, loader, "churn", out / "mixed.csv", out / "m.parquet", batch_size=2000
        )
    assert not (out / "m.parquet").exists()
    predict_file(registry, loader, "churn", out / "mixed.csv", out / "m.csv", batch_size=2000)


def test_untrusted_and_changed_models_do_not_load(loader, registry, models, data, out):
    root, _ = models
    folder, _ = data
    registry.upload("pickled", root / "pickled", framework="sklearn")
    with pytest.raises(UntrustedModel, match="model.joblib is a pickle"):
        predict_file(registry, loader, "pickled", folder / "customers.csv", out / "o.csv")
    registry.update_version("pickled", 1, trusted=True)
    predict_file(registry, loader, "pickled", folder / "customers.csv", out / "o.csv")

    copy = out / "model"
    shutil.copytree(root / "logistic", copy)
    registry.upload("changed", copy, framework="sklearn")
    shutil.copy(root / "other" / "model.skops", copy / "model.skops")
    with pytest.raises(ChecksumMismatch, match="does not match the sha256 recorded at upload"):
        predict_file(registry, loader, "changed", folder / "customers.csv", out / "o2.csv")
    assert not (out / "o2.csv").exists()


def test_batch_size_must_be_positive(loader, registry, data, out):
    folder, _ = data
    with pytest.raises(UsageError, match="positive number of rows, not 0"):
        predict_file(
            registry, loader, "churn", folder / "customers.csv", out / "o.csv", batch_size=0
        )


def test_progress_ends_at_the_rows_read(loader, registry, out):
    (out / "gaps.jsonl").write_text(
        '{"tenure": 1, "spend": 50.5, "visits": 2}\n\n'
        '{"tenure": 30, "spend": 70.0, "visits": 1}\n\n'
    )
    seen = []
    result = predict_file(
        registry,
        loader,
        "churn",
        out / "gaps.jsonl",
        out / "o.jsonl",
        progress=lambda *p: seen.append(p),
    )
    assert result.rows == 2
    assert seen[0] == (0, 4)
    assert seen[-1] == (2, 2)
