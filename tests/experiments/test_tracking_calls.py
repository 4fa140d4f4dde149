"""`conveyor.init`, `start_run`, the `log_*` calls and `get_experiment_df`: Vertex AI's
calls on Conveyor's home."""

import pytest
from sklearn.linear_model import LogisticRegression

import conveyor
from conveyor.client import Client
from conveyor.errors import UsageError
from conveyor.experiments import ExperimentConflict, ExperimentRunState
from conveyor.store.metadata.mlmd_tables import ATTRIBUTIONS
from conveyor.tracking import _TRACKING


@pytest.fixture(autouse=True)
def fresh_tracking():
    """Each test starts with no current client, experiment or run, and leaves none."""
    _TRACKING.close()
    yield
    _TRACKING.close()


def test_calls_need_an_experiment_and_a_run():
    with pytest.raises(UsageError, match=r"call conveyor.init\(experiment=NAME\) first"):
        conveyor.start_run("r1")
    conveyor.init(experiment="churn")
    with pytest.raises(UsageError, match=r"call conveyor.start_run\(NAME\) first"):
        conveyor.log_metrics({"acc": 1.0})


def test_a_run_in_a_block_ends_complete_or_failed():
    conveyor.init(experiment="churn", description="tree models")
    with conveyor.start_run("good") as run:
        conveyor.log_params({"max_depth": 4, "criterion": "gini"})
        assert [conveyor.log_time_series_metrics({"loss": v}) for v in (0.9, 0.5, 0.3)] == [1, 2, 3]
        conveyor.log_metrics({"accuracy": 0.91})
        conveyor.log_classification_metrics(["a", "b"], [[3, 1], [0, 4]])
        assert run.get_state() == ExperimentRunState.RUNNING
    assert run.get_state() == ExperimentRunState.COMPLETE
    with pytest.raises(RuntimeError), conveyor.start_run("bad"):
        raise RuntimeError("training diverged")
    with Client() as client:
        assert client.experiments.get("churn").description == "tree models"
        assert client.experiments.get_run("churn", "bad").state == ExperimentRunState.FAILED
    with pytest.raises(UsageError, match="no run is started"):
        conveyor.log_metrics({"late": 1.0})  # the block's run is no longer current
    frame = conveyor.get_experiment_df()
    assert list(frame["run_name"]) == ["good", "bad"]
    good = frame.iloc[0]
    assert good["param.max_depth"] == 4 and good["param.criterion"] == "gini"
    assert good["metric.accuracy"] == 0.91 and good["time_series_metric.loss"] == 0.3


def test_end_run_and_resume():
    conveyor.init(experiment="churn")
    conveyor.start_run("r1")
    conveyor.log_metrics({"acc": 0.5})
    conveyor.end_run("cancelled")
    with pytest.raises(UsageError, match="no run is started"):
        conveyor.log_metrics({"acc": 0.6})
    run = conveyor.start_run("r1", resume=True)
    conveyor.log_metrics({"acc": 0.6})
    conveyor.end_run()
    assert run.get().metrics == {"acc": 0.6} and run.get_state() == "COMPLETE"
    with pytest.raises(ExperimentConflict, match="has ended"):
        run.log_metrics({"acc": 0.7})


def test_log_model_registers_a_version_linked_to_the_run():
    conveyor.init(experiment="churn")
    fitted = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    with conveyor.start_run("with-model"):
        version = conveyor.log_model(fitted, "churn-model", aliases=["candidate"])
    assert version.reference == "churn-model@1" and version.framework == "sklearn"
    with Client() as client:
        assert client.get_model_version("churn-model@candidate").version_id == 1
        home = client.home
        run = home.experiments.get_run("churn", "with-model")
        with home.store.transaction() as conn:
            linked = {row.artifact_id for row in conn.execute(ATTRIBUTIONS.select())}
        assert version.artifact_id in linked
        assert run.state == "COMPLETE"
        loaded = client.load_model(version.artifact_uri, framework="sklearn")
        assert loaded.predict([[3.0]]) == [1]


def test_log_model_refuses_what_it_cannot_save():
    conveyor.init(experiment="churn")
    conveyor.start_run("odd")
    with pytest.raises(UsageError, match="log_model saves scikit-learn, XGBoost and LightGBM"):
        conveyor.log_model(object(), "odd-model")
    with pytest.raises(UsageError, match="needs its framework"):
        conveyor.log_model("some/folder", "odd-model")
