"""Experiment tracking in remote mode, against a real `conveyor serve` with API tokens:
`conveyor.init(env=...)` and a remote `Client` log over `/api/v1/experiments`, and read
back the same records, the same DataFrame and the same errors as the embedded client on the
server's home; NaN and the infinities come back as floats; `read` cannot log, `track`
cannot delete."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import conveyor
from conveyor.client import Client
from conveyor.config import Settings
from conveyor.experiments import (
    ExperimentConflict,
    ExperimentNotFound,
    ExperimentRunNotFound,
    ExperimentRunState,
    ExperimentUsageError,
)
from conveyor.home import open_home
from conveyor.remote import PermissionDenied, RemoteHome, RemoteUnsupported
from conveyor.remote.experiments import RemoteExperiments
from conveyor.tracking import _TRACKING
from remote_support import TOKEN_VARIABLE, conveyor_serve, write_config

TOKENS = {"read": "r-token-7", "track": "t-token-7", "admin": "a-token-7"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`conveyor serve` over a home holding experiment `baseline` (run `majority`, ended);
    its URL and home folder."""
    root = tmp_path_factory.mktemp("remote-experiments")
    folder = root / "server-home"
    with open_home(settings=Settings.from_env(folder, environ={})) as home:
        home.experiments.create("baseline", description="what to beat")
        home.experiments.start_run("baseline", "majority")
        home.experiments.log_metrics("baseline", "majority", {"accuracy": 0.73})
        home.experiments.end_run("baseline", "majority")
    tokens = {role: (token, f"{role}er") for role, token in TOKENS.items()}
    with conveyor_serve(folder, tokens, root) as url:
        yield url, folder


@pytest.fixture
def staging(served, tmp_path, monkeypatch):
    """A conveyor.toml whose `staging` is the server, with `set_token(role)` choosing the
    token its variable holds (track to begin with); the server's home folder."""
    url, folder = served
    monkeypatch.setenv("CONVEYOR_CONFIG", str(write_config(tmp_path, url)))
    monkeypatch.setenv(TOKEN_VARIABLE, TOKENS["track"])
    _TRACKING.close()
    yield folder, lambda role: monkeypatch.setenv(TOKEN_VARIABLE, TOKENS[role])
    _TRACKING.close()


@pytest.fixture
def clients(staging):
    """(remote, embedded): the server's home over REST (token `track`), and opened here."""
    folder, _ = staging
    with Client(env="staging") as remote, Client(folder) as embedded:
        yield remote, embedded


