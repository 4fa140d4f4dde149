"""MLflow pointed at a Conveyor home (`conveyor.experiments.mlflow_store`): real mlflow code
(the fluent API, `MlflowClient`, `mlflow.sklearn.autolog()` around a real fit) writes into
Conveyor's experiments, and reads them back; the class `TestOnEachStore` runs on SQLite and
on PostgreSQL."""

import contextlib
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking._tracking_service import utils as tracking_utils
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from conveyor.experiments import ExperimentRunState
from conveyor.experiments.mlflow_store import ConveyorTrackingStore
from conveyor.home import open_home


@contextlib.contextmanager
def pointed_at(uri, monkeypatch):
    """MLflow's tracking URI set to `uri` for the block, with MLflow's global state (the
    active experiment and runs, its cached stores) put back afterwards."""
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
    mlflow.set_tracking_uri(uri)
    try:
        yield uri
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        registry = tracking_utils._tracking_store_registry
        for store in _cached_stores():
            store.close()
        registry._get_store_with_resolved_uri.cache_clear()
        mlflow.set_tracking_uri(None)


def _cached_stores():
    # The registry caches one store per URI; a test's home (and its database) goes with it.
    found = []
    with contextlib.suppress(Exception):
        found.append(tracking_utils._get_store())
    return [store for store in found if isinstance(store, ConveyorTrackingStore)]


@pytest.fixture
def tracking(home, monkeypatch):
    """MLflow writing into this test's home (`home`, SQLite)."""
    with pointed_at(f"conveyor+file://{home}", monkeypatch) as uri:
        yield uri


def code_of(error: MlflowException) -> str:
    return error.value.error_code


def log_three_runs():
    """Runs a, b, c of experiment `churn`: params, metrics by step, tags."""
    mlflow.set_experiment("churn")
    for name, model, losses in [
        ("a", "tree", [0.9, 0.5, 0.4]),
        ("b", "tree", [0.8, 0.3, 0.2]),
        ("c", "boost", [0.7, 0.1, 0.05]),
    ]:
        with mlflow.start_run(run_name=name):
            mlflow.log_params({"model": model, "depth": 4})
            for step, loss in enumerate(losses):
                mlflow.log_metric("loss", loss, step=step)
            mlflow.log_metric("accuracy", 1 - losses[-1])
            mlflow.set_tags({"team": "growth", "stage": name})


