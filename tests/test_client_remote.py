"""The client's remote mode against a real `conveyor serve` with API tokens: the same
methods, the same records and the same errors as the embedded client on the server's home;
tokens, roles, a server down, redirects, and what only the store can do."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conveyor.client import Client
from conveyor.errors import UsageError
from conveyor.home import Home
from conveyor.monitoring.errors import MonitorNotFound
from conveyor.registry.errors import RegistryConflict
from conveyor.remote import (
    PermissionDenied,
    RemoteHome,
    RemoteUnsupported,
    ServerError,
    ServerUnreachable,
    Unauthenticated,
)
from conveyor.serving.errors import EndpointNotFound, ServingConflict, ServingUsageError
from conveyor.store.metadata import NotFound
from remote_support import ENDPOINT, ROW, TOKEN_VARIABLE, TOKENS, free_port, serving, write_config


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("remote")) as running:
        yield running


@pytest.fixture
def staging(served, tmp_path, monkeypatch):
    """A conveyor.toml whose `staging` is the server, and the admin token in its variable."""
    monkeypatch.setenv("CONVEYOR_CONFIG", str(write_config(tmp_path, served.url)))
    monkeypatch.setenv(TOKEN_VARIABLE, TOKENS["admin"])
    return served


@pytest.fixture
def clients(staging):
    """(remote, embedded): the same home over the server, and opened here."""
    with Client(env="staging") as remote, Client(staging.folder) as embedded:
        yield remote, embedded


def caught(call, *args, **kwargs) -> Exception:
    try:
        call(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 (the test compares what each side raised)
        return exc
    raise AssertionError(f"{call.__name__} raised nothing")


# The same methods, the same records


def test_an_environment_with_a_server_is_remote(clients):
    remote, embedded = clients
    assert isinstance(remote.home, RemoteHome) and isinstance(embedded.home, Home)


def test_versions_and_evaluations_as_embedded(clients):
    remote, embedded = clients
    for reference in ("churn", "churn@production", "churn@2", "churn@candidate"):
        assert remote.get_model_version(reference) == embedded.get_model_version(reference)
    assert remote.list_model_evaluations("churn@1") == embedded.list_model_evaluations("churn@1")
    assert remote.find_model_version("churn@9") is None
    assert remote.find_model_version("nobody") is None
    added = remote.add_model_evaluation("churn@2", {"auc": 0.5}, slice={"plan": "monthly"})
    assert embedded.list_model_evaluations("churn@2")[-1] == added
    assert added.created_by == "adminr"  # the token's name, as the server records it


def test_the_registry_parts_as_embedded(clients):
    remote, embedded = clients
    assert remote.home.registry.list_models() == embedded.home.registry.list_models()
    assert remote.home.registry.list_versions("churn") == embedded.home.registry.list_versions(
        "churn"
    )
    assert remote.home.registry.history("churn") == embedded.home.registry.history("churn")


def test_endpoints_deploy_and_predict_round_trip(clients):
    remote, embedded = clients
    assert remote.get_endpoint(ENDPOINT) == embedded.get_endpoint(ENDPOINT)
    created = remote.create_endpoint("round-trip", labels={"team": "growth"})
    assert created == embedded.get_endpoint("round-trip")
    deployed = remote.deploy("round-trip", "churn@2")
    assert embedded.get_endpoint("round-trip").deployed_models == [deployed]
    first = remote.predict("round-trip", [ROW])
    assert first == embedded.predict("round-trip", [ROW])
    second = remote.deploy("round-trip", "churn@production", traffic_percentage=30)
    after = remote.set_traffic("round-trip", {deployed.id: 0, second.id: 100})
    assert after == embedded.get_endpoint("round-trip")
    assert after.traffic_split == {deployed.id: 0, second.id: 100}
    answer = remote.predict("round-trip", [ROW])
    assert answer == embedded.predict("round-trip", [ROW])
    assert answer["deployedModelId"] == second.id
    assert answer["predictions"] != first["predictions"]  # v1 and v2 disagree on ROW


def test_monitors_as_embedded(clients):
    remote, embedded = clients
    made = remote.create_monitor("remote-watch", "churn@production", window="2d")
    assert made == embedded.get_monitor("remote-watch")
    assert remote.list_monitors() == embedded.list_monitors()
    changed = remote.update_monitor("remote-watch", window=None)
    assert changed.window == "1d" and changed == embedded.get_monitor("remote-watch")
    job = remote.run_monitor("remote-watch")
    assert remote.list_monitor_jobs("remote-watch") == embedded.list_monitor_jobs("remote-watch")
    assert remote.list_monitor_jobs("remote-watch")[0] == job
    assert remote.search_monitoring_alerts("remote-watch") == []
    assert remote.delete_monitor("remote-watch") == 1
    assert isinstance(caught(remote.get_monitor, "remote-watch"), MonitorNotFound)


# The same errors


def test_errors_as_embedded(clients):
    remote, embedded = clients
    for call, args, kind in [
        ("get_model_version", ("churn@9",), NotFound),
        ("get_endpoint", ("nowhere",), EndpointNotFound),
        ("create_endpoint", (ENDPOINT,), ServingConflict),
        ("set_traffic", (ENDPOINT, {"1": 50}), ServingUsageError),
    ]:
        there, here = caught(getattr(remote, call), *args), caught(getattr(embedded, call), *args)
        assert isinstance(there, kind) and isinstance(here, kind), (call, there, here)
        assert str(there) == str(here)
    conflict = caught(remote.home.registry.remove_alias, "churn", "default")
    assert isinstance(conflict, RegistryConflict) and "default" in str(conflict)
    assert isinstance(caught(remote.get_model_version, "churn@"), UsageError)  # checked here


def test_a_wrong_token(staging, monkeypatch):
    monkeypatch.setenv(TOKEN_VARIABLE, "not-a-token")
    with Client(env="staging") as remote:
        error = caught(remote.get_model_version, "churn")
    assert isinstance(error, Unauthenticated) and error.exit_code == 2
    assert "not valid" in str(error) and TOKEN_VARIABLE in str(error)
    assert "environment 'staging'" in str(error) and "not-a-token" not in str(error)


def test_a_reader_deploying_is_told_the_role(staging, monkeypatch):
    monkeypatch.setenv(TOKEN_VARIABLE, TOKENS["read"])
    with Client(env="staging") as remote:
        assert remote.get_endpoint(ENDPOINT).name == ENDPOINT  # reading is allowed
        error = caught(remote.deploy, ENDPOINT, "churn@2")
    assert isinstance(error, PermissionDenied) and not isinstance(error, Unauthenticated)
    assert "has role read" in str(error) and "needs deploy" in str(error)
    assert TOKENS["read"] not in str(error)


@pytest.mark.parametrize("value", [None, "", "  "])
def test_an_unset_token_variable_stops_before_any_request(tmp_path, monkeypatch, value):
    dead = f"http://127.0.0.1:{free_port()}"  # a request would be ServerUnreachable
    monkeypatch.setenv("CONVEYOR_CONFIG", str(write_config(tmp_path, dead)))
    if value is not None:
        monkeypatch.setenv(TOKEN_VARIABLE, value)
    with Client(env="staging") as remote:
        error = caught(remote.get_endpoint, ENDPOINT)
    assert isinstance(error, Unauthenticated) and error.exit_code == 2
    assert TOKEN_VARIABLE in str(error) and "'staging'" in str(error) and "not set" in str(error)


def test_a_server_down(tmp_path, monkeypatch):
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("CONVEYOR_CONFIG", str(write_config(tmp_path, url)))
    monkeypatch.setenv(TOKEN_VARIABLE, "t")
    with Client(env="staging") as remote:
        error = caught(remote.get_endpoint, ENDPOINT)
    assert isinstance(error, ServerUnreachable) and error.exit_code == 1
    assert url in str(error) and "environment 'staging'" in str(error)


def test_redirects_are_not_followed(tmp_path):
    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(307)
            self.send_header("Location", "http://elsewhere.invalid/api/v1/models")
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with Client.connect(f"http://127.0.0.1:{server.server_port}", "secret") as remote:
            error = caught(remote.home.registry.list_models)
    finally:
        server.shutdown()
        server.server_close()
    assert isinstance(error, ServerError)
    assert "elsewhere.invalid" in str(error) and "not followed" in str(error)


# Connecting without conveyor.toml


def test_connect(served):
    with Client.connect(served.url + "/", TOKENS["read"]) as remote:
        assert remote.get_model_version("churn@production").version_id == 1
        assert TOKENS["read"] not in repr(remote.home)


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("ftp://host/x", "http:// or https://"),
        ("localhost:8080", "http:// or https://"),
        ("https://user:pa55word@host", "user or password"),
        ("https://host/?token=x", "query"),
    ],
)
def test_connect_refuses_other_urls(url, said):
    error = caught(Client.connect, url)
    assert isinstance(error, UsageError) and said in str(error)
    assert "pa55word" not in str(error)


# Where the client stays embedded, and what it cannot do remotely


def test_a_task_of_a_run_stays_on_its_store(staging, monkeypatch):
    monkeypatch.setenv("CONVEYOR_ENV", "staging")
    with Client() as chosen:
        assert isinstance(chosen.home, RemoteHome)  # the environment CONVEYOR_ENV chose
    monkeypatch.setenv("_KFP_RUNTIME", "true")
    with Client() as in_task:
        assert isinstance(in_task.home, Home)
    with Client(env="staging") as named:
        assert isinstance(named.home, RemoteHome)  # named outright: remote even there


def test_a_folder_or_a_home_is_embedded(staging):
    with Client(staging.folder, env="staging") as client:
        assert isinstance(client.home, Home)
        assert isinstance(caught(Client, client.home, env="staging"), UsageError)


def test_an_environment_with_a_store_does_the_rest_there(served, tmp_path, monkeypatch):
    both = f'[env.both]\nhome = "{served.folder}"\nserver_url = "{served.url}"\n'
    both += f'token_env = "{TOKEN_VARIABLE}"\n'
    monkeypatch.setenv("CONVEYOR_CONFIG", str(write_config(tmp_path, served.url, both)))
    monkeypatch.setenv(TOKEN_VARIABLE, TOKENS["read"])
    with Client(env="both") as client, Client(served.folder) as embedded:
        assert isinstance(client.home, RemoteHome)
        assert isinstance(caught(client.add_model_evaluation, "churn@1", {}), PermissionDenied)
        copied = client.copy_model("churn@1", tmp_path / "copy")  # on the store: no route
        assert copied == embedded.get_model_version("churn@1")
        assert (tmp_path / "copy" / "model.skops").is_file()
        assert client.list_runs() == embedded.list_runs()


def test_what_needs_the_store(clients, tmp_path):
    remote, _ = clients
    for call, args, options in [
        (remote.run, ("pipeline.py:train",), {}),
        (remote.list_runs, (), {}),
        (remote.lineage, (1,), {}),
        (remote.execution_lineage, (1,), {}),
        (remote.copy_model, ("churn@1", tmp_path / "copy"), {}),
        (remote.promote, ("churn@1",), {"to_env": "prod"}),
        (remote.get_monitor_job, (1,), {}),
    ]:
        error = caught(call, *args, **options)
        assert isinstance(error, RemoteUnsupported), (call, error)
        assert f"Client.{call.__name__}" in str(error) and "environment 'staging'" in str(error)
        assert "declare the environment's store" in str(error)
        assert error.exit_code == 2
    local = caught(remote.upload_model, "churn", tmp_path, framework="sklearn")
    assert isinstance(local, RemoteUnsupported) and "s3://" in str(local)
    assert isinstance(caught(lambda: remote.home.store), RemoteUnsupported)
    assert isinstance(caught(remote.search_monitoring_alerts), RemoteUnsupported)
    assert not (tmp_path / "copy").exists()