def caught(call, *args, **kwargs) -> Exception:
    try:
        call(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 (the test compares what each side raised)
        return exc
    raise AssertionError(f"{call.__name__} raised nothing")


def test_tracked_over_rest_reads_as_embedded(clients):
    remote, embedded = clients
    assert isinstance(remote.home, RemoteHome)
    assert isinstance(remote.experiments, RemoteExperiments)
    conveyor.init(experiment="churn", description="trees against boosting", env="staging")
    with conveyor.start_run("depth-4", labels={"team": "churn"}) as run:
        conveyor.log_params({"max_depth": 4, "model": "tree", "scaled": True})
        for epoch in range(3):
            assert conveyor.log_time_series_metrics({"loss": 1 / (epoch + 1)}) == epoch + 1
        conveyor.log_metrics({"accuracy": np.float64(0.91), "f1": 0.88})
        logged = conveyor.log_classification_metrics(
            labels=["stays", "churns"],
            matrix=[[40, 3], [5, 12]],
            fpr=[0, 0.1, 1],
            tpr=[0, 0.8, 1],
            threshold=[1, 0.5, 0],
        )
        assert run.get_state() == ExperimentRunState.RUNNING
    assert run.get_state() == ExperimentRunState.COMPLETE
    experiments = remote.experiments
    experiments.start_run("churn", "depth-8", labels={"team": "churn"})
    experiments.log_params("churn", "depth-8", {"max_depth": 8, "model": "boost"})
    points = [("val_loss", 0.5, 1, 1767225600.0), ("val_loss", 0.4, 2, 1767225660.0)]
    experiments.log_points("churn", "depth-8", points, as_summary=True)
    experiments.log_time_series_metrics("churn", "depth-8", {"lr": 0.1}, step=np.int64(7))
    experiments.set_labels("churn", "depth-8", {"stage": "tuning"})
    ended = experiments.end_run("churn", "depth-8", "failed")
    assert ended.state == ExperimentRunState.FAILED

    pd.testing.assert_frame_equal(
        remote.get_experiment_df("churn"), embedded.get_experiment_df("churn")
    )
    pd.testing.assert_frame_equal(conveyor.get_experiment_df(), embedded.get_experiment_df("churn"))
    both = ["churn", "baseline"]
    pd.testing.assert_frame_equal(remote.get_experiment_df(both), embedded.get_experiment_df(both))
    mine, theirs = remote.experiments, embedded.experiments
    assert mine.list() == theirs.list()
    assert mine.get("churn") == theirs.get("churn")
    assert mine.get("churn").description == "trees against boosting"
    for name in ("depth-4", "depth-8"):
        assert mine.get_run("churn", name) == theirs.get_run("churn", name)
        assert mine.time_series("churn", name) == theirs.time_series("churn", name)
    assert mine.list_runs("churn") == theirs.list_runs("churn")
    assert mine.list_runs(both) == theirs.list_runs(both)
    some = {"keys": ["loss"], "first_step": 2, "last_step": 3}
    assert mine.time_series("churn", "depth-4", **some) == theirs.time_series(
        "churn", "depth-4", **some
    )
    assert [p.step for p in mine.time_series("churn", "depth-4", **some)["loss"]] == [2, 3]
    assert mine.classification_metrics("churn", "depth-4") == [logged]
    assert theirs.classification_metrics("churn", "depth-4") == [logged]
    assert mine.get_run("churn", "depth-8").metrics == {"val_loss": 0.4}
    assert mine.get_run("churn", "depth-8").labels == {"team": "churn", "stage": "tuning"}

    for search in [
        {},
        {"filter": 'param.model = "tree"'},
        {"order_by": ["metric.accuracy DESC", "run_name"], "page_size": 1},
        {"order_by": "start_time", "columns": ["metric.*", "state"]},
        {"columns": []},
        {"columns": ["metric.`a,b`"]},
    ]:
        for experiment in ("churn", both):
            token = None
            while True:
                page = mine.search_runs(experiment, page_token=token, **search)
                assert page == theirs.search_runs(experiment, page_token=token, **search)
                token = page.next_page_token
                if token is None:
                    break


def test_nan_and_infinities_come_back_as_floats(clients):
    remote, embedded = clients
    experiments = remote.experiments
    experiments.create("odd", exist_ok=True)
    experiments.start_run("odd", "r")
    metrics = {"nan": math.nan, "up": np.float32("inf"), "down": -math.inf, "n": np.int64(3)}
    experiments.log_metrics("odd", "r", metrics)
    experiments.log_time_series_metrics("odd", "r", {"loss": math.nan}, step=1)
    experiments.log_points("odd", "r", [("grad", math.inf, 1, 0.0)])
    experiments.log_classification_metrics("odd", "r", fpr=[math.nan], tpr=[1], threshold=[0.5])
    for side in (remote, embedded):
        run = side.experiments.get_run("odd", "r")
        assert math.isnan(run.metrics["nan"]), side
        assert (run.metrics["up"], run.metrics["down"], run.metrics["n"]) == (
            math.inf,
            -math.inf,
            3.0,
        )
        assert math.isnan(run.time_series_metrics["loss"])
        assert run.time_series_metrics["grad"] == math.inf
        assert math.isnan(side.experiments.time_series("odd", "r")["loss"][0].value)
        assert math.isnan(side.experiments.classification_metrics("odd", "r")[0].fpr[0])
        row = side.experiments.search_runs("odd").runs[0]
        assert math.isnan(row["metric.nan"]) and row["time_series_metric.grad"] == math.inf
        assert row["start_time"] == run.created_at


def test_errors_are_the_librarys(clients):
    remote, embedded = clients
    remote.experiments.create("errors", exist_ok=True)
    remote.experiments.start_run("errors", "r")
    remote.experiments.log_params("errors", "r", {"depth": 4})
    for call, args, kwargs, kind in [
        ("get", ("nobody",), {}, ExperimentNotFound),
        ("list_runs", ("nobody",), {}, ExperimentNotFound),
        ("search_runs", (["errors", "nobody"],), {}, ExperimentNotFound),
        ("get_run", ("errors", "nobody"), {}, ExperimentRunNotFound),
        ("log_metrics", ("errors", "nobody", {"x": 1}), {}, ExperimentRunNotFound),
        ("create", ("errors",), {}, ExperimentConflict),
        ("log_params", ("errors", "r", {"depth": 5}), {}, ExperimentUsageError),
        ("log_metrics", ("errors", "r", {"x": "high"}), {}, ExperimentUsageError),
        ("log_time_series_metrics", ("errors", "r", {"x": 1}, 1.5), {}, ExperimentUsageError),
        ("search_runs", ("errors",), {"filter": "colour = 1"}, ExperimentUsageError),
        ("search_runs", ("errors",), {"page_token": "zz"}, ExperimentUsageError),
        ("log_classification_metrics", ("errors", "r"), {}, ExperimentUsageError),
    ]:
        mine = caught(getattr(remote.experiments, call), *args, **kwargs)
        theirs = caught(getattr(embedded.experiments, call), *args, **kwargs)
        assert isinstance(mine, kind) and isinstance(theirs, kind), (call, mine, theirs)
        assert str(mine) == str(theirs), call
    remote.experiments.end_run("errors", "r")
    ended = caught(remote.experiments.log_metrics, "errors", "r", {"x": 1})
    assert isinstance(ended, ExperimentConflict)
    assert str(ended) == str(caught(embedded.experiments.log_metrics, "errors", "r", {"x": 1}))
    taken = caught(remote.experiments.start_run, "errors", "r")
    assert "experiment 'errors' has a run named 'r' already" in str(taken)
    unsupported = caught(remote.experiments.log_model, "errors", "r", object(), name="churn")
    assert isinstance(unsupported, RemoteUnsupported)
    assert "log_model to run 'r' of experiment 'errors'" in str(unsupported)


def test_read_cannot_log_and_track_cannot_delete(staging):
    _, set_token = staging
    with Client(env="staging") as tracker:
        tracker.experiments.create("roles", exist_ok=True)
        tracker.experiments.start_run("roles", "r")
        denied = caught(tracker.experiments.delete_run, "roles", "r")
        assert isinstance(denied, PermissionDenied) and "needs admin or higher" in str(denied)
    set_token("read")
    with Client(env="staging") as reader:
        denied = caught(reader.experiments.log_metrics, "roles", "r", {"x": 1})
        assert isinstance(denied, PermissionDenied) and "needs track or higher" in str(denied)
        assert reader.experiments.get_run("roles", "r").metrics == {}
        assert reader.experiments.search_runs(["roles"]).total == 1
    set_token("admin")
    with Client(env="staging") as admin:
        admin.experiments.delete_run("roles", "r")
        assert admin.experiments.delete("roles") == 0
        assert "roles" not in [e.name for e in admin.experiments.list()]
