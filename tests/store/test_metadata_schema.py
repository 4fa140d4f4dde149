"""Schema migrations, and databases the store refuses: corrupt, foreign, or newer than the code."""

import hashlib
import json
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from conveyor.store.metadata import ArtifactState, MetadataStore, StoreError, schema
from conveyor.store.metadata.tables import metadata

INITIAL = "0001"
OUR_TABLES = {table.name for table in metadata.sorted_tables}


def engine_for(url):
    return create_engine(url)


def tables(url):
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def version(url):
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT version_num FROM {schema.VERSION_TABLE}")).scalar()
    finally:
        engine.dispose()


def execute(url, *statements):
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def test_a_new_store_is_created_at_the_head_revision(store_url):
    MetadataStore.open(store_url).close()
    assert tables(store_url) == OUR_TABLES | {schema.VERSION_TABLE}
    assert version(store_url) == schema.head()


def test_the_models_match_the_migrations(store_url):
    MetadataStore.open(store_url).close()
    engine = engine_for(store_url)
    try:
        with engine.connect() as conn:
            opts = {"compare_type": True, "version_table": schema.VERSION_TABLE}
            context = MigrationContext.configure(conn, opts=opts)
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_an_older_store_is_migrated_and_keeps_its_records(store_url):
    engine = engine_for(store_url)
    try:
        schema.prepare(engine, "test store", target=INITIAL)
    finally:
        engine.dispose()
    assert version(store_url) == INITIAL
    execute(
        store_url,
        "INSERT INTO artifact_types (id, name) VALUES (1, 'system.Model')",
        "INSERT INTO artifacts (id, type_id, uri, name, state, metadata, created_at, updated_at) "
        "VALUES (7, 1, 'file:///old', 'model', 'LIVE', '{}', "
        "'2025-01-01 00:00:00', '2025-01-01 00:00:00')",
    )
    with MetadataStore.open(store_url) as store:
        old = store.get_artifact(7)
        assert (old.uri, old.type, old.state) == ("file:///old", "system.Model", ArtifactState.LIVE)
        assert old.created_at.year == 2025
    assert version(store_url) == schema.head()


def test_runs_recorded_with_their_spec_inline_keep_it_once_migrated(store_url):
    engine = engine_for(store_url)
    try:
        schema.prepare(engine, "test store", target="0003")
    finally:
        engine.dispose()
    spec = {"pipelineInfo": {"name": "p"}, "root": {"dag": {"tasks": {}}}}
    properties = json.dumps({"status": "SUCCEEDED", "parameters": {}, "spec": spec})
    stamp = "'2025-01-01 00:00:00'"
    execute(
        store_url,
        "INSERT INTO context_types (id, name) VALUES (1, 'system.Pipeline'), "
        "(2, 'system.PipelineRun')",
        f"INSERT INTO contexts (id, type_id, name, parent_id, properties, created_at, updated_at) "
        f"VALUES (1, 1, 'p', NULL, '{{}}', {stamp}, {stamp}), "
        f"(2, 2, 'r1', 1, '{properties}', {stamp}, {stamp}), "
        f"(3, 2, 'r2', 1, '{properties}', {stamp}, {stamp})",
    )
    with MetadataStore.open(store_url) as store:
        assert store.get_run("r1").spec == spec
        assert store.get_run("r2").spec == spec
    assert count(store_url, "pipeline_specs") == 1

    engine = engine_for(store_url)
    try:
        with engine.begin() as conn:
            command.downgrade(schema.alembic_config(conn), "0003")
            stored = conn.execute(text("SELECT properties FROM contexts WHERE id = 2")).scalar()
    finally:
        engine.dispose()
    stored = json.loads(stored) if isinstance(stored, str) else stored
    assert stored["spec"] == spec and "spec_digest" not in stored


def count(url, table):
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    finally:
        engine.dispose()


def test_downgrade_to_nothing_and_upgrade_again(store_url):
    MetadataStore.open(store_url).close()
    engine = engine_for(store_url)
    try:
        with engine.begin() as conn:
            command.downgrade(schema.alembic_config(conn), "base")
    finally:
        engine.dispose()
    assert tables(store_url) == {schema.VERSION_TABLE}
    with MetadataStore.open(store_url) as store:
        store.create_run("run-1", "p")
    assert tables(store_url) == OUR_TABLES | {schema.VERSION_TABLE}


def test_a_store_from_a_newer_conveyor_is_refused_and_left_alone(store_url):
    MetadataStore.open(store_url).close()
    execute(store_url, f"UPDATE {schema.VERSION_TABLE} SET version_num = '9999'")
    with pytest.raises(StoreError, match="revision '9999', newer than this Conveyor knows"):
        MetadataStore.open(store_url)
    assert version(store_url) == "9999"