class TestOnEachStore:
    @pytest.fixture
    def tracking(self, store_url, home, monkeypatch):
        """MLflow writing into this test's home, whose metadata is in `store_url`."""
        monkeypatch.setenv("CONVEYOR_METADATA_URL", store_url)
        with pointed_at(f"conveyor+file://{home}", monkeypatch) as uri:
            yield uri

    def test_a_fluent_run_lands_in_the_experiment(self, tracking, home, tmp_path):
        mlflow.set_experiment("churn")
        with mlflow.start_run(run_name="depth-4") as run:
            mlflow.log_param("depth", 4)
            mlflow.log_params({"model": "tree", "lr": 0.1})
            for step, loss in enumerate([0.9, 0.5, 0.25]):
                mlflow.log_metric("loss", loss, step=step)
            mlflow.log_metrics({"accuracy": 0.91, "f1": 0.88})
            mlflow.set_tag("team", "growth")
            mlflow.set_tags({"stage": "try"})
            notes = tmp_path / "notes.txt"
            notes.write_text("tree models")
            mlflow.log_artifact(str(notes))
        run_id = run.info.run_id

        with open_home(home) as opened:
            experiments = opened.experiments
            logged = experiments.get_run("churn", "depth-4")
            series = experiments.time_series("churn", "depth-4", ["loss"])["loss"]
            experiment_id = experiments.experiment_ids()["churn"]
            root = Path(opened.artifacts.uri_for("experiments"))
        assert logged.state == ExperimentRunState.COMPLETE
        assert logged.params == {"depth": "4", "model": "tree", "lr": "0.1"}
        assert logged.metrics == {"loss": 0.25, "accuracy": 0.91, "f1": 0.88}
        assert [(p.step, p.value) for p in series] == [(0, 0.9), (1, 0.5), (2, 0.25)]
        assert logged.labels["team"] == "growth" and logged.labels["stage"] == "try"
        assert logged.labels["mlflow.runName"] == "depth-4"

        client = MlflowClient()
        got = client.get_run(run_id)
        assert run_id.split("-")[0] == str(experiments.run_id("churn", "depth-4"))
        assert got.info.experiment_id == str(experiment_id)
        assert (got.info.status, got.info.run_name) == ("FINISHED", "depth-4")
        assert got.info.end_time >= got.info.start_time
        assert got.data.metrics == {"loss": 0.25, "accuracy": 0.91, "f1": 0.88}
        assert got.data.params == {"depth": "4", "model": "tree", "lr": "0.1"}
        assert got.data.tags["team"] == "growth"
        history = client.get_metric_history(run_id, "loss")
        assert [(m.step, m.value) for m in history] == [(0, 0.9), (1, 0.5), (2, 0.25)]
        assert all(m.timestamp >= got.info.start_time for m in history)
        artifact = Path(got.info.artifact_uri) / "notes.txt"
        assert artifact.read_text() == "tree models"
        assert artifact.is_relative_to(root)

    def test_search_runs_filters_orders_and_pages(self, tracking):
        log_three_runs()
        found = mlflow.search_runs(
            filter_string="params.model = 'tree' and metrics.loss < 0.5",
            order_by=["metrics.accuracy DESC"],
        )
        assert list(found["tags.mlflow.runName"]) == ["b", "a"]
        assert list(found["metrics.loss"]) == [0.2, 0.4]
        assert list(found["params.depth"]) == ["4", "4"]

        client = MlflowClient()
        experiment_id = mlflow.get_experiment_by_name("churn").experiment_id
        names, token = [], None
        while True:
            page = client.search_runs(
                [experiment_id],
                "tags.team = 'growth'",
                order_by=["metrics.loss ASC"],
                max_results=2,
                page_token=token,
            )
            names.append([run.info.run_name for run in page])
            token = page.token
            if not token:
                break
        assert names == [["c", "b"], ["a"]]

    def test_a_changed_param_is_refused_and_a_batch_is_all_or_nothing(self, tracking, home):
        mlflow.set_experiment("churn")
        with mlflow.start_run(run_name="r1") as run:
            mlflow.log_param("lr", 0.1)
            mlflow.log_param("lr", 0.1)  # the same value again: fine
            with pytest.raises(MlflowException, match="'lr'.*already") as refused:
                mlflow.log_param("lr", 0.2)
            assert code_of(refused) == "INVALID_PARAMETER_VALUE"
            client = MlflowClient()
            with pytest.raises(MlflowException) as refused:
                client.log_batch(
                    run.info.run_id,
                    metrics=[Metric("loss", 0.5, 1_700_000_000_123, 3)],
                    params=[Param("lr", "0.3"), Param("depth", "4")],
                    tags=[RunTag("team", "growth")],
                )
            assert code_of(refused) == "INVALID_PARAMETER_VALUE"
            assert client.get_metric_history(run.info.run_id, "loss") == []
            client.log_batch(
                run.info.run_id,
                metrics=[Metric("loss", 0.5, 1_700_000_000_123, 3)],
                params=[Param("depth", "4")],
            )
            history = client.get_metric_history(run.info.run_id, "loss")
            assert [(m.timestamp, m.step, m.value) for m in history] == [
                (1_700_000_000_123, 3, 0.5)
            ]
        with open_home(home) as opened:
            logged = opened.experiments.get_run("churn", "r1")
        assert logged.params == {"lr": "0.1", "depth": "4"}
        assert "team" not in logged.labels


def test_autolog_records_a_real_fit_and_its_model(tracking, home):
    mlflow.sklearn.autolog()
    try:
        features, labels = load_iris(return_X_y=True)
        mlflow.set_experiment("iris")
        with mlflow.start_run(run_name="logistic") as run:
            model = LogisticRegression(max_iter=300, C=0.5).fit(features, labels)
    finally:
        mlflow.sklearn.autolog(disable=True)
    client = MlflowClient()
    got = client.get_run(run.info.run_id)
    assert got.data.params["C"] == "0.5" and got.data.params["max_iter"] == "300"
    assert got.data.metrics["training_accuracy_score"] == pytest.approx(
        model.score(features, labels)
    )
    assert got.data.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert len(client.get_metric_history(run.info.run_id, "training_accuracy_score")) == 1
    assert [d.tags[0].value for d in got.inputs.dataset_inputs] == ["train"]

    [output] = got.outputs.model_outputs
    logged = mlflow.get_logged_model(output.model_id)
    assert (logged.status, logged.source_run_id) == ("READY", run.info.run_id)
    assert logged.params["C"] == "0.5"
    assert {m.key for m in logged.metrics} >= {"training_accuracy_score"}
    folder = Path(logged.artifact_location)
    assert (folder / "MLmodel").is_file() and (folder / "model.pkl").is_file()
    loaded = mlflow.sklearn.load_model(f"models:/{output.model_id}")
    assert (loaded.predict(features) == model.predict(features)).all()
    assert [m.model_id for m in mlflow.search_logged_models(output_format="list")] == [
        output.model_id
    ]

    with open_home(home) as opened:
        root = Path(opened.artifacts.uri_for("experiments"))
        conveyor_run = opened.experiments.get_run("iris", "logistic")
    assert folder.is_relative_to(root)
    assert conveyor_run.params["C"] == "0.5"
    assert conveyor_run.metrics["training_accuracy_score"] == pytest.approx(
        model.score(features, labels)
    )
    assert conveyor_run.labels["estimator_name"] == "LogisticRegression"


