"""`conveyor models predict`: output, progress, exit codes and messages, through the real
entry point (`cli` fixture of tests/cli/conftest.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression

FEATURES = ["tenure", "spend", "visits"]
ROWS = 10_000


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A saved classifier (fitted on named columns) and 10,000 rows in three formats."""
    root = tmp_path_factory.mktemp("predict")
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(ROWS),
            "tenure": rng.integers(0, 72, size=ROWS),
            "spend": rng.normal(60, 20, size=ROWS),
            "visits": rng.poisson(4, size=ROWS).astype(float),
        }
    )
    target = ((frame["tenure"] < 20) & (frame["spend"] > 55)).astype(int)
    model = LogisticRegression(max_iter=1000).fit(frame[FEATURES], target)
    (root / "model").mkdir()
    skops.io.dump(model, root / "model" / "model.skops")
    frame.to_csv(root / "rows.csv", index=False)
    frame.to_parquet(root / "rows.parquet", index=False)
    frame.to_json(root / "rows.jsonl", orient="records", lines=True, double_precision=15)
    return root, frame, model.predict(frame[FEATURES])


@pytest.fixture
def uploaded(cli, files):
    root, _, _ = files
    result = cli("models", "upload", "churn", str(root / "model"), "--framework", "sklearn")
    assert result.code == 0, result.err
    result = cli("models", "alias", "churn", "production", "1")
    assert result.code == 0, result.err
    return files


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_predict_writes_rows_and_predictions(cli, uploaded, tmp_path, fmt):
    root, frame, expected = uploaded
    target = tmp_path / f"scored.{fmt}"
    result = cli(
        "models",
        "predict",
        "churn@production",
        "--input",
        str(root / f"rows.{fmt}"),
        "--output",
        str(target),
        "--batch-size",
        "2500",
    )
    assert result.code == 0, result.err
    assert result.out.startswith(
        f"Predicted {ROWS} rows with churn@1 into {target} ({fmt}, column prediction, "
    )
    assert f"{ROWS}/{ROWS} rows" in result.err  # the progress bar, on stderr
    if fmt == "csv":
        scored = pd.read_csv(target)
    elif fmt == "parquet":
        scored = pd.read_parquet(target)
    else:
        scored = pd.read_json(target, lines=True)
    assert list(scored.columns) == [*frame.columns, "prediction"]
    assert scored["prediction"].tolist() == expected.tolist()
    assert scored["customer_id"].tolist() == list(range(ROWS))


def test_json_output_and_short_options(cli, uploaded, tmp_path):
    root, _, _ = uploaded
    result = cli(
        "models",
        "predict",
        "churn@1",
        "-i",
        str(root / "rows.parquet"),
        "-o",
        str(tmp_path / "p.jsonl"),
        "--parameters",
        '{"method": "predict_proba"}',
        "--json",
    )
    assert result.code == 0, result.err
    outcome = json.loads(result.out)
    assert outcome["model"] == "churn@1"
    assert outcome["rows"] == ROWS
    assert (outcome["input_format"], outcome["output_format"]) == ("parquet", "jsonl")
    assert outcome["column"] == "predictions"
    first = json.loads((tmp_path / "p.jsonl").read_text().splitlines()[0])
    assert len(first["predictions"]) == 2


def test_format_option_for_an_unknown_extension(cli, uploaded, tmp_path):
    root, _, expected = uploaded
    (tmp_path / "rows.txt").write_bytes((root / "rows.csv").read_bytes())
    result = cli(
        "models",
        "predict",
        "churn",
        "--input",
        str(tmp_path / "rows.txt"),
        "--output",
        str(tmp_path / "out.parquet"),
        "--format",
        "csv",
    )
    assert result.code == 0, result.err
    assert pd.read_parquet(tmp_path / "out.parquet")["prediction"].tolist() == expected.tolist()
    result = cli(
        "models", "predict", "churn", "-i", str(tmp_path / "rows.txt"), "-o", str(tmp_path / "o")
    )
    assert result.code == 2
    assert "cannot tell the format of the input" in result.err
    assert "--format" in result.err


def test_unknown_model_and_alias_exit_2(cli, uploaded, tmp_path):
    root, _, _ = uploaded
    source = str(root / "rows.csv")
    result = cli("models", "predict", "fraud", "-i", source, "-o", str(tmp_path / "o.csv"))
    assert result.code == 2
    assert "error: no model 'fraud' in the registry" in result.err
    result = cli("models", "predict", "churn@staging", "-i", source, "-o", str(tmp_path / "o.csv"))
    assert result.code == 2
    assert "error: no version of model 'churn' holds alias 'staging'" in result.err
    result = cli("models", "predict", "churn@", "-i", source, "-o", str(tmp_path / "o.csv"))
    assert result.code == 2
    assert not (tmp_path / "o.csv").exists()


def test_unreadable_input_exits_2(cli, uploaded, tmp_path):
    missing = tmp_path / "missing.csv"
    result = cli("models", "predict", "churn", "-i", str(missing), "-o", str(tmp_path / "o.csv"))
    assert result.code == 2
    assert f"error: cannot read the input {missing}: it does not exist" in result.err
    (tmp_path / "bad.parquet").write_text("not parquet")
    result = cli(
        "models",
        "predict",
        "churn",
        "-i",
        str(tmp_path / "bad.parquet"),
        "-o",
        str(tmp_path / "o.csv"),
    )
    assert result.code == 2
    assert "as parquet" in result.err
    assert not (tmp_path / "o.csv").exists()


def test_missing_feature_column_is_named(cli, uploaded, tmp_path):
    _, frame, _ = uploaded
    frame.drop(columns=["visits"]).to_csv(tmp_path / "partial.csv", index=False)
    result = cli(
        "models",
        "predict",
        "churn",
        "-i",
        str(tmp_path / "partial.csv"),
        "-o",
        str(tmp_path / "o.csv"),
    )
    assert result.code == 2
    assert "has no column 'visits', which the model takes; it takes: tenure, spend, visits" in (
        " ".join(result.err.split())
    )
    assert not (tmp_path / "o.csv").exists()


def test_bad_options_exit_2(cli, uploaded, tmp_path):
    root, _, _ = uploaded
    source = str(root / "rows.csv")
    result = cli("models", "predict", "churn", "-i", source, "-o", "o.csv", "--parameters", "{x")
    assert (result.code, "--parameters is not valid JSON" in result.err) == (2, True)
    result = cli("models", "predict", "churn", "-i", source, "-o", "o.csv", "--batch-size", "0")
    assert result.code == 2
    result = cli("models", "predict", "churn", "-i", source)
    assert result.code == 2
    assert "--output" in result.err


def test_help_has_an_example(cli):
    result = cli("models", "predict", "--help")
    assert result.code == 0
    text = " ".join(result.out.split()).replace("│", "")
    assert "Example: conveyor models predict churn@production --input" in " ".join(text.split())


def test_every_option_is_documented():
    from pathlib import Path

    import typer

    from conveyor.cli.main import app

    doc = (Path(__file__).parents[2] / "docs" / "batch.md").read_text()
    command = typer.main.get_command(app).get_command(None, "models").commands["predict"]
    for param in command.params:
        for option in param.opts:
            if option.startswith("--") and option != "--help":
                assert f"`{option}" in doc, option