@pytest.mark.parametrize(
    "foreign",
    [
        ["CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)"],
        # Another Alembic application: a version table, but not ours.
        [
            "CREATE TABLE alembic_version (version_num VARCHAR(32))",
            "CREATE TABLE users (id INTEGER)",
        ],
    ],
    ids=["plain", "alembic"],
)
def test_a_foreign_database_is_refused_and_left_alone(store_url, foreign):
    execute(store_url, *foreign)
    before = tables(store_url)
    with pytest.raises(
        StoreError, match=r"is not a Conveyor metadata store: it holds other tables \(.*users"
    ):
        MetadataStore.open(store_url)
    assert tables(store_url) == before


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_foreign_sqlite_file_is_byte_for_byte_unchanged(tmp_path):
    path = tmp_path / "app.db"
    url = f"sqlite:///{path}"
    execute(url, "CREATE TABLE notes (body TEXT)", "INSERT INTO notes VALUES ('keep me')")
    before = sha256(path)
    with pytest.raises(StoreError, match="not a Conveyor metadata store"):
        MetadataStore.open(url)
    assert sha256(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]


@pytest.mark.parametrize(
    "content",
    [b"this is not a database at all\n" * 100, b"SQLite format 3\x00" + b"\xff" * 4000],
    ids=["text", "bad-header"],
)
def test_a_corrupt_file_is_refused_and_left_alone(tmp_path, content):
    path = tmp_path / "metadata.db"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=f"{path} is not a SQLite database.*move the file away"):
        MetadataStore.open(f"sqlite:///{path}")
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metadata.db"]


def test_the_head_revision_is_the_last_migration():
    """`schema.HEAD` spares Alembic's import when a store is current: it must name the
    last migration (bump it with each new one)."""
    from alembic.script import ScriptDirectory

    assert schema.HEAD == ScriptDirectory.from_config(schema.alembic_config()).get_current_head()


def test_opening_a_current_store_imports_no_alembic(tmp_path):
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    code = (
        "import sys; from conveyor.store.metadata import MetadataStore\n"
        f"MetadataStore.open({url!r}).close()\n"
        "print('alembic' in sys.modules)"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert (first.stdout.strip(), again.stdout.strip()) == ("True", "False")


def test_a_monitors_cron_becomes_a_schedule_of_its_jobs(store_url):
    """Migration 0007: each monitor's cron moves to a schedule named after it (an `@daily`
    as its five fields), and back on a downgrade; a monitor without one gets none."""
    engine = engine_for(store_url)
    try:
        schema.prepare(engine, "test store", target="0006")
    finally:
        engine.dispose()
    stamp = "'2025-01-01 00:00:00'"
    monitor = (
        "INSERT INTO model_monitors (id, name, display_name, target, training_dataset, "
        "model_monitoring_schema, tabular_objective, target_window, sampling_rate, min_samples, "
        "notification_spec, cron, created_by, created_at, updated_at) VALUES ({}, '{}', "
        "'Churn', 'churn@production', '{{}}', '{{}}', '{{}}', '1d', 1.0, 100, '{{}}', {}, "
        f"'alice', {stamp}, {stamp})"
    )
    execute(
        store_url,
        monitor.format(1, "hourly", "'0 * * * *'"),
        monitor.format(2, "daily", "'@daily'"),
        monitor.format(3, "on-demand", "NULL"),
        "INSERT INTO model_monitoring_jobs (id, monitor_id, state, created_at) "
        f"VALUES (1, 1, 'JOB_STATE_SUCCEEDED', {stamp})",
    )
    with MetadataStore.open(store_url) as store:
        from conveyor.automation.pipelines import PipelineRegistry
        from conveyor.automation.schedules import Schedules

        made = {s.name: s for s in Schedules(store, PipelineRegistry(store)).list()}
    assert sorted(made) == ["daily", "hourly"]
    hourly = made["hourly"]
    assert hourly.request == {"model_monitoring_job": {"monitor": "hourly"}}
    assert (hourly.cron, hourly.display_name, hourly.created_by) == ("0 * * * *", "Churn", "alice")
    assert (hourly.state.value, hourly.max_concurrent_run_count, hourly.catch_up) == (
        "ACTIVE", 1, False,
    )  # fmt: skip
    assert hourly.next_run_time.minute == 0 and hourly.next_run_time > hourly.start_time
    assert made["daily"].cron == "0 0 * * *"
    engine = engine_for(store_url)
    try:
        with engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("model_monitors")}
        assert "cron" not in columns
        assert count(store_url, "model_monitoring_jobs") == 1  # the monitor's jobs stay

        with engine.begin() as conn:
            command.downgrade(schema.alembic_config(conn), "0006")
            crons = dict(conn.execute(text("SELECT name, cron FROM model_monitors")).all())
    finally:
        engine.dispose()
    assert crons == {"hourly": "0 * * * *", "daily": "0 0 * * *", "on-demand": None}
