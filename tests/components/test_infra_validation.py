"""infra_validate: a model that loads and answers canary requests is blessed; a model
changed after its task published it, or one that cannot load, is not, and fails the task
unless told otherwise."""

import pytest
from component_runs import run_failed, run_ok, write_parquet
from handover_support import train_folder
from kfp import dsl
from kfp.dsl import Input, Model

from conveyor.components import infra_validate, split_data, train_model
from conveyor.components._lib import canary
from conveyor.components._lib.errors import ComponentError


@dsl.component
def tamper(model: Input[Model]):
    """Change the published model's file in place, as a disk error or a person might."""
    import os

    with open(os.path.join(model.path, "model.skops"), "ab") as f:
        f.write(b"\0")


@dsl.pipeline
def corrupted(data: str):
    rows = dsl.importer(artifact_uri=data, artifact_class=dsl.Dataset, reimport=False)
    parts = split_data(examples=rows.output)
    trained = train_model(
        train_data=parts.outputs["train_data"],
        label_column="malignant",
        estimator="LogisticRegression",
        feature_columns=["radius", "texture", "perimeter", "area", "smoothness"],
        hyperparameters={"max_iter": 500},
    )
    before = infra_validate(model=trained.outputs["model"], examples=parts.outputs["eval_data"])
    changed = tamper(model=trained.outputs["model"]).after(before)
    lenient = infra_validate(
        model=trained.outputs["model"], examples=parts.outputs["eval_data"], fail_on_error=False
    ).after(changed)
    infra_validate(model=trained.outputs["model"], examples=parts.outputs["eval_data"]).after(
        lenient
    )


def test_a_model_changed_after_publishing_fails_infra_validation(tmp_path, cancer):
    data = write_parquet(cancer, tmp_path / "cancer.parquet")
    run = run_failed(corrupted, {"data": data})
    assert run.task("infra-validate").status == "SUCCEEDED"
    assert "INFRA BLESSED" in run.task("infra-validate").log_path.read_text()
    lenient = run.task("infra-validate-2")
    assert lenient.status == "SUCCEEDED"
    assert "NOT INFRA BLESSED: ChecksumMismatch" in lenient.log_path.read_text()
    assert run.task("infra-validate-3").status == "FAILED"
    assert "infra validation failed: ChecksumMismatch" in run.error
    assert "does not match the sha256 recorded when its task published it" in run.error


def test_canaries_from_complete_rows(tmp_path, cancer):
    folder = train_folder(cancer, tmp_path / "model")
    rows = cancer.copy()
    rows.loc[: len(rows) - 3, "site"] = None  # two complete rows left
    examples = write_parquet(rows, tmp_path / "rows.parquet")
    document = canary.validate(str(folder), None, examples, num_requests=3, rows_per_request=4)
    assert document["blessed"] is True, document["reason"]
    assert document["rows"] == 2
    assert [r["rows"] for r in document["requests"]] == [2]
    assert document["trusted"] is True  # the imputer's numpy.dtype: skops asks for trust


def test_a_model_that_cannot_load_is_not_blessed(tmp_path, cancer):
    folder = train_folder(cancer, tmp_path / "model")
    (folder / "model.skops").write_bytes(b"not a zip file")
    examples = write_parquet(cancer, tmp_path / "rows.parquet")
    document = canary.validate(str(folder), None, examples, 1, 1)
    assert document["blessed"] is False
    assert "model.skops" in document["reason"]


def test_canaries_need_the_model_features(tmp_path, cancer):
    folder = train_folder(cancer, tmp_path / "model")
    examples = write_parquet(cancer.drop(columns=["site"]), tmp_path / "rows.parquet")
    document = canary.validate(str(folder), None, examples, 1, 1)
    assert document["blessed"] is False
    assert "the examples lack the model's features site" in document["reason"]
    with pytest.raises(ComponentError, match="at least 1"):
        canary.validate(str(folder), None, examples, 0, 1)
    empty = write_parquet(cancer.assign(site=None), tmp_path / "empty.parquet")
    assert "no row of the examples" in canary.validate(str(folder), None, empty, 1, 1)["reason"]


def test_a_good_model_in_a_pipeline_is_blessed(tmp_path, cancer):
    """A random forest, whose trees skops loads only when trusted, passes in a pipeline."""
    data = write_parquet(cancer, tmp_path / "cancer.parquet")

    @dsl.pipeline
    def good(data: str) -> bool:
        rows = dsl.importer(artifact_uri=data, artifact_class=dsl.Dataset, reimport=False)
        trained = train_model(
            train_data=rows.output,
            label_column="malignant",
            estimator="RandomForestClassifier",
            hyperparameters={"n_estimators": 10},
            feature_columns=["radius", "texture", "perimeter", "area", "smoothness"],
        )
        return infra_validate(model=trained.outputs["model"], examples=rows.output).outputs[
            "blessed"
        ]

    assert run_ok(good, {"data": data}).outputs["Output"] is True