def test_log_model_links_the_run_metrics_without_repeating_them(tracking):
    features, labels = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=300).fit(features, labels)
    mlflow.set_experiment("iris")
    with mlflow.start_run() as run:
        mlflow.log_metric("accuracy", 0.97)
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
    client = MlflowClient()
    assert [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "accuracy")] == [
        (0, 0.97)
    ]
    logged = mlflow.get_logged_model(info.model_id)
    assert [(m.key, m.value, m.run_id) for m in logged.metrics] == [
        ("accuracy", 0.97, run.info.run_id)
    ]
    assert logged.artifact_location.endswith(f"/mlflow-models/{info.model_id}")


def test_run_names_are_made_valid_and_unique(tracking, home):
    mlflow.set_experiment("churn")
    ids = []
    for _ in range(2):
        with mlflow.start_run(run_name="my run") as run:
            ids.append(run.info.run_id)
    with mlflow.start_run() as generated:
        pass
    client = MlflowClient()
    assert [client.get_run(i).info.run_name for i in ids] == ["my run", "my run"]
    with open_home(home) as opened:
        runs = {r.run_name: r for r in opened.experiments.list_runs("churn")}
    assert runs["my-run"].labels["mlflow.runName"] == "my run"
    assert runs["my-run-2"].labels["mlflow.runName"] == "my run"
    made = generated.info.run_name
    assert runs[made].labels["mlflow.runName"] == made


def test_the_default_experiment_is_made_on_first_use(tracking, home):
    with mlflow.start_run() as run:
        mlflow.log_metric("x", 1.0)
    assert run.info.experiment_id == "0"
    assert mlflow.get_experiment("0").name == "Default"
    assert mlflow.get_experiment_by_name("Default").experiment_id == "0"
    with open_home(home) as opened:
        [only] = opened.experiments.list_runs("Default")
    assert only.metrics == {"x": 1.0}
    assert mlflow.search_runs(experiment_ids=["0"])["metrics.x"].tolist() == [1.0]


def test_conveyor_runs_read_through_mlflow(tracking, home):
    with open_home(home) as opened:
        experiments = opened.experiments
        experiments.create("native", description="logged by Conveyor")
        experiments.start_run("native", "r1", labels={"team": "growth"})
        experiments.log_params("native", "r1", {"depth": 4, "bagging": True})
        experiments.log_metrics("native", "r1", {"auc": 0.8})
        experiments.log_time_series_metrics("native", "r1", {"loss": 0.5}, step=7)
        experiments.end_run("native", "r1", "FAILED")
    experiment = mlflow.get_experiment_by_name("native")
    assert experiment.tags == {"mlflow.note.content": "logged by Conveyor"}
    [run] = MlflowClient().search_runs([experiment.experiment_id])
    assert (run.info.run_name, run.info.status) == ("r1", "FAILED")
    assert run.data.params == {"depth": "4", "bagging": "True"}
    assert run.data.metrics == {"auc": 0.8, "loss": 0.5}
    assert run.data.tags["team"] == "growth"


