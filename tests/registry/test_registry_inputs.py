"""What an upload makes the registry read: URL schemes, local roots, regular files only,
symlinks that stay in the folder, a size cap and a time limit (`ArtifactPolicy`).

On SQLite only: what an upload reads does not depend on the store."""

import dataclasses
import http.server
import os
import threading

import fsspec
import pytest

from conveyor.config import Settings
from conveyor.registry import ArtifactPolicy, InvalidArtifact, ModelNotFound, Registry
from conveyor.store.artifacts.digest import of_path
from conveyor.store.metadata import MetadataStore


@pytest.fixture
def store(tmp_path):
    with MetadataStore.open(f"sqlite:///{tmp_path / 'metadata.db'}") as opened:
        yield opened


def refused(registry, uri, match):
    """Upload `uri` and expect InvalidArtifact matching `match`; nothing is recorded."""
    with pytest.raises(InvalidArtifact, match=match):
        registry.upload("m", uri, framework="sklearn")
    with pytest.raises(ModelNotFound):
        registry.get_model("m")


# URLs


@pytest.fixture
def web(model_dir):
    """A local HTTP server offering model.skops; `web.hits` counts the requests it got."""
    body = (model_dir / "model.skops").read_bytes()
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_HEAD = do_GET

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.hits = hits
    server.url = f"http://127.0.0.1:{server.server_address[1]}/model.skops"
    yield server
    server.shutdown()
    server.server_close()


def test_http_urls_are_not_fetched_by_default(registry, web):
    refused(registry, web.url, r"does not read http:// URLs \(allowed: gcs://, gs://, s3://\)")
    assert web.hits == []


def test_a_request_never_makes_the_registry_fetch_a_url(registry, web):
    """Even with http allowed for the command line, the REST face's policy refuses it."""
    local = Registry(registry.store, policy=ArtifactPolicy(schemes=frozenset({"http"})))
    assert local.upload("m", web.url, framework="sklearn").artifact_uri == web.url
    assert web.hits  # the control: this server answers when asked
    web.hits.clear()
    for face in (local.for_requests(), local.for_requests().acting_as("bob")):
        with pytest.raises(InvalidArtifact, match="never fetches http:// URLs for a request"):
            face.upload("m", web.url, framework="sklearn")
    assert web.hits == []


@pytest.mark.parametrize(
    ("uri", "match"),
    [
        ("simplecache::memory://bucket/m", r"chained fsspec URLs \(::\) are not read"),
        ("local:///etc", "does not read local:// URLs"),
        ("memory://bucket/m", "does not read memory:// URLs"),
    ],
)
def test_other_urls_are_refused(registry, uri, match):
    refused(registry, uri, match)


def test_allowed_schemes_are_read_within_the_size_cap(store, model_dir):
    fs = fsspec.filesystem("memory")
    fs.pipe_file("/capped/m/model.skops", (model_dir / "model.skops").read_bytes())
    try:
        policy = ArtifactPolicy(schemes=frozenset({"memory"}), max_bytes=100)
        with pytest.raises(InvalidArtifact, match="holds .* bytes, more than the 100 an upload"):
            Registry(store, policy=policy).upload("m", "memory://capped/m", framework="sklearn")
        roomy = Registry(store, policy=dataclasses.replace(policy, max_bytes=10**6))
        assert roomy.upload("m", "memory://capped/m", framework="sklearn").version_id == 1
    finally:
        fs.rm("/capped", recursive=True)


# Local paths


@pytest.mark.timeout(30)
def test_special_files_are_never_read(registry, model_dir):
    refused(registry, "/dev/zero", "/dev/zero is a device, not a regular file")
    os.mkfifo(model_dir / "pipe")
    refused(registry, model_dir, f"{model_dir}: pipe is a FIFO, not a regular file")


