"""A deployment that follows an alias switches when the alias moves, under load: clients
send requests without pause while the alias moves, none fails, and the answers switch to
the new version for good."""

from __future__ import annotations

import threading

import pytest
from serving_support import ROW, client, local_predictions, wait_for

MAX_REQUESTS = 20_000


def test_the_alias_moves_under_load_without_a_failed_request(churn, endpoints, serve, trained):
    endpoints.create("churn-prod")
    endpoints.deploy("churn-prod", "churn@production")
    server = serve()
    stop = threading.Event()
    answers: list[list[tuple[int, str | None, object]]] = [[], []]

    def send(seen):
        with client(server.url) as http:
            while not stop.is_set() and len(seen) < MAX_REQUESTS:
                try:
                    answer = http.post(
                        "/v1/endpoints/churn-prod:predict", json={"instances": [ROW]}
                    )
                except Exception as exc:  # a reset connection counts as a failure too
                    seen.append((0, None, repr(exc)))
                    continue
                body = answer.json() if answer.status_code == 200 else answer.text
                version = body["modelVersionId"] if answer.status_code == 200 else None
                seen.append((answer.status_code, version, body))

    threads = [threading.Thread(target=send, args=(seen,)) for seen in answers]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: all(len(seen) >= 50 for seen in answers), "requests before the move")
        churn.set_alias("churn", "production", 2, comment="v2 wins")

        def switched_for_a_while():
            return all(sum(1 for _, version, _ in seen if version == "2") >= 50 for seen in answers)

        wait_for(switched_for_a_while, "the answers to switch to version 2")
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)

    v1, v2 = (local_predictions(trained[name], [ROW]) for name in ("v1", "v2"))
    assert v1 != v2
    for seen in answers:
        failures = [s for s in seen if s[0] != 200]
        assert failures == [], failures[:3]
        versions = [version for _, version, _ in seen]
        switch = versions.index("2")
        assert set(versions[:switch]) == {"1"} and set(versions[switch:]) == {"2"}
        assert all(body["predictions"] == v1 for _, _, body in seen[:switch])
        assert all(body["predictions"] == v2 for _, _, body in seen[switch:])


def test_a_version_that_cannot_load_is_not_swapped_in(churn, endpoints, serve, model_copy):
    endpoints.create("churn-prod")
    endpoints.deploy("churn-prod", "churn@production")
    server = serve()
    folder = model_copy("v2")
    churn.upload("churn", folder, framework="sklearn")  # churn@3
    (folder / "model.skops").write_bytes(b"changed after upload")
    churn.set_alias("churn", "production", 3)

    def failures():
        text = server.client.get("/metrics").text
        return 'conveyor_model_load_failures_total{model="churn"} 1.0' in text

    wait_for(failures, "the failed load to be counted")
    answer = server.client.post("/v1/endpoints/churn-prod:predict", json={"instances": [ROW]})
    assert (answer.status_code, answer.json()["modelVersionId"]) == (200, "1")
    churn.set_alias("churn", "production", 2)  # a version that loads: taken at once
    wait_for(
        lambda: (
            server.client.post(
                "/v1/endpoints/churn-prod:predict", json={"instances": [ROW]}
            ).json()["modelVersionId"]
            == "2"
        ),
        "the switch to version 2",
    )


def test_a_check_that_failed_halfway_is_made_again(churn, endpoints, monkeypatch):
    from conveyor.serving.live import LiveState
    from conveyor.serving.loading import ModelLoader
    from conveyor.store.metadata import StoreError

    endpoints.create("e")
    endpoints.deploy("e", "churn@production")
    state = LiveState(endpoints, ModelLoader())
    state.poll()
    assert state.endpoints["e"].deployed["1"].version_id == 1
    churn.set_alias("churn", "production", 2)
    rebuild = state.refresh_endpoint

    def busy(name):
        raise StoreError("database is locked")

    monkeypatch.setattr(state, "refresh_endpoint", busy)
    with pytest.raises(StoreError):
        state.poll()
    monkeypatch.setattr(state, "refresh_endpoint", rebuild)
    state.poll()
    assert state.endpoints["e"].deployed["1"].version_id == 2
