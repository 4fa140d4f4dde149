"""batch_predict: a Dataset (Parquet, or a folder of CSV files) through a registered version,
ids passing through; the version used is the one the alias named; a missing feature fails."""

import pandas as pd
from component_runs import run_failed, run_ok
from handover_support import features, register, train_folder
from kfp import dsl

from conveyor.client import Client
from conveyor.components import batch_predict
from conveyor.components._lib import models


@dsl.pipeline
def score(data: str, model: str) -> str:
    rows = dsl.importer(artifact_uri=data, artifact_class=dsl.Dataset, reimport=False)
    return batch_predict(examples=rows.output, model=model, batch_size=100).outputs["model_version"]


def test_batch_prediction_of_a_folder_of_csv_files(tmp_path, cancer):
    client = Client()
    folder = train_folder(cancer, tmp_path / "model")
    register(client, folder)
    rows = cancer.assign(patient=[f"p{i}" for i in range(len(cancer))])
    (tmp_path / "rows").mkdir()
    rows.iloc[:300].to_csv(tmp_path / "rows" / "a.csv", index=False)
    rows.iloc[300:].to_csv(tmp_path / "rows" / "b.csv", index=False)

    run = run_ok(score, {"data": str(tmp_path / "rows"), "model": "cancer@production"})
    assert run.outputs["Output"] == "cancer@1"
    execution = next(
        e for e in client.get_run(run.run_id).executions if e.task_key == "batch-predict"
    )
    (predictions,) = execution.outputs["predictions"]
    assert predictions.metadata["rows"] == len(cancer)
    scored = pd.read_parquet(predictions.uri)
    assert list(scored.columns) == [*rows.columns, "prediction"]
    assert scored["patient"].tolist() == rows["patient"].tolist()
    expected = models.load(folder).predict(features(cancer)).tolist()
    assert scored["prediction"].tolist() == expected


def test_a_dataset_without_a_feature_fails(tmp_path, cancer):
    client = Client()
    register(client, train_folder(cancer, tmp_path / "model"))
    cancer.drop(columns=["site"]).to_parquet(tmp_path / "rows.parquet")
    run = run_failed(score, {"data": str(tmp_path / "rows.parquet"), "model": "cancer"})
    assert "no column 'site', which the model takes" in run.error