def test_statuses_map_to_states_and_an_ended_run_resumes(tracking, home):
    mlflow.set_experiment("churn")
    client = MlflowClient()
    with mlflow.start_run(run_name="r1") as run:
        pass
    run_id = run.info.run_id
    with pytest.raises(MlflowException, match="has ended") as refused:
        client.log_metric(run_id, "late", 1.0)
    assert code_of(refused) == "INVALID_STATE"
    with mlflow.start_run(run_id=run_id):  # resumes the ended run
        mlflow.log_metric("late", 1.0)
    client.set_terminated(run_id, "KILLED")
    client.set_terminated(run_id, "KILLED")  # already so: nothing to do
    with open_home(home) as opened:
        assert opened.experiments.get_run("churn", "r1").state == ExperimentRunState.CANCELLED
    client.update_run(run_id, status="FAILED", name="renamed")
    got = client.get_run(run_id)
    assert (got.info.status, got.info.run_name) == ("FAILED", "renamed")
    with pytest.raises(MlflowException, match="SCHEDULED") as refused:
        client.update_run(run_id, status="SCHEDULED")
    assert code_of(refused) == "INVALID_PARAMETER_VALUE"


def test_errors_carry_mlflow_codes(tracking):
    client = MlflowClient()
    stale = client.create_run(client.create_experiment("other")).info.run_id
    number, stamp = stale.split("-")
    for missing in ("999999", "not-an-id", f"{number}-{stamp}0", f"{int(number) + 1}-{stamp}"):
        with pytest.raises(MlflowException) as refused:
            client.get_run(missing)
        assert code_of(refused) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as refused:
        client.get_experiment("424242")
    assert code_of(refused) == "RESOURCE_DOES_NOT_EXIST"
    client.create_experiment("churn")
    with pytest.raises(MlflowException, match="exists already") as refused:
        client.create_experiment("churn")
    assert code_of(refused) == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException, match="name") as refused:
        client.create_experiment("has space")
    assert code_of(refused) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException, match="artifact_location") as refused:
        client.create_experiment("elsewhere", artifact_location="/tmp/elsewhere")
    assert code_of(refused) == "INVALID_PARAMETER_VALUE"
    experiment_id = mlflow.get_experiment_by_name("churn").experiment_id
    with pytest.raises(MlflowException, match="does not support renaming") as refused:
        client.rename_experiment(experiment_id, "other")
    assert code_of(refused) == "NOT_IMPLEMENTED"
    run = client.create_run(experiment_id)
    client.delete_run(run.info.run_id)
    with pytest.raises(MlflowException) as refused:
        client.get_run(run.info.run_id)
    assert code_of(refused) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException, match="does not support restoring") as refused:
        client.restore_run(run.info.run_id)
    assert code_of(refused) == "NOT_IMPLEMENTED"
    client.delete_experiment(experiment_id)
    assert mlflow.get_experiment_by_name("churn") is None


def test_tracking_uris_name_homes_and_environments(home, tmp_path, monkeypatch):
    (tmp_path / "conveyor.toml").write_text(
        '[env.staging]\nhome = "staging-home"\n\n[env.remote]\nserver_url = "https://c.example"\n'
    )
    monkeypatch.setenv("CONVEYOR_CONFIG", str(tmp_path / "conveyor.toml"))
    for uri, where in [
        ("conveyor://", home),
        ("conveyor://?env=staging", tmp_path / "staging-home"),
    ]:
        with pointed_at(uri, monkeypatch):
            mlflow.set_experiment("churn")
            with mlflow.start_run(run_name="r1"):
                mlflow.log_metric("loss", 0.5, step=1)
        with open_home(where) as opened:
            assert opened.experiments.get_run("churn", "r1").metrics == {"loss": 0.5}

    for bad in [
        "conveyor://host",
        "conveyor://?other=1",
        "conveyor://?env=a&env=b",
        "conveyor+file:relative/home",
        "conveyor+file://host/abs",
        "conveyor://?env=nowhere",
        "conveyor://?env=remote",
    ]:
        with pytest.raises(MlflowException) as refused:
            ConveyorTrackingStore(bad)
        assert code_of(refused) == "INVALID_PARAMETER_VALUE", bad
    with pytest.raises(MlflowException, match="artifact root"):
        ConveyorTrackingStore(f"conveyor+file://{home}", artifact_uri="/tmp/mlartifacts")


def test_metric_values_keep_nan_and_numpy_steps(tracking):
    mlflow.set_experiment("churn")
    with mlflow.start_run() as run:
        mlflow.log_metric("loss", float("nan"), step=np.int64(2))
        mlflow.log_metric("loss", float("inf"), step=3)
    history = MlflowClient().get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == [2, 3]
    assert np.isnan(history[0].value) and history[1].value == float("inf")
    assert MlflowClient().get_run(run.info.run_id).data.metrics == {"loss": float("inf")}
