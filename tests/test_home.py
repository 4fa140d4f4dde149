"""The assembled home: settings read once, parts built together, several homes at once."""

import os
import shutil
import threading
from pathlib import Path

import pytest
from kfp import dsl
from kfp.dsl import Input, Model, Output

import conveyor
from conveyor.client import Client
from conveyor.config import Settings
from conveyor.errors import UsageError
from conveyor.home import open_home
from conveyor.registry import DeleteRefused, InvalidArtifact


@dsl.component
def train(tag: str, model: Output[Model]):
    import os

    os.makedirs(model.path, exist_ok=True)
    with open(os.path.join(model.path, "model.txt"), "w") as f:
        f.write(tag)


@dsl.component
def register(tag: str, model: Input[Model]) -> int:
    """Registers its input through `Client()`: the home is the run's, from the task's
    environment."""
    from conveyor.client import Client

    with Client() as client:
        return client.upload_model(
            f"{tag.split('-')[0]}-task", model.path, framework="lightgbm"
        ).version_id


@dsl.pipeline(name="home-train")
def training(tag: str):
    trained = train(tag=tag)
    register(tag=tag, model=trained.outputs["model"])


def test_settings_come_from_the_environment_once(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("CONVEYOR_DISABLE_CACHE", "yes")
    monkeypatch.setenv("CONVEYOR_USER", " ci-bot ")
    settings = Settings.from_env()
    assert settings.folder == (tmp_path / "h").resolve()
    assert settings.metadata_url == f"sqlite:///{settings.folder / 'metadata.db'}"
    assert settings.artifact_root == str(settings.folder / "artifacts")
    assert (settings.disable_cache, settings.user) == (True, "ci-bot")
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "changed"))
    assert settings.folder == (tmp_path / "h").resolve()  # read once, kept
    elsewhere = Settings.from_env(tmp_path / "other", environ={})
    assert elsewhere.folder == (tmp_path / "other").resolve()
    assert (elsewhere.disable_cache, elsewhere.user) == (False, None)


def test_upload_limits_come_from_the_environment(tmp_path, monkeypatch):
    roots = [str(tmp_path / "a"), " ", "~/b"]
    monkeypatch.setenv("CONVEYOR_ALLOWED_ARTIFACT_ROOTS", os.pathsep.join(roots))
    monkeypatch.setenv("CONVEYOR_ARTIFACT_SCHEMES", " S3, gs://,az ")
    monkeypatch.setenv("CONVEYOR_ARTIFACT_MAX_BYTES", "1e9")
    monkeypatch.setenv("CONVEYOR_ARTIFACT_READ_SECONDS", "2.5")
    settings = Settings.from_env()
    assert settings.allowed_artifact_roots == (
        str((tmp_path / "a").resolve()),
        str(Path("~/b").expanduser().resolve()),
    )
    assert settings.artifact_schemes == ("s3", "gs", "az")
    assert (settings.artifact_max_bytes, settings.artifact_read_seconds) == (10**9, 2.5)
    assert Settings.from_env(environ=settings.to_env()) == settings  # a run's tasks too
    monkeypatch.setenv("CONVEYOR_ARTIFACT_READ_SECONDS", "soon")
    with pytest.raises(UsageError, match="CONVEYOR_ARTIFACT_READ_SECONDS='soon' must be a"):
        Settings.from_env()


