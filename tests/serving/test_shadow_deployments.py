"""Shadow deployments: the endpoints' rules (a shadow takes no traffic, mirrors a model that
answers, keeps it deployed), the comparison of predictions, and a real server mirroring
requests to shadows after answering, whose answers are logged and compared but never
returned, and never delay or break the client's answer."""

from __future__ import annotations

import dataclasses
import math
import sys
import textwrap

import numpy as np
import pytest
from serving_support import ROW, SCHEMA, local_predictions, start_server, wait_for

from conveyor.home import open_home
from conveyor.serving.errors import DeployedModelNotFound, InvalidTraffic, ServingConflict
from conveyor.serving.prediction_log import prediction_logs, read_prediction_logs
from conveyor.serving.shadow import MAX_IN_FLIGHT, compare
from conveyor.serving.totals import DeployedTotals

OTHER = {"tenure": 60, "charges": 20.0, "calls": 0}


# The endpoints' rules, on SQLite and PostgreSQL


@pytest.fixture
def shadowed(settings, store_url, model_copy):
    """Endpoints on each backend; endpoint `e` serves churn@1 (`stable`) with churn@2 as
    its shadow."""
    with open_home(settings=dataclasses.replace(settings, metadata_url=store_url)) as home:
        for name in ("v1", "v2"):
            home.registry.upload(
                "churn", model_copy(name), framework="sklearn", input_schema=SCHEMA
            )
        endpoints = home.endpoints
        endpoints.create("e")
        stable = endpoints.deploy("e", "churn@1")
        shadow = endpoints.deploy("e", "churn@2", shadow_of=stable.id)
        yield endpoints, stable, shadow


def test_a_shadow_takes_no_traffic_and_says_what_it_mirrors(shadowed):
    endpoints, stable, shadow = shadowed
    assert (shadow.shadow_of, shadow.traffic_percentage, stable.shadow_of) == (stable.id, 0, None)
    assert shadow.to_json()["shadow_of"] == stable.id
    endpoint = endpoints.get("e")
    assert endpoint.traffic_split == {stable.id: 100, shadow.id: 0}
    assert endpoint.deployed_model(shadow.id) == shadow
    assert endpoints.answering("e").id == stable.id
    other = endpoints.deploy("e", "churn@1", traffic_percentage=50)  # shadows keep 0
    assert endpoints.get("e").traffic_split == {stable.id: 50, shadow.id: 0, other.id: 50}


def test_a_shadow_never_gets_traffic(shadowed):
    endpoints, stable, shadow = shadowed
    generation = endpoints.get("e").generation
    refused = "deployed model {} is a shadow of {} and takes no traffic, not {}%; end the shadow"
    with pytest.raises(InvalidTraffic, match=refused.format(shadow.id, stable.id, 10)):
        endpoints.set_traffic("e", {stable.id: 90, shadow.id: 10})
    with pytest.raises(InvalidTraffic, match=refused.format(shadow.id, stable.id, 30)):
        endpoints.set_traffic("e", deployed_model_id=shadow.id, traffic_percentage=30)
    with pytest.raises(InvalidTraffic, match=refused.format(shadow.id, stable.id, 20)):
        endpoints.deploy("e", "churn@1", traffic_split={"0": 40, stable.id: 40, shadow.id: 20})
    other = endpoints.deploy("e", "churn@1", traffic_percentage=50)
    with pytest.raises(InvalidTraffic, match=refused.format(shadow.id, stable.id, 50)):
        endpoints.undeploy("e", other.id, traffic_split={stable.id: 50, shadow.id: 50})
    for wrong in ({"traffic_percentage": 10}, {"traffic_split": {"0": 0, stable.id: 100}}):
        with pytest.raises(InvalidTraffic, match="takes no traffic .* give no traffic percentage"):
            endpoints.deploy("e", "churn@2", shadow_of=stable.id, **wrong)
    after = endpoints.get("e")
    assert after.generation == generation + 1  # only `other`'s deployment changed it
    assert after.traffic_split == {stable.id: 50, shadow.id: 0, other.id: 50}


