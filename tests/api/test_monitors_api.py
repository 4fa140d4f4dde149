"""`/api/v1/monitors` served for real: create, list, get, update and delete; bad input
answers 400, 404 or 409 with a message naming the field, never 500."""

from __future__ import annotations

import pytest
from api_support import error_of

SCHEMA = [{"name": "tenure", "type": "integer"}, {"name": "plan", "type": "string"}]


@pytest.fixture
def churn(own_home, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "predictor.py").write_text("class Predictor:\n    pass\n")
    for _ in range(2):
        own_home.registry.upload("churn", folder, framework="custom", input_schema=SCHEMA)
    own_home.registry.set_alias("churn", "production", 1)
    return own_home


def test_create_get_list_update_delete(api, churn):
    made = api.post("/api/v1/monitors", json={"name": "churn-drift", "target": "churn@production"})
    assert made.status_code == 201, made.text
    assert made.headers["location"] == "/api/v1/monitors/churn-drift"
    body = made.json()
    assert (body["model"], body["alias"], body["model_version_id"]) == ("churn", "production", 1)
    assert [f["data_type"] for f in body["model_monitoring_schema"]["feature_fields"]] == [
        "integer",
        "categorical",
    ]
    assert set(k for k, v in body["tabular_objective"].items() if v) == {
        "feature_drift_spec",
        "prediction_output_drift_spec",
        "feature_skew_spec",
    }
    assert body["created_by"] == "dana"

    churn.registry.set_alias("churn", "production", 2)  # a promotion
    assert api.get("/api/v1/monitors/churn-drift").json()["model_version_id"] == 2
    listed = api.get("/api/v1/monitors").json()["monitors"]
    assert [(m["name"], m["model_version_id"]) for m in listed] == [("churn-drift", 2)]

    changed = api.patch(
        "/api/v1/monitors/churn-drift",
        json={
            "window": "1h",
            "tabular_objective": {
                "feature_drift_spec": {"feature_alert_thresholds": {"plan": 0.1}},
                "feature_skew_spec": {},
            },
            "notification_spec": {"webhook": {"url": "https://hooks.example.com/ml"}},
        },
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["window"] == "1h" and "cron" not in body  # a schedule runs jobs on a cron
    assert body["tabular_objective"]["prediction_output_drift_spec"] is None
    assert body["tabular_objective"]["feature_drift_spec"]["feature_alert_thresholds"] == {
        "plan": 0.1
    }
    assert body["tabular_objective"]["feature_skew_spec"]["default_numeric_alert_threshold"] == 0.3
    assert body["notification_spec"]["webhook"] == {
        "url": "https://hooks.example.com/ml",
        "secret_setting": None,
    }
    reset = api.patch("/api/v1/monitors/churn-drift", json={"window": None}).json()
    assert reset["window"] == "1d"

    deleted = api.delete("/api/v1/monitors/churn-drift")
    assert deleted.json() == {"name": "churn-drift", "jobs_deleted": 0}
    assert api.get("/api/v1/monitors").json() == {"monitors": []}


def test_baselines_from_afar_only_under_the_allowed_roots(api, churn, tmp_path):
    data = tmp_path / "train.parquet"
    data.write_bytes(b"PAR1")
    made = api.post(
        "/api/v1/monitors",
        json={"name": "a", "target": "churn", "training_dataset": {"uri": str(data)}},
    )
    assert made.json()["training_dataset"] == {"uri": str(data)}
    for uri, says in [
        ("/etc/hostname", "is outside the folders"),
        ("http://169.254.169.254/data.csv", "never fetches http:// URLs"),
    ]:
        answer = api.post(
            "/api/v1/monitors",
            json={"name": "b", "target": "churn", "training_dataset": {"uri": uri}},
        )
        message = error_of(answer, 400)["message"]
        assert message.startswith("training_dataset.uri: not readable here:"), message
        assert says in message


CREATE = {"name": "m", "target": "churn"}
BAD = [
    (400, {"name": "1st"}, "body.name '1st' is not a monitor name"),
    (400, {"target": "churn@"}, "body.target 'churn@' is not a model reference"),
    (400, {"window": "1 day"}, "body.window '1 day' is not a duration"),
    (400, {"window": "0h"}, "window: '0h' is not a duration"),
    (400, {"sampling_rate": "0.5"}, "body.sampling_rate: Input should be a valid number"),
    (400, {"min_samples": 0}, "body.min_samples: Input should be greater than or equal to 1"),
    (400, {"cron": "0 * * * *"}, "body.cron is not a field of this request"),
    (400, {"colour": "red"}, "body.colour is not a field of this request"),
    (
        400,
        {"tabular_objective": {"feature_drift_spec": {"default_numeric_alert_threshold": 1.5}}},
        "body.tabular_objective.feature_drift_spec.default_numeric_alert_threshold: Input "
        "should be less than or equal to 1",
    ),
    (
        400,
        {"tabular_objective": {"feature_drift_spec": {"features": ["age"]}}},
        "tabular_objective.feature_drift_spec.features: 'age' is not one of the schema's "
        "feature_fields (tenure, plan)",
    ),
    (
        400,
        {"tabular_objective": {"feature_skew_spec": {"feature_alert_thresholds": {"age": 0.2}}}},
        "tabular_objective.feature_skew_spec.feature_alert_thresholds.age: 'age' is not a field",
    ),
    (400, {"tabular_objective": {}}, "tabular_objective: turn on at least one objective"),
    (
        400,
        {"tabular_objective": {"feature_drift_spec": {"numeric_metric_type": "l_infinity"}}},
        "body.tabular_objective.feature_drift_spec.numeric_metric_type: Input should be "
        "'jensen_shannon_divergence'",
    ),
    (
        400,
        {"model_monitoring_schema": {"feature_fields": [{"name": "a", "data_type": "text"}]}},
        "body.model_monitoring_schema.feature_fields.0.data_type: Input should be",
    ),
    (
        400,
        {"notification_spec": {"webhook": {"url": "ftp://x/y"}}},
        "notification_spec.webhook.url: 'ftp://x/y' is not a webhook URL",
    ),
    (
        400,
        {"notification_spec": {"webhook": {"url": "http://h/x", "secret_setting": "a b"}}},
        "body.notification_spec.webhook.secret_setting 'a b' is not the name of an environment "
        "variable",
    ),
    (
        400,
        {"notification_spec": {"user_emails": ["ops"]}},
        "notification_spec.user_emails: 'ops' is not an email address",
    ),
    (
        400,
        {"training_dataset": {"uri": "a.csv", "artifact_id": 3}},
        "training_dataset: give one of source, uri or artifact_id",
    ),
    (
        400,
        {"training_dataset": {"artifact_id": 77}},
        "training_dataset.artifact_id: the metadata store has no artifact 77",
    ),
    (400, {"training_dataset": {"source": "bq"}}, "body.training_dataset.source: Input should be"),
    (404, {"target": "nobody"}, "target 'nobody': no model 'nobody'"),
    (404, {"target": "churn@9"}, "target 'churn@9': model 'churn' has no version 9"),
    (409, {"name": "taken"}, "name: a monitor 'taken' already exists"),
]


@pytest.mark.parametrize(("code", "change", "message"), BAD, ids=[b[2][:40] for b in BAD])
def test_bad_creations_answer_the_status_and_name_the_field(api, churn, code, change, message):
    assert (
        api.post("/api/v1/monitors", json={"name": "taken", "target": "churn"}).status_code == 201
    )
    answer = api.post("/api/v1/monitors", json={**CREATE, **change})
    error = error_of(answer, code)
    assert error["message"].startswith(message), error["message"]
    assert [m["name"] for m in api.get("/api/v1/monitors").json()["monitors"]] == ["taken"]


def test_bad_changes_and_unknown_monitors(api, churn):
    assert api.post("/api/v1/monitors", json=CREATE).status_code == 201
    for method, path, body, code, message in [
        ("GET", "/api/v1/monitors/nope", None, 404, "no monitor 'nope'"),
        ("PATCH", "/api/v1/monitors/nope", {"window": "1h"}, 404, "no monitor 'nope'"),
        ("DELETE", "/api/v1/monitors/nope", None, 404, "no monitor 'nope'"),
        ("GET", "/api/v1/monitors/1st", None, 400, "path.monitor '1st' is not a monitor name"),
        ("PATCH", "/api/v1/monitors/m", {"name": "n"}, 400, "body.name is not a field"),
        ("PATCH", "/api/v1/monitors/m", {"target": "churn@7"}, 404, "target 'churn@7'"),
        (
            "PATCH",
            "/api/v1/monitors/m",
            {"model_monitoring_schema": {"feature_fields": []}},
            400,
            "body.model_monitoring_schema.feature_fields: List should have at least 1 item",
        ),
        (
            "PATCH",
            "/api/v1/monitors/m",
            {"tabular_objective": {"feature_drift_spec": {"features": ["nope"]}}},
            400,
            "tabular_objective.feature_drift_spec.features: 'nope' is not one",
        ),
    ]:
        answer = api.request(method, path, json=body)
        error = error_of(answer, code)
        assert error["message"].startswith(message), (method, path, error["message"])
    assert api.get("/api/v1/monitors/m").json()["window"] == "1d"


def test_a_monitor_a_schedule_runs_is_not_deleted(api, churn):
    assert api.post("/api/v1/monitors", json=CREATE).status_code == 201
    churn.schedules.create("hourly", "0 * * * *", {"model_monitoring_job": {"monitor": "m"}})
    error = error_of(api.delete("/api/v1/monitors/m"), 409)
    assert error["message"] == (
        "monitor 'm' is in use: schedule 'hourly' runs its jobs; delete that schedule first "
        "(`conveyor schedules delete hourly`)"
    )
    churn.schedules.delete("hourly")
    assert api.delete("/api/v1/monitors/m").json() == {"name": "m", "jobs_deleted": 0}


def test_the_routes_are_described_with_their_roles(api):
    document = api.get("/openapi.json").json()
    operations = {
        (method.upper(), path): op["x-conveyor-role"]
        for path, ops in document["paths"].items()
        if path.startswith("/api/v1/monitors")
        for method, op in ops.items()
    }
    assert operations == {
        ("GET", "/api/v1/monitors"): "read",
        ("POST", "/api/v1/monitors"): "admin",
        ("GET", "/api/v1/monitors/{monitor}"): "read",
        ("PATCH", "/api/v1/monitors/{monitor}"): "admin",
        ("DELETE", "/api/v1/monitors/{monitor}"): "admin",
        ("GET", "/api/v1/monitors/{monitor}/alerts"): "read",
        ("POST", "/api/v1/monitors/{monitor}/jobs"): "admin",
        ("GET", "/api/v1/monitors/{monitor}/jobs"): "read",
        ("GET", "/api/v1/monitors/{monitor}/jobs/{job_id}"): "read",
        ("GET", "/api/v1/monitors/{monitor}/metrics"): "read",
        ("POST", "/api/v1/monitors/{monitor}/feedback"): "admin",
        ("GET", "/api/v1/monitors/{monitor}/jobs/{job_id}/report"): "read",
    }
    name = document["paths"]["/api/v1/monitors/{monitor}"]["get"]["parameters"][0]
    assert name["schema"]["pattern"] == "^(?:[A-Za-z][A-Za-z0-9_-]{0,127})$"