def test_the_homes_registry_reads_what_its_settings_allow(tmp_path, monkeypatch):
    """The CLI and Python upload from anywhere, a request only from the artifact root;
    configured roots and limits bind every face."""
    import skops.io
    from sklearn.linear_model import LogisticRegression

    outside = tmp_path / "model"
    outside.mkdir()
    skops.io.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), outside / "model.skops")
    with open_home(tmp_path / "home") as home:
        inside = home.settings.folder / "artifacts" / "model"
        shutil.copytree(outside, inside)
        assert home.registry.upload("churn", outside, framework="sklearn").version_id == 1
        request = home.registry.for_requests()
        assert request.upload("churn", inside, framework="sklearn").version_id == 2
        with pytest.raises(InvalidArtifact, match="outside the folders model uploads may read"):
            request.upload("churn", outside, framework="sklearn")
    monkeypatch.setenv("CONVEYOR_ALLOWED_ARTIFACT_ROOTS", str(tmp_path / "models"))
    monkeypatch.setenv("CONVEYOR_ARTIFACT_MAX_BYTES", "10")
    with open_home(tmp_path / "home") as home:
        with pytest.raises(InvalidArtifact, match="outside the folders model uploads may read"):
            home.registry.upload("churn", outside, framework="sklearn")
        with pytest.raises(InvalidArtifact, match="more than the 10 an upload may read"):
            home.registry.upload("churn", inside, framework="sklearn")


def test_the_parts_share_the_home(tmp_path):
    with open_home(tmp_path / "home") as home:
        assert home.endpoints.registry is home.registry
        assert home.endpoints.store is home.registry.store is home.store
        assert home.models.cache_dir == home.settings.folder / "cache" / "models"
        assert home.artifacts.local_dir == home.settings.folder


def test_a_deployed_version_stays_whichever_face_deletes(tmp_path, monkeypatch):
    """The guard the home wires holds for the CLI as for the Python API."""
    import skops.io
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path / "model"
    folder.mkdir()
    skops.io.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), folder / "model.skops")
    with open_home(tmp_path / "home") as home:
        home.registry.upload("churn", folder, framework="sklearn")
        home.endpoints.create("churn-prod")
        home.endpoints.deploy("churn-prod", "churn@1")
        with pytest.raises(DeleteRefused, match="deployed to endpoint churn-prod"):
            home.registry.delete_model("churn")


def test_two_clients_on_two_homes_in_threads(tmp_path):
    """Each thread runs pipelines and registers models in its own home; neither sees the
    other's, and no setting passes through the process environment."""
    homes = {name: tmp_path / name for name in ("left", "right")}
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(homes))

    def work(name: str, folder: Path) -> None:
        try:
            with Client(folder) as client:
                barrier.wait(timeout=60)
                for round in range(2):
                    run = client.run(training, {"tag": f"{name}-{round}"}, enable_caching=False)
                    assert run.status == "SUCCEEDED", run.error
                    detail = client.get_run(run.run_id)
                    trained = next(e for e in detail.executions if e.name == "train")
                    uri = trained.outputs["model"][0].uri
                    client.upload_model(name, uri, framework="lightgbm")
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=item) for item in homes.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    for name, folder in homes.items():
        with Client(folder) as client:
            runs = client.list_runs()
            assert len(runs) == 2
            assert all(
                r.parameters["tag"].startswith(name)
                for r in map(client.get_run, [r.run_id for r in runs])
            )
            assert client.get_model_version(f"{name}@2").version_id == 2
            assert client.get_model_version(f"{name}-task@2").version_id == 2
            other = "right" if name == "left" else "left"
            assert client.find_model_version(other) is None
            assert client.find_model_version(f"{other}-task") is None
            artifacts = client.home.settings.folder / "artifacts"
            assert artifacts.is_dir() and str(artifacts).startswith(str(folder))


def test_conveyor_run_takes_a_home(tmp_path):
    with open_home(tmp_path / "mine") as home:
        run = conveyor.run(training, {"tag": "x"}, home=home)
        assert run.status == "SUCCEEDED", run.error
        assert [r.run_id for r in home.store.list_runs()] == [run.run_id]
    with Client() as default:  # the environment's home holds nothing of it
        assert default.list_runs() == []


def test_opening_a_home_imports_no_numpy(tmp_path):
    """numpy's OpenBLAS threads would make the engine's process unsafe to fork workers
    from (a fork server started afresh costs seconds): the runtimes load with a model."""
    import subprocess
    import sys

    code = (
        "import sys; from conveyor.home import open_home\n"
        f"open_home({str(tmp_path)!r}).close()\n"
        "print('numpy' in sys.modules)"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"
