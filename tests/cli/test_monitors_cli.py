"""`conveyor monitors`: create, list, show, update and delete through the real entry point,
exit codes and messages included; `--cron` keeps a schedule named after the monitor."""

from __future__ import annotations

import json

import pytest

from conveyor.automation.requests import monitoring_job
from conveyor.home import open_home

SCHEMA = [{"name": "tenure", "type": "integer"}, {"name": "plan", "type": "string"}]


@pytest.fixture
def churn(tmp_path):
    """Model `churn`, versions 1 and 2, `production` on 1, in the test's home."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "predictor.py").write_text("class Predictor:\n    pass\n")
    with open_home() as home:
        home.registry.upload("churn", folder, framework="custom", input_schema=SCHEMA)
        home.registry.upload("churn", folder, framework="custom", input_schema=SCHEMA)
        home.registry.set_alias("churn", "production", 1)
    return folder


def move_production(version):
    with open_home() as home:
        home.registry.set_alias("churn", "production", version)


def shown(cli, name):
    done = cli("monitors", "show", name, "--json")
    assert done.code == 0, done.err
    return json.loads(done.out)


def test_create_with_the_defaults(cli, churn):
    done = cli("monitors", "create", "churn-drift", "--model", "churn@production")
    assert done.code == 0, done.err
    assert done.out.strip() == (
        "Created monitor churn-drift of churn@production (version 1): "
        "feature drift, output drift, skew"
    )
    monitor = shown(cli, "churn-drift")
    assert [f["name"] for f in monitor["model_monitoring_schema"]["feature_fields"]] == [
        "tenure",
        "plan",
    ]
    objective = monitor["tabular_objective"]
    drift = [key for key in objective if key != "model_performance_spec"]  # off by default
    assert all(objective[key]["default_numeric_alert_threshold"] == 0.3 for key in drift)
    assert monitor["notification_spec"]["enable_alert_log"] is True
    assert (monitor["window"], monitor["min_samples"], monitor["training_dataset"]) == (
        "1d",
        100,
        {"source": "lineage"},
    )


def test_create_with_flags(cli, churn, tmp_path):
    data = tmp_path / "train.csv"
    data.write_text("tenure,plan\n1,a\n")
    done = cli(
        "monitors",
        "create",
        "churn-drift",
        "--model",
        "churn@2",
        "--json",
        "--baseline",
        str(data),
        "--no-output-drift",
        "--threshold",
        "plan=0.1",
        "--numeric-threshold",
        "0.2",
        "--categorical-metric",
        "jensen_shannon_divergence",
        "--feature",
        "plan",
        "--window",
        "1h",
        "--offset",
        "30m",
        "--cron",
        "0 * * * *",
        "--webhook",
        "https://hooks.example.com/ml",
        "--webhook-secret-setting",
        "HOOK_KEY",
        "--email",
        "ops@example.com",
        "--no-alert-log",
        "--cooldown",
        "2h",
        "--sampling-rate",
        "0.5",
        "--min-samples",
        "10",
    )
    assert done.code == 0, done.err
    monitor = json.loads(done.out)
    assert (monitor["alias"], monitor["model_version_id"]) == (None, 2)
    objective = monitor["tabular_objective"]
    assert objective["prediction_output_drift_spec"] is None
    for key in ("feature_drift_spec", "feature_skew_spec"):
        assert objective[key]["features"] == ["plan"]
        assert objective[key]["feature_alert_thresholds"] == {"plan": 0.1}
        assert objective[key]["default_numeric_alert_threshold"] == 0.2
        assert objective[key]["categorical_metric_type"] == "jensen_shannon_divergence"
    assert monitor["training_dataset"] == {"uri": str(data)}
    assert monitor["notification_spec"] == {
        "enable_alert_log": False,
        "webhook": {"url": "https://hooks.example.com/ml", "secret_setting": "HOOK_KEY"},
        "user_emails": ["ops@example.com"],
        "cooldown": "2h",
    }
    assert (monitor["window"], monitor["offset"], monitor["cron"]) == ("1h", "30m", "0 * * * *")
    assert (monitor["sampling_rate"], monitor["min_samples"]) == (0.5, 10)


def test_a_monitor_follows_its_alias_in_list_and_show(cli, churn):
    assert cli("monitors", "create", "churn-drift", "--model", "churn@production").code == 0
    move_production(2)
    listed = cli("monitors", "list")
    assert listed.code == 0
    assert "churn@production (version 2)" in listed.out
    assert json.loads(cli("monitors", "list", "--json").out)[0]["model_version_id"] == 2
    text = cli("monitors", "show", "churn-drift").out
    assert "watches:       churn@production (version 2), following production" in text
    assert "plan        feature     categorical  l_infinity > 0.3" in text


def test_update_changes_only_what_is_named(cli, churn):
    assert (
        cli(
            "monitors",
            "create",
            "churn-drift",
            "--model",
            "churn@production",
            "--cron",
            "0 3 * * *",
        ).code
        == 0
    )
    done = cli(
        "monitors",
        "update",
        "churn-drift",
        "--no-skew",
        "--threshold",
        "tenure=0.2",
        "--window",
        "1w",
        "--email",
        "ops@example.com",
    )
    assert done.code == 0, done.err
    assert done.out.strip() == (
        "Updated monitor churn-drift of churn@production (version 1): feature drift, output drift; "
        "jobs at '0 3 * * *' (schedule churn-drift)"
    )
    monitor = shown(cli, "churn-drift")
    objective = monitor["tabular_objective"]
    assert objective["feature_skew_spec"] is None
    assert objective["feature_drift_spec"]["feature_alert_thresholds"] == {"tenure": 0.2}
    assert objective["prediction_output_drift_spec"]["feature_alert_thresholds"] == {}
    assert (monitor["window"], monitor["cron"]) == ("1w", "0 3 * * *")
    assert monitor["notification_spec"]["user_emails"] == ["ops@example.com"]

    done = cli(
        "monitors",
        "update",
        "churn-drift",
        "--no-cron",
        "--no-email",
        "--model",
        "churn@2",
        "--json",
    )
    monitor = json.loads(done.out)
    assert (monitor["cron"], monitor["notification_spec"]["user_emails"], monitor["target"]) == (
        None,
        [],
        "churn@2",
    )
    with open_home() as home:
        assert home.schedules.list() == []


def test_delete(cli, churn):
    assert cli("monitors", "create", "churn-drift", "--model", "churn").code == 0
    done = cli("monitors", "delete", "churn-drift")
    assert (done.code, done.out.strip()) == (
        0,
        "Deleted monitor churn-drift and the records of 0 jobs",
    )
    assert cli("monitors", "list").out.strip().startswith("No monitors yet")
    assert json.loads(cli("monitors", "list", "--json").out) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "1st", "--model", "churn"], "error: name: monitor name '1st' is not valid"),
        (["create", "m", "--model", "nobody"], "error: target 'nobody': no model 'nobody'"),
        (
            ["create", "m", "--model", "churn@staging"],
            "error: target 'churn@staging': no version of model 'churn' holds alias 'staging'",
        ),
        (
            ["create", "m", "--model", "churn", "--threshold", "age=0.1"],
            "error: --threshold age=...: 'age' is not a field of the monitor's schema (fields: plan, prediction, tenure)",
        ),
        (
            ["create", "m", "--model", "churn", "--threshold", "plan"],
            "error: --threshold takes FEATURE=VALUE with a number from 0 to 1, got 'plan'",
        ),
        (
            ["create", "m", "--model", "churn", "--threshold", "plan=2"],
            "error: --threshold takes FEATURE=VALUE",
        ),
        (
            ["create", "m", "--model", "churn", "--numeric-threshold", "1.5"],
            "error: --numeric-threshold 1.5 is not a threshold",
        ),
        (
            ["create", "m", "--model", "churn", "--feature", "age"],
            "error: tabular_objective.feature_drift_spec.features: 'age' is not one of the schema's feature_fields",
        ),
        (
            ["create", "m", "--model", "churn", "--window", "1 day"],
            "error: window: '1 day' is not a duration",
        ),
        (
            ["create", "m", "--model", "churn", "--cron", "* * *"],
            "error: --cron: '* * *' has 3 fields; a cron has 5",
        ),
        (
            ["create", "m", "--model", "churn", "--webhook", "hooks.example.com"],
            "error: notification_spec.webhook.url: 'hooks.example.com' is not a webhook URL",
        ),
        (
            ["create", "m", "--model", "churn", "--email", "ops"],
            "error: notification_spec.user_emails: 'ops' is not an email address",
        ),
        (
            ["create", "m", "--model", "churn", "--baseline", "nowhere.csv"],
            "error: training_dataset.uri: ",
        ),
        (
            ["create", "m", "--model", "churn", "--baseline", "424242"],
            "error: training_dataset.artifact_id: the metadata store has no artifact 424242",
        ),
        (
            [
                "create",
                "m",
                "--model",
                "churn",
                "--no-feature-drift",
                "--no-skew",
                "--no-output-drift",
            ],
            "error: tabular_objective: turn on at least one objective",
        ),
        (
            ["create", "m", "--model", "churn", "--schema", "missing.json"],
            "error: --schema missing.json: cannot read it",
        ),
        (["show", "nope"], "error: no monitor 'nope'; `conveyor monitors list` shows the monitors"),
        (["update", "nope", "--window", "1h"], "error: no monitor 'nope'"),
        (["delete", "nope"], "error: no monitor 'nope'"),
        (
            ["update", "taken", "--cron", "0 3 * * *", "--no-cron"],
            "error: give --cron or --no-cron, not both",
        ),
        (["update", "taken", "--min-samples", "0"], "error: min_samples: 0 is not a count"),
        (["create", "taken", "--model", "churn"], "error: name: a monitor 'taken' already exists"),
    ],
)
def test_bad_input_exits_2_naming_what_is_wrong(cli, churn, args, message):
    assert cli("monitors", "create", "taken", "--model", "churn").code == 0
    done = cli("monitors", *args)
    assert done.code == 2, (done.out, done.err)
    assert done.err.startswith(message), done.err
    assert "Traceback" not in done.err


def test_a_schema_file_for_a_model_without_one(cli, churn, tmp_path):
    with open_home() as home:
        home.registry.upload("bare", churn, framework="custom")
    done = cli("monitors", "create", "bare-drift", "--model", "bare")
    assert done.code == 2
    assert done.err.startswith("error: model_monitoring_schema: bare@1 has no input schema")
    assert "--schema FILE" in done.err
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"feature_fields": [{"name": "age", "data_type": "float"}]}))
    done = cli(
        "monitors",
        "create",
        "bare-drift",
        "--model",
        "bare",
        "--schema",
        str(schema),
        "--threshold",
        "age=0.5",
        "--json",
    )
    assert done.code == 0, done.err
    assert json.loads(done.out)["tabular_objective"]["feature_skew_spec"][
        "feature_alert_thresholds"
    ] == {"age": 0.5}


def schedule_of(name):
    with open_home() as home:
        return {s.name: s for s in home.schedules.list()}.get(name)


def test_cron_keeps_a_schedule_of_the_monitors_jobs(cli, churn):
    done = cli("monitors", "create", "churn-drift", "--model", "churn", "--cron", "0 * * * *")
    assert done.code == 0, done.err
    assert done.out.strip().endswith("; jobs at '0 * * * *' (schedule churn-drift)")
    made = schedule_of("churn-drift")
    assert (made.cron, made.request) == ("0 * * * *", monitoring_job("churn-drift"))
    listed = cli("monitors", "list").out
    assert "CRON" in listed and "0 * * * *" in listed
    text = cli("monitors", "show", "churn-drift").out
    assert "schedule:      0 * * * * (UTC), schedule churn-drift (ACTIVE)" in text

    paris = "TZ=Europe/Paris 0 3 * * *"
    assert cli("monitors", "update", "churn-drift", "--cron", paris).code == 0
    assert schedule_of("churn-drift").cron == paris
    assert shown(cli, "churn-drift")["cron"] == paris

    assert cli("monitors", "update", "churn-drift", "--cron", "").code == 0
    assert schedule_of("churn-drift") is None
    assert "schedule:      none (jobs on demand" in cli("monitors", "show", "churn-drift").out

    assert cli("monitors", "update", "churn-drift", "--cron", "*/5 * * * *").code == 0
    done = cli("monitors", "delete", "churn-drift", "--json")
    assert json.loads(done.out) == {
        "deleted": "churn-drift",
        "jobs_deleted": 0,
        "schedule_deleted": True,
    }
    assert schedule_of("churn-drift") is None


def test_a_schedule_of_that_name_doing_something_else_is_left_alone(cli, churn):
    assert cli("monitors", "create", "other", "--model", "churn").code == 0
    with open_home() as home:
        home.schedules.create("churn-drift", "0 * * * *", monitoring_job("other"))
    done = cli("monitors", "create", "churn-drift", "--model", "churn", "--cron", "0 3 * * *")
    assert done.code == 2
    assert done.err.startswith(
        "error: --cron: schedule 'churn-drift' exists and does something else (monitor other)"
    )
    assert cli("monitors", "show", "churn-drift").code == 2  # nothing was created
    assert cli("monitors", "create", "churn-drift", "--model", "churn").code == 0
    done = cli("monitors", "update", "churn-drift", "--cron", "0 3 * * *")
    assert done.code == 2 and "does something else" in done.err
    assert cli("monitors", "update", "churn-drift", "--no-cron").code == 0  # not its schedule
    assert schedule_of("churn-drift").request == monitoring_job("other")
    assert shown(cli, "churn-drift")["cron"] is None


def test_a_monitor_another_schedule_runs_is_not_deleted(cli, churn):
    made = cli("monitors", "create", "churn-drift", "--model", "churn", "--cron", "0 3 * * *")
    assert made.code == 0
    with open_home() as home:
        home.schedules.create("hourly", "0 * * * *", monitoring_job("churn-drift"))
    done = cli("monitors", "delete", "churn-drift")
    assert done.code == 2
    assert done.err.startswith(
        "error: monitor 'churn-drift' is in use: schedule 'hourly' runs its jobs; delete that "
        "schedule first (`conveyor schedules delete hourly`)"
    )
    assert schedule_of("churn-drift") is not None  # nothing went
    assert cli("schedules", "delete", "hourly", "--yes").code == 0
    done = cli("monitors", "delete", "churn-drift")
    assert done.out.strip() == "Deleted monitor churn-drift, its schedule and the records of 0 jobs"