def test_a_shadow_mirrors_a_deployed_model_that_is_no_shadow(shadowed):
    endpoints, stable, shadow = shadowed
    with pytest.raises(DeployedModelNotFound, match="endpoint 'e' has no deployed model '99'"):
        endpoints.deploy("e", "churn@2", shadow_of="99")
    with pytest.raises(
        InvalidTraffic,
        match=f"deployed model {shadow.id} .* is itself a shadow .*shadow {stable.id} instead",
    ):
        endpoints.deploy("e", "churn@2", shadow_of=shadow.id)
    endpoints.create("f")
    with pytest.raises(DeployedModelNotFound, match="endpoint 'f' has no deployed model"):
        endpoints.deploy("f", "churn@2", shadow_of=stable.id)  # another endpoint's


def test_a_mirrored_model_stays_until_its_shadows_go(shadowed):
    endpoints, stable, shadow = shadowed
    second = endpoints.deploy("e", "churn@1", shadow_of=stable.id)
    with pytest.raises(
        ServingConflict,
        match=f"deployed model {stable.id} of endpoint 'e' has shadows mirroring its traffic "
        rf"\({shadow.id}, {second.id}\); undeploy them first",
    ):
        endpoints.undeploy("e", stable.id, traffic_split={shadow.id: 0, second.id: 0})
    endpoints.undeploy("e", shadow.id)
    endpoints.undeploy("e", second.id)
    assert endpoints.get("e").traffic_split == {stable.id: 100}


def test_ending_a_shadow_makes_it_an_ordinary_deployed_model(shadowed):
    endpoints, stable, shadow = shadowed
    generation = endpoints.get("e").generation
    ended = endpoints.end_shadow("e", shadow.id)
    assert ended.generation == generation + 1
    assert ended.deployed_model(shadow.id).shadow_of is None
    assert ended.traffic_split == {stable.id: 100, shadow.id: 0}
    after = endpoints.set_traffic("e", deployed_model_id=shadow.id, traffic_percentage=10)
    assert after.traffic_split == {stable.id: 90, shadow.id: 10}
    with pytest.raises(
        ServingConflict, match=f"deployed model {shadow.id} of endpoint 'e' is not a shadow"
    ):
        endpoints.end_shadow("e", shadow.id)
    with pytest.raises(DeployedModelNotFound, match="endpoint 'e' has no deployed model '99'"):
        endpoints.end_shadow("e", "99")
    endpoints.undeploy("e", stable.id)  # no shadows left
    assert endpoints.get("e").traffic_split == {shadow.id: 100}


# The faces


def test_rest_deploys_shows_and_refuses_shadows(churn, endpoints, own_home):
    from conveyor.api import create_app

    endpoints.create("e")
    stable = endpoints.deploy("e", "churn@1")
    server = start_server(create_app(own_home))
    try:
        http = server.client
        made = http.post(
            "/api/v1/endpoints/e:deployModel", json={"model": "churn@2", "shadow_of": stable.id}
        )
        assert made.status_code == 200, made.text
        assert (made.json()["shadow_of"], made.json()["traffic_percentage"]) == (stable.id, 0)
        shown = http.get("/api/v1/endpoints/e").json()["deployed_models"]
        assert [d["shadow_of"] for d in shown] == [None, stable.id]
        wrong = {"model": "churn@2", "shadow_of": stable.id, "traffic_percentage": 10}
        assert http.post("/api/v1/endpoints/e:deployModel", json=wrong).status_code == 400
        unknown = {"model": "churn@2", "shadow_of": "99"}
        assert http.post("/api/v1/endpoints/e:deployModel", json=unknown).status_code == 404
        kept = http.post("/api/v1/endpoints/e:undeployModel", json={"deployed_model_id": stable.id})
        assert kept.status_code == 409
        assert "undeploy them first" in kept.json()["error"]["message"]
    finally:
        server.stop()


