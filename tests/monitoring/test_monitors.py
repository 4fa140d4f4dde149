"""Model monitors: created with the registry's schema and Vertex AI's defaults, following an
alias as it moves, refusing bad input by the field's name, and deleted with their jobs'
records (not their executions); the store migrates to the monitoring tables."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, insert, select, text

from conveyor.errors import UsageError
from conveyor.monitoring import (
    DataDriftSpec,
    DataType,
    FieldSchema,
    JobState,
    MetricType,
    MonitorConflict,
    MonitorNotFound,
    MonitorUsageError,
    NotificationSpec,
    Objective,
    TabularObjective,
    TargetNotFound,
    parse_duration,
)
from conveyor.registry import ArtifactPolicy, Registry
from conveyor.store.metadata import MetadataStore, NotFound, schema
from conveyor.store.metadata.monitoring_models import (
    AlertDelivery,
    ModelMonitoringAlert,
    ModelMonitoringJob,
    ModelMonitoringMetric,
)
from conveyor.store.metadata.recording import now


def test_a_monitor_takes_its_schema_from_the_registry_and_vertex_defaults(monitors):
    made = monitors.create("churn-drift", "churn@production")
    assert (made.name, made.display_name, made.target) == (
        "churn-drift",
        "churn-drift",
        "churn@production",
    )
    assert (made.model, made.alias, made.model_version_id) == ("churn", "production", 1)
    assert made.model_monitoring_schema.feature_fields == [
        FieldSchema("tenure", DataType.INTEGER),
        FieldSchema("charges", DataType.FLOAT),
        FieldSchema("plan", DataType.CATEGORICAL),
    ]
    assert made.model_monitoring_schema.prediction_fields == [
        FieldSchema("prediction", DataType.CATEGORICAL)
    ]
    assert made.model_monitoring_schema.ground_truth_fields == []
    objective = made.tabular_objective
    assert set(objective.specs()) == set(Objective) - {Objective.MODEL_PERFORMANCE}  # drift all on
    for spec in objective.specs().values():
        assert spec == DataDriftSpec()
        assert spec.categorical_metric_type is MetricType.L_INFINITY
        assert spec.numeric_metric_type is MetricType.JENSEN_SHANNON_DIVERGENCE
        assert (spec.default_numeric_alert_threshold, spec.default_categorical_alert_threshold) == (
            0.3,
            0.3,
        )
    assert made.training_dataset == {"source": "lineage"}
    assert made.notification_spec == NotificationSpec(enable_alert_log=True, cooldown="1d")
    assert (made.window, made.offset, made.sampling_rate, made.min_samples) == (
        "1d",
        None,
        1.0,
        100,
    )
    assert made.created_by == "alice"
    assert monitors.get("churn-drift") == made
    assert [m.name for m in monitors.list()] == ["churn-drift"]
    assert (
        made.to_json()["tabular_objective"]["feature_skew_spec"]["categorical_metric_type"]
        == "l_infinity"
    )


def test_the_output_schema_gives_the_prediction_fields(monitors, registry, model_folder):
    registry.upload(
        "price",
        model_folder,
        framework="custom",
        input_schema=[{"name": "rooms", "type": "integer"}],
        output_schema=[{"name": "price", "type": "float"}],
    )
    made = monitors.create("price-drift", "price")
    assert made.model_monitoring_schema.prediction_fields == [FieldSchema("price", DataType.FLOAT)]
    assert (made.alias, made.model_version_id) == ("default", 1)


def test_a_monitor_following_an_alias_resolves_to_the_new_version(monitors, registry):
    monitors.create("follows", "churn@production")
    monitors.create("pinned", "churn@1")
    assert monitors.target_version("follows").version_id == 1

    registry.set_alias("churn", "production", 2)  # a promotion
    assert monitors.get("follows").model_version_id == 2
    assert {m.name: m.model_version_id for m in monitors.list()} == {"follows": 2, "pinned": 1}
    assert monitors.target_version("follows").version_id == 2
    assert monitors.get("pinned").alias is None

    registry.remove_alias("churn", "production")
    assert monitors.get("follows").model_version_id is None  # shown, not broken
    with pytest.raises(TargetNotFound, match="target 'churn@production': no version"):
        monitors.target_version("follows")


def test_a_model_without_a_schema_needs_one_given(quick, model_folder):
    quick.registry.upload("bare", model_folder, framework="custom")
    with pytest.raises(MonitorUsageError) as refused:
        quick.create("bare-drift", "bare@1")
    message = str(refused.value)
    assert message.startswith("model_monitoring_schema: bare@1 has no input schema")
    assert "--schema" in message and "model_monitoring_schema" in message

    made = quick.create(
        "bare-drift",
        "bare@1",
        model_monitoring_schema=[
            {"name": "age", "type": "integer"},
            {"name": "city", "type": "string"},
        ],
    )
    assert made.model_monitoring_schema.feature_fields == [
        FieldSchema("age", DataType.INTEGER),
        FieldSchema("city", DataType.CATEGORICAL),
    ]
    again = quick.create(
        "bare-2",
        "bare",
        model_monitoring_schema={
            "feature_fields": [{"name": "age", "data_type": "float"}],
            "prediction_fields": [{"name": "score", "data_type": "float"}],
            "ground_truth_fields": [{"name": "churned", "data_type": "boolean"}],
        },
    )
    assert again.model_monitoring_schema.ground_truth_fields == [
        FieldSchema("churned", DataType.BOOLEAN)
    ]


def test_objectives_and_thresholds_as_given(quick):
    made = quick.create(
        "custom",
        "churn",
        tabular_objective={
            "feature_drift_spec": {
                "features": ["plan", "tenure"],
                "categorical_metric_type": "jensen_shannon_divergence",
                "feature_alert_thresholds": {"plan": 0.1},
            },
            "feature_skew_spec": {"default_numeric_alert_threshold": 1},
        },
        window="1h",
        offset="0s",
        sampling_rate=0.5,
        min_samples=1,
        notification_spec={
            "enable_alert_log": False,
            "webhook": {"url": "http://127.0.0.1:9/hook", "secret_setting": "HOOK_KEY"},
            "user_emails": ["ops@localhost", "ops@localhost"],
            "cooldown": "0s",
        },
    )
    drift = made.tabular_objective.feature_drift_spec
    fields = {f.name: f for f in made.model_monitoring_schema.feature_fields}
    assert [f.name for f in drift.watched(made.model_monitoring_schema.feature_fields)] == [
        "tenure",
        "plan",
    ]
    assert drift.threshold(fields["plan"]) == 0.1 and drift.threshold(fields["tenure"]) == 0.3
    assert drift.metric_type(fields["plan"]) is MetricType.JENSEN_SHANNON_DIVERGENCE
    assert made.tabular_objective.prediction_output_drift_spec is None  # left out: off
    assert made.tabular_objective.feature_skew_spec.default_numeric_alert_threshold == 1.0
    assert (made.window, made.offset, made.sampling_rate, made.min_samples) == (
        "1h",
        "0s",
        0.5,
        1,
    )
    spec = made.notification_spec
    assert (spec.enable_alert_log, spec.webhook.url, spec.webhook.secret_setting) == (
        False,
        "http://127.0.0.1:9/hook",
        "HOOK_KEY",
    )
    assert (spec.user_emails, spec.cooldown) == (["ops@localhost"], "0s")
    # Records are accepted as well as their JSON.
    other = quick.create(
        "records",
        "churn",
        tabular_objective=TabularObjective(
            prediction_output_drift_spec=None, feature_skew_spec=None
        ),
        notification_spec=NotificationSpec(user_emails=["a@b.c"]),
    )
    assert list(other.tabular_objective.specs()) == [Objective.FEATURE_DRIFT]


BAD = [
    ({"name": "1st"}, "name: monitor name '1st' is not valid"),
    ({"name": "a" * 129}, "name: monitor name"),
    ({"target": "churn@"}, "target: 'churn@' ends with '@'"),
    ({"target": "no such"}, "target: model name 'no such' is not valid"),
    ({"display_name": ""}, "display_name:"),
    ({"window": "0d"}, "window: '0d' is not a duration"),
    ({"window": "1y"}, "window: '1y' is not a duration"),
    ({"window": "1.5h"}, "window: '1.5h' is not a duration"),
    ({"window": 3600}, "window: 3600 is not a duration"),
    ({"window": "99999w"}, "window: '99999w' is not a duration"),
    ({"window": "739819956w"}, "window: '739819956w' is not a duration"),  # past timedelta
    ({"offset": "-1h"}, "offset: '-1h' is not a duration"),
    ({"sampling_rate": 0}, "sampling_rate: 0 is not a rate"),
    ({"sampling_rate": 1.5}, "sampling_rate: 1.5 is not a rate"),
    ({"sampling_rate": True}, "sampling_rate: True is not a rate"),
    ({"min_samples": 0}, "min_samples: 0 is not a count"),
    ({"min_samples": 2.5}, "min_samples: 2.5 is not a count"),
    ({"tabular_objective": {}}, "tabular_objective: turn on at least one objective"),
    ({"tabular_objective": []}, "tabular_objective: give an object"),
    ({"tabular_objective": {"drift": {}}}, "tabular_objective.drift: not a field here"),
    (
        {"tabular_objective": {"feature_drift_spec": {"features": ["age"]}}},
        "tabular_objective.feature_drift_spec.features: 'age' is not one of the schema's "
        "feature_fields (tenure, charges, plan)",
    ),
    (
        {"tabular_objective": {"feature_drift_spec": {"features": []}}},
        "tabular_objective.feature_drift_spec.features: name at least one field",
    ),
    (
        {"tabular_objective": {"feature_skew_spec": {"feature_alert_thresholds": {"age": 0.1}}}},
        "tabular_objective.feature_skew_spec.feature_alert_thresholds.age: 'age' is not a "
        "field this objective watches",
    ),
    (
        {
            "tabular_objective": {
                "feature_drift_spec": {
                    "features": ["plan"],
                    "feature_alert_thresholds": {"tenure": 0.1},
                }
            }
        },
        "tabular_objective.feature_drift_spec.feature_alert_thresholds.tenure: 'tenure' is not "
        "a field this objective watches (plan)",
    ),
    (
        {"tabular_objective": {"feature_drift_spec": {"default_numeric_alert_threshold": 1.5}}},
        "tabular_objective.feature_drift_spec.default_numeric_alert_threshold: 1.5 is not a threshold",
    ),
    (
        {
            "tabular_objective": {
                "feature_drift_spec": {"default_categorical_alert_threshold": -0.1}
            }
        },
        "tabular_objective.feature_drift_spec.default_categorical_alert_threshold: -0.1 is not",
    ),
    (
        {"tabular_objective": {"feature_drift_spec": {"default_numeric_alert_threshold": "0.3"}}},
        "tabular_objective.feature_drift_spec.default_numeric_alert_threshold: '0.3' is not",
    ),
    (
        {"tabular_objective": {"feature_drift_spec": {"feature_alert_thresholds": {"plan": True}}}},
        "tabular_objective.feature_drift_spec.feature_alert_thresholds.plan: True is not a threshold",
    ),
    (
        {"tabular_objective": {"feature_drift_spec": {"numeric_metric_type": "l_infinity"}}},
        "tabular_objective.feature_drift_spec.numeric_metric_type: 'l_infinity' is not a "
        "metric type here; use jensen_shannon_divergence",
    ),
    (
        {"tabular_objective": {"feature_drift_spec": {"categorical_metric_type": "chi2"}}},
        "tabular_objective.feature_drift_spec.categorical_metric_type: 'chi2' is not",
    ),
    (
        {
            "model_monitoring_schema": {
                "feature_fields": [{"name": "tenure", "data_type": "integer"}],
                "prediction_fields": [],
            },
            "tabular_objective": {"prediction_output_drift_spec": {}},
        },
        "tabular_objective.prediction_output_drift_spec: the monitoring schema has no "
        "prediction_fields",
    ),
    (
        {"model_monitoring_schema": {"feature_fields": []}},
        "model_monitoring_schema.feature_fields: give at least one",
    ),
    ({"model_monitoring_schema": "tenure"}, "model_monitoring_schema: give an object"),
    (
        {"model_monitoring_schema": [{"name": "a", "data_type": "text"}]},
        "model_monitoring_schema.feature_fields.0.data_type: 'text' is not a data type",
    ),
    (
        {
            "model_monitoring_schema": [
                {"name": "a", "type": "integer"},
                {"name": "a", "type": "float"},
            ]
        },
        "model_monitoring_schema.feature_fields.1.name: field 'a' appears twice",
    ),
    (
        {"model_monitoring_schema": [{"name": "a", "data_type": "float", "unit": "kg"}]},
        "model_monitoring_schema.feature_fields.0.unit: not a field here",
    ),
    ({"training_dataset": "missing/train.csv"}, "training_dataset.uri: "),
    ({"training_dataset": {"uri": ""}}, "training_dataset.uri: give the dataset's path"),
    (
        {"training_dataset": {"uri": "x.csv", "data_format": "xls"}},
        "training_dataset.data_format: 'xls' is not a format",
    ),
    (
        {"training_dataset": {"source": "bigquery"}},
        "training_dataset.source: 'bigquery' is not a source",
    ),
    (
        {"training_dataset": {"artifact_id": 0}},
        "training_dataset.artifact_id: 0 is not an artifact id",
    ),
    (
        {"training_dataset": 987654},
        "training_dataset.artifact_id: the metadata store has no artifact 987654",
    ),
    (
        {"training_dataset": {"uri": "a", "artifact_id": 1}},
        "training_dataset: give one of source, uri or artifact_id",
    ),
    ({"training_dataset": {}}, "training_dataset: give"),
    ({"training_dataset": "ftp://host/train.csv"}, "training_dataset.uri: not readable here"),
    (
        {"notification_spec": {"enable_alert_log": "yes"}},
        "notification_spec.enable_alert_log: give true or false",
    ),
    (
        {"notification_spec": {"user_emails": "ops@example.com"}},
        "notification_spec.user_emails: give a list",
    ),
    (
        {"notification_spec": {"user_emails": ["ops"]}},
        "notification_spec.user_emails: 'ops' is not an email address",
    ),
    (
        {"notification_spec": {"webhook": {"url": "ftp://x/y"}}},
        "notification_spec.webhook.url: 'ftp://x/y' is not a webhook URL",
    ),
    (
        {"notification_spec": {"webhook": {"url": "https://"}}},
        "notification_spec.webhook.url: 'https://' is not a webhook URL: the URL names no host",
    ),
    (
        {"notification_spec": {"webhook": {"url": "http://h/x", "secret_setting": "my secret"}}},
        "notification_spec.webhook.secret_setting: 'my secret' is not the name",
    ),
    (
        {"notification_spec": {"cooldown": "soon"}},
        "notification_spec.cooldown: 'soon' is not a duration",
    ),
    ({"notification_spec": {"channels": []}}, "notification_spec.channels: not a field here"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m[:50] for _, m in BAD])
def test_bad_input_is_refused_naming_the_field(quick, change, message):
    fields = {"name": "churn-drift", "target": "churn@production", **change}
    with pytest.raises(MonitorUsageError) as refused:
        quick.create(fields.pop("name"), fields.pop("target"), **fields)
    assert str(refused.value).startswith(message), str(refused.value)
    assert refused.value.http_status == 400 and refused.value.exit_code == 2
    assert quick.list() == []


def test_a_target_that_names_no_version_is_not_found(quick):
    for target, says in [
        ("nobody", "target 'nobody': no model 'nobody'"),
        ("churn@9", "target 'churn@9': model 'churn' has no version 9"),
        (
            "churn@staging",
            "target 'churn@staging': no version of model 'churn' holds alias 'staging'",
        ),
    ]:
        with pytest.raises(TargetNotFound) as missing:
            quick.create("m", target)
        assert str(missing.value).startswith(says), str(missing.value)
        assert isinstance(missing.value, NotFound) and missing.value.http_status == 404


def test_a_name_is_taken_once(quick):
    quick.create("churn-drift", "churn")
    with pytest.raises(
        MonitorConflict, match="name: a monitor 'churn-drift' already exists"
    ) as taken:
        quick.create("churn-drift", "churn@2")
    assert taken.value.http_status == 409
    with pytest.raises(MonitorNotFound, match="no monitor 'other'"):
        quick.get("other")
    with pytest.raises(MonitorNotFound):
        quick.update("other", window="1h")
    with pytest.raises(MonitorNotFound):
        quick.delete("other")


def test_update_changes_what_is_given_and_none_restores_the_default(
    monitors, registry, model_folder
):
    made = monitors.create("churn-drift", "churn@production", window="1h")
    changed = monitors.update("churn-drift", window="1w", display_name="Churn drift")
    assert (changed.window, changed.display_name) == ("1w", "Churn drift")
    assert changed.tabular_objective == made.tabular_objective
    assert changed.created_at == made.created_at and changed.updated_at >= made.updated_at

    back = monitors.update("churn-drift", window=None, display_name=None)
    assert (back.window, back.display_name) == ("1d", "churn-drift")

    moved = monitors.update("churn-drift", target="churn@2")
    assert (moved.target, moved.alias, moved.model_version_id) == ("churn@2", None, 2)
    with pytest.raises(TargetNotFound):
        monitors.update("churn-drift", target="churn@7")

    # A new schema checks the objectives kept against it.
    monitors.update(
        "churn-drift",
        tabular_objective={"feature_drift_spec": {"feature_alert_thresholds": {"plan": 0.2}}},
    )
    with pytest.raises(
        MonitorUsageError,
        match=r"^tabular_objective\.feature_drift_spec\.feature_alert_thresholds\.plan: 'plan'",
    ):
        monitors.update(
            "churn-drift", model_monitoring_schema=[{"name": "tenure", "type": "integer"}]
        )
    assert monitors.get(
        "churn-drift"
    ).tabular_objective.feature_drift_spec.feature_alert_thresholds == {"plan": 0.2}

    # None: the schema of the version the target names now.
    registry.upload(
        "churn", model_folder, framework="custom", input_schema=[{"name": "age", "type": "float"}]
    )
    fresh = monitors.update(
        "churn-drift", target="churn@3", model_monitoring_schema=None, tabular_objective=None
    )
    assert [f.name for f in fresh.model_monitoring_schema.feature_fields] == ["age"]


def test_deleting_a_monitor_deletes_its_jobs_records_but_not_their_executions(monitors):
    store = monitors.store
    made = monitors.create("churn-drift", "churn@production")
    monitors.create("other", "churn")
    store.create_run("monitor-run", "monitoring")
    execution = store.create_execution("monitor-run", "churn-drift")
    stamp = now()
    with store.transaction(write=True) as conn:
        monitor_id = conn.execute(
            text("SELECT id FROM model_monitors WHERE name = 'churn-drift'")
        ).scalar()
        other_id = conn.execute(text("SELECT id FROM model_monitors WHERE name = 'other'")).scalar()
        for owner in (monitor_id, other_id):
            job = conn.execute(
                insert(ModelMonitoringJob.__table__).values(
                    monitor_id=owner,
                    execution_id=execution,
                    state=JobState.SUCCEEDED.value,
                    model_name="churn",
                    model_version_id=1,
                    window_start=stamp,
                    window_end=stamp,
                    created_at=stamp,
                    ended_at=stamp,
                    summary={"anomalies": 1},
                )
            ).inserted_primary_key[0]
            conn.execute(
                insert(ModelMonitoringMetric.__table__).values(
                    job_id=job,
                    monitor_id=owner,
                    feature="plan",
                    objective="feature_drift",
                    metric_type="l_infinity",
                    value=0.5,
                    threshold=0.3,
                    chance_level=0.01,
                    anomaly=True,
                    insufficient_data=False,
                    baseline_count=1000,
                    target_count=900,
                    window_start=stamp,
                    window_end=stamp,
                )
            )
            alert = conn.execute(
                insert(ModelMonitoringAlert.__table__).values(
                    monitor_id=owner,
                    job_id=job,
                    feature="plan",
                    objective="feature_drift",
                    kind="anomaly",
                    value=0.5,
                    threshold=0.3,
                    created_at=stamp,
                    message="plan drifted",
                )
            ).inserted_primary_key[0]
            conn.execute(
                insert(AlertDelivery.__table__).values(
                    alert_id=alert,
                    channel="webhook",
                    destination="http://h/x",
                    state="PENDING",
                    attempts=1,
                    next_attempt_at=stamp,
                )
            )

    assert monitors.delete(made.name) == 1
    with store.transaction() as conn:
        counts = [
            conn.execute(select(func.count()).select_from(model.__table__)).scalar()
            for model in (
                ModelMonitoringJob,
                ModelMonitoringMetric,
                ModelMonitoringAlert,
                AlertDelivery,
            )
        ]
    assert counts == [1, 1, 1, 1]  # the other monitor's
    assert store.get_run("monitor-run").executions[0].id == execution
    assert [m.name for m in monitors.list()] == ["other"]


def test_baselines_by_path_url_artifact_and_lineage(quick, tmp_path):
    data = tmp_path / "train.parquet"
    data.write_bytes(b"PAR1")
    artifact = quick.store.create_artifact(str(data), "system.Dataset", "train")
    assert quick.create("a", "churn", training_dataset=str(data)).training_dataset == {
        "uri": str(data)
    }
    assert quick.create("b", "churn", training_dataset=str(artifact)).training_dataset == {
        "artifact_id": artifact
    }
    assert quick.create(
        "c", "churn", training_dataset={"uri": "s3://bucket/train/", "data_format": "parquet"}
    ).training_dataset == {
        "uri": "s3://bucket/train/",
        "data_format": "parquet",
    }
    assert quick.create("d", "churn", training_dataset="lineage").training_dataset == {
        "source": "lineage"
    }


def test_requests_from_afar_read_baselines_only_under_the_roots(tmp_path, model_folder):
    inside, outside = tmp_path / "allowed", tmp_path / "elsewhere"
    inside.mkdir(), outside.mkdir()
    (inside / "train.csv").write_text("a\n1\n")
    (outside / "train.csv").write_text("a\n1\n")
    with MetadataStore.open(f"sqlite:///{tmp_path / 'm.db'}") as store:
        from conveyor.monitoring import Monitors

        registry = Registry(store, policy=ArtifactPolicy(roots=(inside,)))
        registry.upload(
            "churn",
            model_folder,
            framework="custom",
            input_schema=[{"name": "a", "type": "integer"}],
        )
        remote = Monitors(store, registry).for_requests()
        assert remote.create(
            "in", "churn", training_dataset=str(inside / "train.csv")
        ).training_dataset
        for refused, says in [
            (str(outside / "train.csv"), "is outside the folders"),
            ("https://example.com/train.csv", "never fetches https:// URLs"),
        ]:
            with pytest.raises(
                MonitorUsageError, match=f"^training_dataset.uri: not readable here: .*{says}"
            ):
                remote.create("out", "churn", training_dataset=refused)


def test_durations_have_one_grammar():
    assert parse_duration("30m", "window").total_seconds() == 1800
    assert parse_duration(" 1W ", "window").days == 7
    assert parse_duration("0s", "offset", zero=True).total_seconds() == 0
    with pytest.raises(UsageError, match="^offset: '0s' is not a duration"):
        parse_duration("0s", "offset")


def test_a_store_at_0005_is_migrated_to_the_monitoring_tables(tmp_path, model_folder):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    try:
        schema.prepare(engine, "test store", target="0005")
        with engine.connect() as conn:
            tables = set(
                conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars()
            )
        assert "run_leases" in tables and "model_monitors" not in tables
    finally:
        engine.dispose()
    with MetadataStore.open(url) as store:
        registry = Registry(store)
        registry.upload(
            "churn",
            model_folder,
            framework="custom",
            input_schema=[{"name": "a", "type": "integer"}],
        )
        from conveyor.monitoring import Monitors

        made = Monitors(store, registry).create("churn-drift", "churn")
        assert made.model_version_id == 1
        with store.transaction() as conn:
            version = conn.execute(text(f"SELECT version_num FROM {schema.VERSION_TABLE}")).scalar()
        assert version == schema.head() == "0009"
