"""`/api/v1/runs`: listing with filters and pages, a run with its tasks, a task's log and
cache explanation, cancelling; bad input answers 400 naming it."""

import base64

import pytest
from api_support import error_of
from kfp import dsl

from conveyor.client import Client


@dsl.component
def shout(word: str) -> str:
    print("shouting", word)
    return word.upper()


@dsl.pipeline(name="shouter")
def shouter(word: str = "hi") -> str:
    return shout(word=word).output


@pytest.fixture
def runs(own_home):
    """Three runs of the test's home, oldest first: one labelled, one in an experiment."""
    client = Client(own_home)
    made = [
        client.run(shouter, {"word": "a"}, labels={"team": "growth"}),
        client.run(shouter, {"word": "b"}, experiment="loud", run_name="b"),
        client.run(shouter, {"word": "c"}),
    ]
    return [run.run_id for run in made]


def test_runs_are_listed_newest_first_a_page_at_a_time(api, runs):
    first = api.get("/api/v1/runs", params={"page_size": 2}).json()
    assert [r["run_id"] for r in first["runs"]] == runs[::-1][:2]
    assert first["runs"][0]["status"] == "SUCCEEDED" and first["runs"][0]["runner_lost"] is False
    rest = api.get("/api/v1/runs", params={"page_size": 2, "page_token": first["next_page_token"]})
    assert [r["run_id"] for r in rest.json()["runs"]] == [runs[0]]
    assert rest.json()["next_page_token"] is None


def test_runs_are_filtered(api, runs):
    def ids(**params):
        return [r["run_id"] for r in api.get("/api/v1/runs", params=params).json()["runs"]]

    assert ids(label="team=growth") == [runs[0]]
    assert ids(experiment="loud") == [runs[1]]
    assert ids(pipeline="shouter", status="SUCCEEDED") == runs[::-1]
    assert ids(status="FAILED") == []
    assert ids(since="2999-01-01T00:00:00Z") == []
    named = api.get("/api/v1/runs", params={"experiment": "loud"}).json()["runs"][0]
    assert (named["display_name"], named["experiment"]) == ("b", "loud")


@pytest.mark.parametrize(
    "params, words",
    [
        ({"page_size": 0}, "page_size"),
        ({"page_size": 1001}, "page_size"),
        ({"status": "DONE"}, "status"),
        ({"label": "novalue"}, "label takes key=value"),
        ({"since": "0.5"}, "not an ISO 8601 time"),
        ({"page_token": "!!!"}, "page_token"),
        ({"page_token": base64.urlsafe_b64encode(b"gone").decode()}, "page_token names no run"),
    ],
)
def test_bad_listings_answer_400(api, runs, params, words):
    assert words in error_of(api.get("/api/v1/runs", params=params), 400)["message"]


def test_a_run_with_its_tasks_and_spec(api, runs):
    run = api.get(f"/api/v1/runs/{runs[0]}").json()
    assert run["parameters"] == {"word": "a"} and run["pipeline_spec"] is None
    [task] = [e for e in run["executions"] if e["task_key"] == "shout"]
    assert task["state"] == "COMPLETE" and task["output_parameters"] == {"Output": "A"}
    full = api.get(f"/api/v1/runs/{runs[0]}", params={"view": "full"}).json()
    assert full["pipeline_spec"]["pipelineInfo"]["name"] == "shouter"
    assert "no run 'nope'" in error_of(api.get("/api/v1/runs/nope"), 404)["message"]
    assert "a run id" in error_of(api.get("/api/v1/runs/" + "x" * 256), 400)["message"]


def test_a_task_log_is_read_from_the_runs_folder_only(api, runs, own_home):
    answer = api.get(f"/api/v1/runs/{runs[1]}/log", params={"task": "shout"})
    assert answer.status_code == 200 and "shouting b" in answer.text
    assert int(answer.headers["X-Log-Size"]) >= len(answer.text)
    tail = api.get(f"/api/v1/runs/{runs[1]}/log", params={"task": "shout", "tail_bytes": 5})
    assert len(tail.content) == 5 and answer.text.endswith(tail.text)
    assert (
        "no task 'train'"
        in error_of(api.get(f"/api/v1/runs/{runs[1]}/log", params={"task": "train"}), 404)[
            "message"
        ]
    )
    # A log whose record points outside the runs folder is not read.
    with own_home.store.transaction(write=True) as conn:
        from conveyor.store.metadata.mlmd_tables import EXECUTIONS

        conn.execute(EXECUTIONS.update().values(log_uri="/etc/passwd"))
    error_of(api.get(f"/api/v1/runs/{runs[1]}/log", params={"task": "shout"}), 404)


def test_a_task_cache_outcome_is_explained(api, own_home):
    client = Client(own_home)
    client.run(shouter, {"word": "x"})
    again = client.run(shouter, {"word": "x"})
    explained = api.get(f"/api/v1/runs/{again.run_id}/cache", params={"task": "shout"}).json()
    assert explained["hit"] is True and explained["reason"] == "hit"
    assert explained["task_key"] == "shout" and explained["lines"]


def test_an_ended_run_cannot_be_cancelled(api, runs):
    error = error_of(api.post(f"/api/v1/runs/{runs[0]}:cancel"), 409)
    assert "SUCCEEDED already" in error["message"]


def test_a_run_whose_runner_is_gone_is_cancelled_at_once(api, own_home):
    own_home.store.create_run("orphan-1", "shouter")
    answer = api.post("/api/v1/runs/orphan-1:cancel")
    assert answer.json() == {"run_id": "orphan-1", "status": "CANCELLED"}
    assert api.get("/api/v1/runs/orphan-1").json()["status"] == "CANCELLED"