def test_the_command_line_deploys_a_shadow(churn, endpoints, capsys, monkeypatch):
    from conveyor.cli import main as cli_main

    endpoints.create("e")
    stable = endpoints.deploy("e", "churn@1")

    def conveyor(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["conveyor", *args])
        try:
            cli_main.main()
            code = 0
        except SystemExit as exit:
            code = exit.code or 0
        out, err = capsys.readouterr()
        return code, out + err

    code, out = conveyor("endpoints", "deploy", "e", "churn@2", "--shadow-of", stable.id)
    assert code == 0, out
    shadow = endpoints.get("e").deployed_models[1]
    assert f"as deployed model {shadow.id}, a shadow of {stable.id}; traffic:" in " ".join(
        out.split()
    )
    code, out = conveyor("endpoints", "show", "e")
    assert f"shadow of {stable.id}" in out
    code, out = conveyor(
        "endpoints", "deploy", "e", "churn@2", "--shadow-of", shadow.id, "--traffic-percentage", "5"
    )
    assert code == 2 and "takes no traffic" in out


# Comparing predictions


def test_predictions_agree_when_equal_as_json():
    mirrored = [1, 0.5, "yes", {"p": [0.1, 0.9]}, True, [1, 2], math.nan, 3]
    shadow = [
        np.int64(1), 0.5 * (1 + 1e-12), "yes", {"p": np.array([0.1, 0.9])}, 1, (1, 2), math.nan,
        3.5,
    ]  # fmt: skip
    found = compare(mirrored, shadow)
    assert (found.agree, found.disagree) == (6, 2)  # true is not 1; 3.5 is not 3
    assert found.absolute_errors == pytest.approx([0.0, 0.5e-12, 0.5])  # numbers only, finite


def test_a_missing_prediction_or_another_shape_disagrees():
    assert compare([1, 2, 3], [1, 2])[:2] == (2, 1)
    assert compare([0.1, 0.2], [0.1 + 1e-6, 0.2])[:2] == (1, 1)
    assert compare([{"a": 1}], [{"a": 1, "b": 2}])[:2] == (0, 1)
    assert compare([[1, 2]], [[1, 2, 3]])[:2] == (0, 1)
    assert compare([None], [0])[:2] == (0, 1)


# A real server

NONE = DeployedTotals()


@pytest.fixture
def custom(registry, tmp_path):
    """`custom(name, predict, load="pass")`: a trusted custom predictor whose
    `predict(self, instances)` and `load(self, artifacts_uri)` have these bodies,
    registered as `name`."""

    def upload(name: str, predict: str, load: str = "pass"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "predictor.py").write_text(
            "import os, time\n"
            "from conveyor.serving.runtimes import Predictor\n"
            "class Custom(Predictor):\n"
            "    def load(self, artifacts_uri):\n"
            + textwrap.indent(load, " " * 8)
            + "\n    def predict(self, instances):\n"
            + textwrap.indent(predict, " " * 8)
            + "\n"
        )
        return registry.upload(name, folder, framework="custom", trusted=True)

    return upload


def totals_when(server, condition, what: str):
    """The endpoint `ep`'s totals once `condition(totals)` holds."""

    def ready():
        found = server.service.metrics.totals("ep")
        return found if condition(found) else None

    return wait_for(ready, what)