def test_a_symlink_leaving_the_folder_is_refused(registry, model_dir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    (model_dir / "notes.txt").symlink_to(secret)
    refused(
        registry,
        model_dir,
        f"{model_dir}: notes.txt is a symlink to {secret}, outside the model folder",
    )
    os.unlink(model_dir / "notes.txt")
    (model_dir / "etc").symlink_to("/etc")
    refused(registry, model_dir, "etc is a symlink to /etc, outside the model folder")


@pytest.mark.timeout(30)
def test_symlinks_that_loop_are_refused(registry, model_dir):
    (model_dir / "a").symlink_to(".")
    (model_dir / "b").symlink_to(".")
    refused(registry, model_dir, "[ab] is a symlink to .*, a folder that holds it, so following")
    for name in ("a", "b"):
        os.unlink(model_dir / name)
    (model_dir / "deep" / "er").mkdir(parents=True)
    (model_dir / "deep" / "er" / "up").symlink_to("../..")
    refused(registry, model_dir, "deep/er/up is a symlink to .*, a folder that holds it")
    os.unlink(model_dir / "deep" / "er" / "up")
    (model_dir / "x").symlink_to("y")
    (model_dir / "y").symlink_to("x")
    refused(registry, model_dir, r"[xy] is a symlink that loops or points to nothing \([xy]\)")
    os.unlink(model_dir / "y")
    refused(registry, model_dir, r"x is a symlink that loops or points to nothing \(y\)")


def test_symlinks_inside_the_folder_are_followed_as_the_artifact_store_does(registry, model_dir):
    (model_dir / "weights").mkdir()
    (model_dir / "weights" / "w.bin").write_bytes(b"w")
    (model_dir / "latest.bin").symlink_to("weights/w.bin")
    (model_dir / "again").symlink_to("weights")
    version = registry.upload("m", model_dir, framework="sklearn")
    assert [f.path for f in version.files] == [
        "again/w.bin",
        "latest.bin",
        "model.skops",
        "weights/w.bin",
    ]
    assert version.sha256 == of_path(model_dir).sha256


def test_the_size_cap_holds_before_reading(store, model_dir):
    size = of_path(model_dir).size
    capped = Registry(store, policy=ArtifactPolicy(max_bytes=size - 1))
    refused(capped, model_dir, f"{model_dir} holds {size} bytes, more than the {size - 1}")


def test_a_read_that_outlasts_the_time_limit_stops(store, tmp_path):
    """A huge (sparse) file would take minutes to hash: the upload stops at its limit."""
    huge = tmp_path / "model.skops"
    with huge.open("wb") as f:
        f.truncate(50 * 2**30)
    limited = Registry(store, policy=ArtifactPolicy(seconds=0.2))
    refused(limited, huge, f"reading {huge} took longer than 0.2 s, the most an upload may take")


def test_a_request_reads_local_paths_only_under_the_roots(store, model_dir, tmp_path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    inside = allowed / "model"
    model_dir.rename(inside)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.skops").write_bytes(b"elsewhere")
    (allowed / "sneaky").symlink_to(tmp_path / "model")
    registry = Registry(store, policy=ArtifactPolicy(roots=(allowed,)))
    assert registry.upload("m", tmp_path / "model", framework="sklearn").version_id == 1
    face = registry.for_requests()
    assert face.upload("m", inside, framework="sklearn").version_id == 2
    for outside in (tmp_path / "model", allowed / "sneaky", "/etc/hostname"):
        with pytest.raises(InvalidArtifact, match="is outside the folders model uploads may read"):
            face.upload("m", outside, framework="sklearn")
    assert len(registry.list_versions("m")) == 2


def test_a_homes_policy_comes_from_its_settings(tmp_path):
    base = Settings.from_env(tmp_path / "home", environ={})
    policy = ArtifactPolicy.of(base)
    assert (policy.anywhere, policy.roots) == (True, (tmp_path / "home" / "artifacts",))
    assert policy.schemes == {"s3", "gs", "gcs"}
    assert (policy.max_bytes, policy.seconds) == (100 * 2**30, 1800)
    configured = dataclasses.replace(
        base,
        artifact_root="memory://bucket/artifacts",
        allowed_artifact_roots=(str(tmp_path / "models"),),
        artifact_schemes=("s3",),
        artifact_max_bytes=10,
        artifact_read_seconds=5,
    )
    policy = ArtifactPolicy.of(configured)
    assert (policy.anywhere, policy.roots) == (False, (tmp_path / "models",))
    assert policy.schemes == {"s3", "memory"}  # the home's own artifact root stays readable
    assert (policy.max_bytes, policy.seconds) == (10, 5)
