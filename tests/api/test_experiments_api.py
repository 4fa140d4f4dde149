"""`/api/v1/experiments` served for real: experiments, runs and what is logged to them,
read back over REST and by the library on the same home; NaN and the infinities through
JSON; server-side filter, order, pages and projection; bad input 400 naming the problem,
unknown 404, ended 409; token roles (`read` reads, `track` logs, `admin` deletes)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

import pytest
from api_support import error_of
from starlette.middleware import Middleware

from conveyor.api import create_app
from conveyor.api.params import EXPERIMENT, RUN
from conveyor.errors import UsageError
from conveyor.serving.auth import Role, TokenAuth, Tokens
from conveyor.store.metadata.experiment_contexts import check_name

ROOT = "/api/v1/experiments"
RUN_PATH = f"{ROOT}/churn/runs/depth-4"


@pytest.fixture
def churn(api):
    """Experiment `churn` with run `depth-4` RUNNING; the client."""
    assert api.post(ROOT, json={"name": "churn"}).status_code == 201
    assert api.post(f"{ROOT}/churn/runs", json={"run": "depth-4"}).status_code == 201
    return api


def ok(answer, code=200):
    assert answer.status_code == code, answer.text
    return answer.json() if answer.content else None


# Experiments


def test_create_get_list_delete(api, own_home):
    made = api.post(ROOT, json={"name": "churn", "description": "trees against boosting"})
    body = ok(made, 201)
    assert made.headers["location"] == f"{ROOT}/churn"
    assert (body["name"], body["description"], body["run_count"]) == (
        "churn",
        "trees against boosting",
        0,
    )
    assert (
        datetime.fromisoformat(body["created_at"]) == own_home.experiments.get("churn").created_at
    )
    taken = error_of(api.post(ROOT, json={"name": "churn"}), 409)
    assert taken["message"] == "experiment 'churn' exists already; use it, or give another name"
    again = ok(api.post(ROOT, json={"name": "churn", "exist_ok": True, "description": "x"}), 201)
    assert again == body  # as it was
    ok(api.post(ROOT, json={"name": "iris"}), 201)
    ok(api.post(f"{ROOT}/churn/runs", json={"run": "a"}), 201)
    listed = ok(api.get(ROOT))["experiments"]
    assert [(e["name"], e["run_count"]) for e in listed] == [("churn", 1), ("iris", 0)]
    assert ok(api.get(f"{ROOT}/churn"))["run_count"] == 1
    assert ok(api.delete(f"{ROOT}/churn")) == {"name": "churn", "runs_deleted": 1}
    assert [e.name for e in own_home.experiments.list()] == ["iris"]
    error_of(api.get(f"{ROOT}/churn"), 404)


# Runs and what is logged to them


def test_a_run_logged_over_rest_reads_as_the_library_has_it(churn, own_home):
    api = churn
    ok(api.post(f"{RUN_PATH}:logParams", json={"params": {"max_depth": 4, "model": "tree"}}), 204)
    ok(api.post(f"{RUN_PATH}:logParams", json={"params": {"max_depth": 4}}), 204)  # the same
    ok(api.post(f"{RUN_PATH}:logMetrics", json={"metrics": {"accuracy": 0.91, "n": 3}}), 204)
    first = api.post(f"{RUN_PATH}:logTimeSeriesMetrics", json={"metrics": {"loss": 0.5}})
    assert ok(first) == {"step": 1}
    second = api.post(
        f"{RUN_PATH}:logTimeSeriesMetrics",
        json={"metrics": {"loss": 0.25}, "wall_time": "2026-01-02T03:04:05"},
    )
    assert ok(second) == {"step": 2}  # one past the last
    at = api.post(
        f"{RUN_PATH}:logTimeSeriesMetrics",
        json={"metrics": {"loss": 0.2, "lr": 0.01}, "step": 10, "wall_time": 1767225600.5},
    )
    assert ok(at) == {"step": 10}
    points = [{"key": "val_loss", "value": v, "step": s} for s, v in [(1, 0.6), (2, 0.4)]]
    ok(api.post(f"{RUN_PATH}:logPoints", json={"points": points, "as_summary": True}), 204)
    ok(api.post(f"{RUN_PATH}:setLabels", json={"labels": {"team": "churn"}}), 204)
    logged = api.post(
        f"{RUN_PATH}:logClassificationMetrics",
        json={
            "labels": ["stays", "churns"],
            "matrix": [[40, 3], [5, 12]],
            "fpr": [0, 0.1, 1],
            "tpr": [0, 0.8, 1],
            "threshold": [1, 0.5, 0],
            "display_name": "holdout",
        },
    )
    matrix = ok(logged, 201)
    assert (matrix["display_name"], matrix["labels"]) == ("holdout", ["stays", "churns"])
    assert matrix["matrix"] == [[40.0, 3.0], [5.0, 12.0]]

    run = ok(api.get(RUN_PATH))
    assert run["state"] == "RUNNING" and run["ended_at"] is None
    assert run["params"] == {"max_depth": 4, "model": "tree"}
    assert run["metrics"] == {"accuracy": 0.91, "n": 3.0, "val_loss": 0.4}
    assert run["time_series_metrics"] == {"loss": 0.2, "lr": 0.01, "val_loss": 0.4}
    assert run["labels"] == {"team": "churn"}
    record = own_home.experiments.get_run("churn", "depth-4")
    assert run == {**record.to_json(), **{k: run[k] for k in ("created_at", "ended_at")}}
    assert datetime.fromisoformat(run["created_at"]) == record.created_at

    series = ok(api.get(f"{RUN_PATH}/timeSeries"))["time_series"]
    assert [(p["step"], p["value"]) for p in series["loss"]] == [(1, 0.5), (2, 0.25), (10, 0.2)]
    walls = [datetime.fromisoformat(p["wall_time"]) for p in series["loss"][1:]]
    assert walls == [
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),  # no zone: UTC
        datetime.fromtimestamp(1767225600.5, UTC),
    ]
    library = own_home.experiments.time_series("churn", "depth-4")
    assert {k: [(p["step"], p["value"]) for p in v] for k, v in series.items()} == {
        k: [(p.step, p.value) for p in v] for k, v in library.items()
    }
    assert [datetime.fromisoformat(p["wall_time"]) for p in series["loss"]] == [
        p.wall_time for p in library["loss"]
    ]
    some = ok(
        api.get(
            f"{RUN_PATH}/timeSeries",
            params={"keys": ["loss", "lr"], "first_step": 2, "last_step": 10},
        )
    )["time_series"]
    assert {k: [p["step"] for p in v] for k, v in some.items()} == {"loss": [2, 10], "lr": [10]}
    found = ok(api.get(f"{RUN_PATH}/classificationMetrics"))["classification_metrics"]
    assert found == [matrix]
    assert found[0]["fpr"] == [0.0, 0.1, 1.0] and found[0]["thresholds"] == [1.0, 0.5, 0.0]

    ended = ok(api.post(f"{RUN_PATH}:end", json={"state": "FAILED"}))
    assert ended["state"] == "FAILED" and ended["ended_at"] is not None
    resumed = api.post(f"{ROOT}/churn/runs", json={"run": "depth-4", "resume": True})
    assert ok(resumed, 201)["state"] == "RUNNING"
    assert resumed.headers["location"] == RUN_PATH
    assert ok(api.post(f"{RUN_PATH}:end"))["state"] == "COMPLETE"  # no body: COMPLETE
    assert own_home.experiments.get_run("churn", "depth-4").state == "COMPLETE"
    ok(api.delete(RUN_PATH), 204)
    assert own_home.experiments.list_runs("churn") == []


def test_nan_and_infinities_cross_json_as_strings(churn, own_home):
    api = churn
    metrics = {"nan": "NaN", "up": "Infinity", "down": "-Infinity", "plain": 1.5}
    ok(api.post(f"{RUN_PATH}:logMetrics", json={"metrics": metrics}), 204)
    ok(api.post(f"{RUN_PATH}:logTimeSeriesMetrics", json={"metrics": {"loss": "NaN"}}))
    point = {"key": "grad", "value": "-Infinity", "step": 3}
    ok(api.post(f"{RUN_PATH}:logPoints", json={"points": [point]}), 204)
    run = own_home.experiments.get_run("churn", "depth-4")
    assert math.isnan(run.metrics["nan"]) and run.metrics["up"] == math.inf
    assert run.metrics["down"] == -math.inf and run.metrics["plain"] == 1.5
    assert ok(api.get(RUN_PATH))["metrics"] == metrics
    assert ok(api.get(RUN_PATH))["time_series_metrics"] == {"loss": "NaN", "grad": "-Infinity"}
    series = ok(api.get(f"{RUN_PATH}/timeSeries"))["time_series"]
    assert [p["value"] for p in series["loss"]] == ["NaN"]
    row = ok(api.get(f"{ROOT}/churn/runs"))["runs"][0]
    assert (row["metric.nan"], row["metric.up"], row["time_series_metric.grad"]) == (
        "NaN",
        "Infinity",
        "-Infinity",
    )
    # NaN as JSON's non-standard constant is refused, naming where it is
    refused = api.post(
        f"{RUN_PATH}:logMetrics",
        content=b'{"metrics": {"a": NaN}}',
        headers={"content-type": "application/json"},
    )
    assert error_of(refused, 400)["message"].startswith("body.metrics.a: the number NaN")


# Search


@pytest.fixture
def runs(api, own_home):
    """Experiments churn (runs a, b, c, d) and iris (run e), started in that order, with
    params, metrics and labels."""
    experiments = own_home.experiments
    for name in ("churn", "iris"):
        experiments.create(name)
    logged = {
        "a": ("churn", {"model": "tree", "depth": 2}, {"accuracy": 0.81}),
        "b": ("churn", {"model": "tree", "depth": 4}, {"accuracy": 0.91}),
        "c": ("churn", {"model": "boost", "depth": 4}, {"accuracy": 0.88}),
        "d": ("churn", {"model": "boost", "depth": 8}, {}),
        "e": ("iris", {"model": "tree", "depth": 3}, {"accuracy": 0.97}),
    }
    for run, (experiment, params, metrics) in logged.items():
        experiments.start_run(experiment, run, labels={"team": experiment})
        experiments.log_params(experiment, run, params)
        experiments.log_metrics(experiment, run, metrics)
    experiments.end_run("churn", "a")
    return api


def names(page):
    return [row["run_name"] for row in page["runs"]]


def test_search_filters_orders_pages_and_projects_on_the_server(runs, own_home):
    api = runs
    found = ok(api.get(f"{ROOT}/churn/runs"))
    assert names(found) == ["d", "c", "b", "a"]  # the newest first
    assert (found["total"], found["next_page_token"]) == (4, None)
    library = own_home.experiments.search_runs("churn")
    assert [row["start_time"] for row in found["runs"]] == [
        row["start_time"].isoformat() for row in library.runs
    ]
    kept = ok(api.get(f"{ROOT}/churn/runs", params={"filter": 'param.model = "tree"'}))
    assert names(kept) == ["b", "a"] and kept["total"] == 2
    both = 'metric.accuracy >= 0.85 and state = "RUNNING"'
    assert names(ok(api.get(f"{ROOT}/churn/runs", params={"filter": both}))) == ["c", "b"]
    ordered = ok(
        api.get(f"{ROOT}/churn/runs", params={"order_by": ["param.depth DESC", "run_name"]})
    )
    assert names(ordered) == ["d", "b", "c", "a"]
    by_metric = ok(api.get(f"{ROOT}/churn/runs", params={"order_by": "metric.accuracy"}))
    assert names(by_metric) == ["a", "c", "b", "d"]  # a run without the column last

    pages, token = [], None
    while True:
        params = {"page_size": 3, "order_by": "run_name"} | ({"page_token": token} if token else {})
        page = ok(api.get(f"{ROOT}/churn/runs", params=params))
        pages.append(names(page))
        assert page["total"] == 4
        token = page["next_page_token"]
        if token is None:
            break
    assert pages == [["a", "b", "c"], ["d"]]

    projected = ok(
        api.get(f"{ROOT}/churn/runs", params={"columns": ["metric.*,param.depth", "state"]})
    )
    assert projected["runs"][-1] == {
        "experiment_name": "churn",
        "run_name": "a",
        "state": "COMPLETE",
        "param.depth": 2,
        "metric.accuracy": 0.81,
    }
    assert set(projected["runs"][0]) == {"experiment_name", "run_name", "state", "param.depth"}

    several = ok(
        api.post(
            f"{ROOT}:searchRuns",
            json={
                "experiments": ["churn", "iris"],
                "filter": 'param.model = "tree"',
                "order_by": ["metric.accuracy DESC"],
                "columns": ["label.*"],
            },
        )
    )
    assert several == {
        "runs": [
            {"experiment_name": "iris", "run_name": "e", "label.team": "iris"},
            {"experiment_name": "churn", "run_name": "b", "label.team": "churn"},
            {"experiment_name": "churn", "run_name": "a", "label.team": "churn"},
        ],
        "total": 3,
        "next_page_token": None,
    }
    names_only = ok(api.post(f"{ROOT}:searchRuns", json={"experiments": ["iris"], "columns": []}))
    assert names_only["runs"] == [{"experiment_name": "iris", "run_name": "e"}]


def test_a_quoted_key_may_hold_a_comma_in_a_query(churn, own_home):
    own_home.experiments.log_metrics("churn", "depth-4", {"f1,macro": 0.7, "auc": 0.8})
    page = ok(churn.get(f"{ROOT}/churn/runs", params={"columns": "metric.`f1,macro`,state"}))
    assert page["runs"] == [
        {
            "experiment_name": "churn",
            "run_name": "depth-4",
            "state": "RUNNING",
            "metric.f1,macro": 0.7,
        }
    ]


# Bad input, unknown names, ended runs

BAD = [
    ("POST", ROOT, {"name": "-churn"}, "body.name '-churn' is not an experiment name"),
    ("POST", ROOT, {"name": "churn", "colour": "red"}, "body.colour is not a field"),
    ("POST", ROOT, {"name": "churn", "exist_ok": "yes"}, "body.exist_ok:"),
    ("GET", f"{ROOT}/churn%20x", None, "path.experiment 'churn x' is not an experiment name"),
    ("POST", f"{ROOT}/churn/runs", {"run": "a b"}, "body.run 'a b' is not a run name"),
    ("POST", f"{ROOT}/churn/runs", {"run": "r", "labels": {"k": 1}}, "body.labels.k:"),
    ("GET", f"{ROOT}/churn/runs/.hidden", None, "path.run '.hidden' is not a run name"),
    ("POST", f"{RUN_PATH}:logMetrics", {"metrics": {"auc": "high"}}, "body.metrics.auc: Input"),
    ("POST", f"{RUN_PATH}:logMetrics", {"metrics": {"auc": True}}, "body.metrics.auc: Input"),
    ("POST", f"{RUN_PATH}:logMetrics", {"metrics": {"": 1}}, "metric key '' is not valid"),
    ("POST", f"{RUN_PATH}:logMetrics", {"metrics": [1]}, "body.metrics: Input should be"),
    ("POST", f"{RUN_PATH}:logParams", {"params": {"x": [1]}}, "body.params.x"),
    ("POST", f"{RUN_PATH}:logParams", {"params": {"depth": 5}}, "param 'depth' of run"),
    (
        "POST",
        f"{RUN_PATH}:logTimeSeriesMetrics",
        {"metrics": {"loss": 1}, "step": 1.5},
        "body.step: Input should be a valid integer",
    ),
    (
        "POST",
        f"{RUN_PATH}:logTimeSeriesMetrics",
        {"metrics": {"loss": 1}, "step": 2**63},
        "body.step: the number 9223372036854775808 is out of range",
    ),
    (
        "POST",
        f"{RUN_PATH}:logTimeSeriesMetrics",
        {"metrics": {"loss": 1}, "wall_time": "yesterday"},
        "body.wall_time: Value error, 'yesterday' is neither a number of seconds",
    ),
    (
        "POST",
        f"{RUN_PATH}:logPoints",
        {"points": [{"key": "loss", "value": 1}]},
        "body.points.0.step is required",
    ),
    ("POST", f"{RUN_PATH}:end", {"state": "RUNNING"}, "body.state: Input should be 'COMPLETE'"),
    (
        "POST",
        f"{RUN_PATH}:logClassificationMetrics",
        {"labels": ["a", "b"], "matrix": [[1, 2]]},
        "the confusion matrix must be 2 x 2",
    ),
    ("POST", f"{RUN_PATH}:logClassificationMetrics", {}, "nothing to log"),
    ("GET", f"{ROOT}/churn/runs?filter=metric.auc%20%3E%3E%201", None, "cannot read the filter"),
    ("GET", f"{ROOT}/churn/runs?order_by=colour", None, "no column 'colour'"),
    ("GET", f"{ROOT}/churn/runs?columns=colour", None, "no column 'colour'"),
    ("GET", f"{ROOT}/churn/runs?page_size=0", None, "query.page_size: Input should be greater"),
    ("GET", f"{ROOT}/churn/runs?page_token=zz", None, "page_token 'zz' is not one a search"),
    ("GET", f"{RUN_PATH}/timeSeries?first_step=x", None, "query.first_step: Input should be"),
    ("POST", f"{ROOT}:searchRuns", {"experiments": []}, "body.experiments: List should have"),
    ("POST", f"{ROOT}:searchRuns", {}, "body.experiments is required"),
]


@pytest.mark.parametrize(("method", "path", "body", "says"), BAD)
def test_bad_input_answers_400_naming_the_problem(churn, own_home, method, path, body, says):
    churn.post(f"{RUN_PATH}:logParams", json={"params": {"depth": 4}})
    before = own_home.experiments.get_run("churn", "depth-4")
    message = error_of(churn.request(method, path, json=body), 400)["message"]
    assert says in message, message
    assert own_home.experiments.get_run("churn", "depth-4") == before  # nothing written


UNKNOWN = [
    ("GET", f"{ROOT}/iris", None, "no experiment 'iris'"),
    ("DELETE", f"{ROOT}/iris", None, "no experiment 'iris'"),
    ("GET", f"{ROOT}/iris/runs", None, "no experiment 'iris'"),
    ("POST", f"{ROOT}:searchRuns", {"experiments": ["churn", "iris"]}, "no experiment 'iris'"),
    ("POST", f"{ROOT}/iris/runs", {"run": "a"}, "no experiment 'iris'"),
    ("POST", f"{ROOT}/churn/runs", {"run": "a", "resume": True}, "has no run 'a'"),
    ("GET", f"{ROOT}/churn/runs/a", None, "experiment 'churn' has no run 'a'"),
    ("DELETE", f"{ROOT}/churn/runs/a", None, "has no run 'a'"),
    ("POST", f"{ROOT}/churn/runs/a:logMetrics", {"metrics": {"x": 1}}, "has no run 'a'"),
    ("POST", f"{ROOT}/iris/runs/a:end", None, "experiment 'iris' has no run 'a'"),
    ("GET", f"{ROOT}/churn/runs/a/timeSeries", None, "has no run 'a'"),
    ("GET", f"{ROOT}/churn/runs/a/classificationMetrics", None, "has no run 'a'"),
]


@pytest.mark.parametrize(("method", "path", "body", "says"), UNKNOWN)
def test_unknown_experiments_and_runs_answer_404(churn, method, path, body, says):
    message = error_of(churn.request(method, path, json=body), 404)["message"]
    assert says in message, message


def test_an_ended_run_or_a_name_taken_answers_409(churn, own_home):
    ok(churn.post(f"{RUN_PATH}:end"))
    for verb, body in [
        (":logMetrics", {"metrics": {"x": 1}}),
        (":logParams", {"params": {"x": 1}}),
        (":logTimeSeriesMetrics", {"metrics": {"x": 1}}),
        (":logPoints", {"points": [{"key": "x", "value": 1, "step": 1}]}),
        (":setLabels", {"labels": {"k": "v"}}),
        (":logClassificationMetrics", {"fpr": [0], "tpr": [1], "threshold": [0.5]}),
        (":end", {"state": "CANCELLED"}),
    ]:
        message = error_of(churn.post(f"{RUN_PATH}{verb}", json=body), 409)["message"]
        assert "has ended (COMPLETE); start_run('depth-4', resume=True)" in message, verb
    run = own_home.experiments.get_run("churn", "depth-4")
    assert (run.metrics, run.params, run.labels, run.state) == ({}, {}, {}, "COMPLETE")
    taken = error_of(churn.post(f"{ROOT}/churn/runs", json={"run": "depth-4"}), 409)
    assert "experiment 'churn' has a run named 'depth-4' already" in taken["message"]


def test_the_name_patterns_are_the_librarys():
    for name in ["churn", "a", "9", "v1.2_x-y", "A" * 128, "A" * 129, "-a", ".a", "a b", "é", ""]:
        try:
            check_name(name, "experiment")
            valid = True
        except UsageError:
            valid = False
        assert bool(re.fullmatch(EXPERIMENT[1:-1], name)) is valid, name
        assert bool(re.fullmatch(RUN[1:-1], name)) is valid, name


# Roles

TOKENS = {
    "r-token": (Role.READ, "viewer"),
    "p-token": (Role.PREDICT, "crm-backend"),
    "t-token": (Role.TRACK, "trainer"),
    "d-token": (Role.DEPLOY, "release-bot"),
    "a-token": (Role.ADMIN, "ops"),
}


@pytest.fixture
def guarded(serve, own_home):
    """The control API with a token of each role; `call(token, method, path, body)`."""
    http = serve(create_app(own_home, middleware=[Middleware(TokenAuth, tokens=Tokens(TOKENS))]))

    def call(token, method, path, body=None):
        headers = {"Authorization": f"Bearer {token}"}
        return http.request(method, path, json=body, headers=headers)

    return call


def test_read_reads_track_logs_admin_deletes(guarded, own_home):
    refused = error_of(guarded("r-token", "POST", ROOT, {"name": "churn"}), 403)
    assert "token 'viewer' has role read" in refused["message"]
    assert "needs track or higher" in refused["message"]
    error_of(guarded("p-token", "POST", ROOT, {"name": "churn"}), 403)
    assert own_home.experiments.list() == []
    ok(guarded("t-token", "POST", ROOT, {"name": "churn"}), 201)
    ok(guarded("t-token", "POST", f"{ROOT}/churn/runs", {"run": "depth-4"}), 201)
    for token in ("r-token", "p-token"):
        answer = guarded(token, "POST", f"{RUN_PATH}:logMetrics", {"metrics": {"auc": 0.9}})
        assert "needs track or higher" in error_of(answer, 403)["message"]
        ok(guarded(token, "GET", RUN_PATH))
        ok(guarded(token, "POST", f"{ROOT}:searchRuns", {"experiments": ["churn"]}))
    ok(guarded("t-token", "POST", f"{RUN_PATH}:logMetrics", {"metrics": {"auc": 0.9}}), 204)
    ok(guarded("d-token", "POST", f"{RUN_PATH}:logParams", {"params": {"depth": 4}}), 204)
    ok(guarded("t-token", "POST", f"{RUN_PATH}:end"))
    assert own_home.experiments.get_run("churn", "depth-4").metrics == {"auc": 0.9}
    for token in ("t-token", "d-token"):
        for path in (RUN_PATH, f"{ROOT}/churn"):
            answer = guarded(token, "DELETE", path)
            assert "needs admin or higher" in error_of(answer, 403)["message"]
    assert len(own_home.experiments.list_runs("churn")) == 1
    ok(guarded("a-token", "DELETE", RUN_PATH), 204)
    assert ok(guarded("a-token", "DELETE", f"{ROOT}/churn")) == {"name": "churn", "runs_deleted": 0}


def test_the_openapi_document_states_roles_and_metric_spellings(api):
    document = ok(api.get("/openapi.json"))
    roles = {
        (method, path): operation["x-conveyor-role"]
        for path, operations in document["paths"].items()
        if path.startswith(ROOT)
        for method, operation in operations.items()
    }
    assert len(roles) == 18
    assert roles[("post", f"{ROOT}:searchRuns")] == "read"
    assert {r for (m, p), r in roles.items() if m == "get"} == {"read"}
    assert {r for (m, p), r in roles.items() if m == "delete"} == {"admin"}
    writes = {r for (m, p), r in roles.items() if m == "post" and not p.endswith(":searchRuns")}
    assert writes == {"track"}
    metrics = document["components"]["schemas"]["ExperimentMetrics"]["properties"]["metrics"]
    assert metrics["additionalProperties"]["anyOf"][1]["enum"] == ["NaN", "Infinity", "-Infinity"]
    run = f"{ROOT}/{{experiment}}/runs/{{run}}"
    parameters = document["paths"][run]["get"]["parameters"]
    assert {p["name"]: p["schema"]["pattern"] for p in parameters} == {
        "experiment": EXPERIMENT,
        "run": RUN,
    }