def test_shadows_get_the_requests_and_the_client_only_the_stable_answer(
    churn, endpoints, serve, store, trained
):
    endpoints.create("ep")
    stable = endpoints.deploy("ep", "churn@1")
    same = endpoints.deploy("ep", "churn@1", shadow_of=stable.id)
    opposite = endpoints.deploy("ep", "churn@candidate", shadow_of=stable.id)  # the other class
    server = serve()
    expected = local_predictions(trained["v1"], [ROW, OTHER])
    for n in range(3):
        answer = server.client.post(
            "/v1/endpoints/ep:predict",
            json={"instances": [ROW, OTHER]},
            headers={"X-Request-Id": f"request-{n}"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["deployedModelId"] == stable.id
        assert answer.json()["predictions"] == expected
    raw = server.client.post("/v1/endpoints/ep:rawPredict", json=[ROW])
    assert raw.json() == {"predictions": expected[:1]}
    totals = totals_when(
        server,
        lambda t: t.get(same.id, NONE).agree == 7 and t.get(opposite.id, NONE).disagree == 7,
        "the shadows' predictions",
    )
    assert [totals[d.id].requests for d in (stable, same, opposite)] == [4, 4, 4]
    assert (totals[same.id].agreement, totals[same.id].mean_absolute_error) == (1.0, 0.0)
    assert (totals[opposite.id].agreement, totals[opposite.id].mean_absolute_error) == (0.0, 1.0)
    assert (totals[opposite.id].failed, totals[opposite.id].errors) == (0, 0)
    assert totals[stable.id].agreement is None  # it mirrors; it is no shadow
    server.stop()
    rows: dict[str, list[dict]] = {}
    for row in read_prediction_logs(prediction_logs(store, "ep")).to_pylist():
        rows.setdefault(row["deployed_model_id"], []).append(row)
    assert {k: len(v) for k, v in rows.items()} == {stable.id: 7, same.id: 7, opposite.id: 7}

    def instances(deployed):
        return sorted((r["request_id"], r["instance_index"]) for r in rows[deployed.id])

    assert instances(opposite) == instances(same) == instances(stable)
    first = [r["prediction.value"] for r in rows[opposite.id] if r["request_id"] == "request-0"]
    assert sorted(first) == sorted(1 - p for p in expected)


def test_a_failing_shadow_never_changes_the_answer(churn, custom, endpoints, serve, trained):
    custom("boom", "raise RuntimeError('the shadow broke')")
    endpoints.create("ep")
    stable = endpoints.deploy("ep", "churn@1")
    shadow = endpoints.deploy("ep", "boom@1", shadow_of=stable.id)
    server = serve()
    for _ in range(2):
        answer = server.client.post("/v1/endpoints/ep:predict", json={"instances": [ROW, OTHER]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == local_predictions(trained["v1"], [ROW, OTHER])
    totals = totals_when(
        server, lambda t: t.get(shadow.id, NONE).failed == 4, "the failed shadow calls"
    )
    found = totals[shadow.id]
    assert (found.requests, found.errors, found.agree, found.agreement) == (2, 2, 0, 0.0)
    assert (totals[stable.id].requests, totals[stable.id].errors) == (2, 0)


def test_a_shadow_that_cannot_load_leaves_the_endpoint_serving(
    churn, custom, endpoints, serve, tmp_path, trained
):
    broken = tmp_path / "broken"
    custom(
        "fragile",
        "return [0 for _ in instances]",
        load=f"if os.path.exists({str(broken)!r}):\n    raise RuntimeError('broken')",
    )
    endpoints.create("ep")
    stable = endpoints.deploy("ep", "churn@1")
    shadow = endpoints.deploy("ep", "fragile@1", shadow_of=stable.id)  # it loaded then
    broken.touch()
    server = serve()
    live = server.service.live.endpoints["ep"]
    assert (live.shadows, list(live.failed)) == ({}, [shadow.id])
    answer = server.client.post("/v1/endpoints/ep:predict", json={"instances": [ROW]})
    assert answer.json()["predictions"] == local_predictions(trained["v1"], [ROW])
    assert b'conveyor_model_load_failures_total{model="fragile"} 1.0' in (
        server.service.metrics.render()
    )
    assert shadow.id not in server.service.metrics.totals("ep")


def test_answers_never_wait_for_shadows_and_too_many_are_dropped(
    churn, custom, endpoints, serve, tmp_path
):
    gate = tmp_path / "gate"
    custom(
        "slow",
        "deadline = time.monotonic() + 120\n"
        f"while not os.path.exists({str(gate)!r}) and time.monotonic() < deadline:\n"
        "    time.sleep(0.01)\n"
        "return [0 for _ in instances]",
    )
    endpoints.create("ep")
    stable = endpoints.deploy("ep", "churn@1")
    shadow = endpoints.deploy("ep", "slow@1", shadow_of=stable.id)
    server = serve()
    extra = 3
    for _ in range(MAX_IN_FLIGHT + extra):  # each answered while the shadow calls wait
        answer = server.client.post("/v1/endpoints/ep:predict", json={"instances": [ROW]})
        assert answer.status_code == 200, answer.text
    waiting = totals_when(
        server, lambda t: t.get(shadow.id, NONE).dropped == extra, "the dropped mirrors"
    )
    assert waiting[shadow.id].requests == 0  # none has finished
    gate.touch()
    done = totals_when(
        server,
        lambda t: t[shadow.id].requests == MAX_IN_FLIGHT,
        "the shadow calls in flight to finish",
    )[shadow.id]
    assert (done.agree + done.disagree, done.dropped) == (MAX_IN_FLIGHT, extra)
