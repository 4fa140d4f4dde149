"""Artifact store: one suite for the local root and for S3 on a real (moto) server."""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import fsspec
import moto.settings
import pytest
from s3_server import running_s3

from conveyor.store.artifacts import ArtifactRootError, ArtifactStore, ArtifactStoreError, manifest

FOLDER = {"b.txt": b"bee", "a/one.bin": b"\x00\x01" * 1000, "a/z/deep.txt": b"", "c": b"see"}


@pytest.fixture(scope="module")
def s3():
    with running_s3() as server:
        yield server


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return ArtifactStore.open(tmp_path / "artifacts")
    s3 = request.getfixturevalue("s3")
    root = f"s3://{s3.bucket}/{uuid.uuid4().hex}"
    return ArtifactStore.open(root, storage_options=s3.storage_options)


@pytest.fixture
def s3_store(s3):
    root = f"s3://{s3.bucket}/{uuid.uuid4().hex}"
    return ArtifactStore.open(root, storage_options=s3.storage_options)


def write_folder(path: Path, files: dict[str, bytes], order=sorted) -> None:
    for name in order(files):
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(files[name])


def read_folder(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def folder_sha256(files: dict[str, bytes]) -> str:
    """The folder digest as docs/artifacts.md defines it."""
    listing = "".join(
        f"{hashlib.sha256(data).hexdigest()} {len(data)} {name}\0"
        for name, data in sorted(files.items())
    )
    return hashlib.sha256(listing.encode()).hexdigest()


def publish_folder(store, files, *parts, order=sorted):
    uri = store.uri_for(*parts)
    staging = store.staging_path(uri)
    staging.mkdir()
    write_folder(staging, files, order)
    return store.publish(staging, uri)


def publish_bytes(store, data, *parts):
    uri = store.uri_for(*parts)
    staging = store.staging_path(uri)
    staging.write_bytes(data)
    return store.publish(staging, uri)


# Names and paths


def test_uri_for_turns_task_keys_into_safe_segments(store):
    uri = store.uri_for("train", "run-1", "for-loop-2[0]/fit", "model")
    assert uri == f"{store.root}/train/run-1/for-loop-2%5B0%5D/fit/model"
    assert (
        store.uri_for("p", "..", ".staging", "a b%") == f"{store.root}/p/%2E./%2Estaging/a%20b%25"
    )
    with pytest.raises(ValueError, match="empty"):
        store.uri_for("p", "a//b")


def test_staging_path_is_fresh_with_an_existing_parent(store):
    uri = store.uri_for("p", "r", "t", "model")
    first, second = store.staging_path(uri), store.staging_path(uri)
    assert first != second
    assert first.name == "model"
    assert first.parent.is_dir() and not first.exists()


def test_uris_outside_the_root_are_refused(store, tmp_path):
    staging = store.staging_path(store.uri_for("p", "out"))
    staging.write_bytes(b"x")
    for outside in (str(tmp_path / "elsewhere"), "s3://another-bucket/x", store.root):
        with pytest.raises(ArtifactStoreError, match="not below the artifact root"):
            store.publish(staging, outside)


# Publishing


def test_publish_a_file(store):
    data = b"weights" * 1000
    uri = store.uri_for("p", "r", "train[3]", "model")
    staging = store.staging_path(uri)
    staging.write_bytes(data)
    assert not store.is_complete(uri)

    published = store.publish(staging, uri)

    assert published.uri == uri
    assert published.sha256 == hashlib.sha256(data).hexdigest()
    assert published.size == len(data)
    assert store.is_complete(uri)
    assert store.verify(uri, published.sha256)
    assert not store.verify(uri, hashlib.sha256(b"other").hexdigest())
    assert not staging.exists() and not staging.parent.exists()
    assert store.local_path(uri).read_bytes() == data


def test_publish_a_folder(store):
    uri = store.uri_for("p", "r", "t", "dataset")
    assert not store.is_complete(uri)

    published = publish_folder(store, FOLDER, "p", "r", "t", "dataset")

    assert published.sha256 == folder_sha256(FOLDER)
    assert published.size == sum(len(data) for data in FOLDER.values())
    assert store.is_complete(uri)
    assert store.verify(uri, published.sha256)
    assert read_folder(store.local_path(uri)) == FOLDER


def test_digests_are_deterministic_and_follow_the_content(store):
    first = publish_folder(store, FOLDER, "p", "one")
    again = publish_folder(store, FOLDER, "p", "two", order=lambda names: sorted(names)[::-1])
    changed = publish_folder(store, {**FOLDER, "c": b"sea"}, "p", "three")
    renamed = publish_folder(
        store, {("d" if k == "c" else k): v for k, v in FOLDER.items()}, "p", "4"
    )
    assert first.sha256 == again.sha256
    assert len({first.sha256, changed.sha256, renamed.sha256}) == 3
    assert publish_bytes(store, b"", "p", "empty").sha256 == hashlib.sha256(b"").hexdigest()


def test_publishing_nothing_names_the_output(store):
    uri = store.uri_for("p", "r", "t", "metrics")
    with pytest.raises(ArtifactStoreError, match=r"metrics was not produced: nothing was written"):
        store.publish(store.staging_path(uri), uri)
    assert not store.is_complete(uri)


def test_publishing_again_replaces_the_artifact(store):
    folder = publish_folder(store, FOLDER, "p", "out")
    file = publish_bytes(store, b"now a file", "p", "out")
    assert store.is_complete(file.uri)
    assert store.local_path(file.uri).read_bytes() == b"now a file"
    assert not store.verify(file.uri, folder.sha256)

    publish_folder(store, {"only": b"one"}, "p", "out")
    assert read_folder(store.local_path(file.uri)) == {"only": b"one"}


def test_delete(store):
    published = publish_folder(store, FOLDER, "p", "r", "t", "data")
    store.delete(published.uri)
    assert not store.is_complete(published.uri)
    assert not store.verify(published.uri, published.sha256)
    store.delete(published.uri)


def test_stale_staging_paths_are_swept_when_the_store_opens(store, tmp_path):
    stale = store.staging_path(store.uri_for("p", "killed"))
    stale.mkdir()
    (stale / "half.bin").write_bytes(b"half")
    fresh = store.staging_path(store.uri_for("p", "running"))
    fresh.write_bytes(b"still being written")
    two_days_ago = time.time() - 2 * 24 * 3600
    for path in (stale / "half.bin", stale, stale.parent):
        os.utime(path, (two_days_ago, two_days_ago))

    ArtifactStore.open(store.root, getattr(store, "storage_options", None))

    assert not stale.parent.exists()
    assert fresh.read_bytes() == b"still being written"


# Reading inputs


def test_local_path_of_a_local_input_is_the_path_itself(tmp_path):
    store = ArtifactStore.open(tmp_path / "artifacts")
    published = publish_bytes(store, b"x", "p", "r", "t", "out")
    assert store.local_path(published.uri) == Path(published.uri)
    assert store.local_path(f"file://{published.uri}") == Path(published.uri)
    with pytest.raises(ArtifactStoreError, match="does not exist"):
        store.local_path(str(tmp_path / "missing"))


def test_remote_input_is_downloaded_once_and_reused(s3_store, s3, home, monkeypatch):
    published = publish_folder(s3_store, FOLDER, "p", "r", "t", "data")
    downloads = []
    get = s3_store.fs.get
    monkeypatch.setattr(s3_store.fs, "get", lambda *a, **k: downloads.append(a) or get(*a, **k))

    first = s3_store.local_path(published.uri)
    second = s3_store.local_path(published.uri)
    other = ArtifactStore.open(s3_store.root, s3.storage_options).local_path(published.uri)

    assert first == second == other
    assert first.is_relative_to(home / "cache" / "artifacts")
    assert read_folder(first) == FOLDER
    assert len(downloads) == 1
    assert not any((home / "cache" / "artifacts" / ".tmp").iterdir())

    publish_folder(s3_store, {"new": b"version"}, "p", "r", "t", "data")
    assert read_folder(s3_store.local_path(published.uri)) == {"new": b"version"}
    assert len(downloads) == 2


def test_a_remote_artifact_changed_behind_the_store_is_caught(s3_store, s3):
    published = publish_bytes(s3_store, b"original", "p", "r", "t", "model")
    s3.filesystem().pipe_file(published.uri, b"tampered")  # same size, other bytes

    assert s3_store.is_complete(published.uri)
    assert not s3_store.verify(published.uri, published.sha256)
    with pytest.raises(ArtifactStoreError, match="does not match its manifest"):
        s3_store.local_path(published.uri)


def test_a_remote_artifact_without_manifest_is_neither_complete_nor_readable(s3_store, s3):
    uri = s3_store.uri_for("p", "r", "t", "model")
    s3.filesystem().pipe_file(f"{uri}/part-0", b"half")
    assert not s3_store.is_complete(uri)
    with pytest.raises(ArtifactStoreError, match="not complete: it has no manifest"):
        s3_store.local_path(uri)


def test_a_local_store_reads_foreign_remote_inputs(tmp_path, s3, monkeypatch):
    """An importer may hand a local run any s3:// object; fsspec config gives the endpoint."""
    monkeypatch.setitem(fsspec.config.conf, "s3", {"endpoint_url": s3.endpoint})
    uri = f"s3://{s3.bucket}/foreign/{uuid.uuid4().hex}/table.csv"
    s3.filesystem().pipe_file(uri, b"a,b\n1,2\n")
    store = ArtifactStore.open(tmp_path / "artifacts")

    first = store.local_path(uri)
    assert first.name == "table.csv" and first.read_bytes() == b"a,b\n1,2\n"
    assert store.local_path(uri) == first

    s3.filesystem().pipe_file(uri, b"a,b\n3,4\n")
    assert store.local_path(uri).read_bytes() == b"a,b\n3,4\n"
    with pytest.raises(ArtifactStoreError, match="does not exist"):
        store.local_path(f"s3://{s3.bucket}/foreign/missing")


# Roots that cannot be used


def test_an_unwritable_local_root_is_refused(tmp_path):
    root = tmp_path / "read-only"
    root.mkdir()
    root.chmod(0o500)
    if os.geteuid() != 0:
        with pytest.raises(
            ArtifactRootError,
            match=f"{root} is not writable: permission denied; fix the folder's permissions",
        ):
            ArtifactStore.open(root)
        return
    # root writes anywhere; drop the capability that allows it, in a child process
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot make a folder unwritable")
    opener = "from conveyor.store.artifacts import ArtifactStore; import sys; ArtifactStore.open(sys.argv[1])"
    child = subprocess.run(
        [
            "setpriv",
            "--bounding-set=-dac_override,-dac_read_search",
            "--",
            sys.executable,
            "-c",
            opener,
            str(root),
        ],
        capture_output=True,
        text=True,
    )
    assert child.returncode == 1
    assert (
        f"ArtifactRootError: artifact root {root} is not writable: permission denied; fix the folder's permissions"
        in child.stderr
    )


def test_a_root_below_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ArtifactRootError, match="a file stands where a folder is needed") as raised:
        ArtifactStore.open(tmp_path / "file" / "artifacts")
    assert raised.value.exit_code == 2  # bad input for the CLI


def test_a_missing_bucket_is_refused(s3):
    root = "s3://no-such-bucket/artifacts"
    with pytest.raises(
        ArtifactRootError, match=f"{root} is not writable: it does not exist; create the bucket"
    ):
        ArtifactStore.open(root, storage_options=s3.storage_options)


def test_bad_credentials_are_refused(s3, monkeypatch):
    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)  # moto checks keys now
    options = {**s3.storage_options, "key": "wrong", "secret": "wrong"}
    with pytest.raises(ArtifactRootError, match="permission denied; check the credentials"):
        ArtifactStore.open(f"s3://{s3.bucket}/x", storage_options=options)


def test_a_root_without_bucket_is_refused(s3):
    with pytest.raises(ArtifactRootError, match="names no bucket"):
        ArtifactStore.open("s3://", storage_options=s3.storage_options)


# Crashes

# The child stages a 16-file artifact and publishes it; a hook stops it at `pause`, touches
# the marker and sleeps until the test kills it with SIGKILL.
CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from conveyor.store.artifacts import ArtifactStore

    root, marker, pause = sys.argv[1:]

    def stop_after(calls, function):
        count = 0
        def stopping(*args, **kwargs):
            nonlocal count
            count += 1
            if count > calls:
                Path(marker).touch()
                time.sleep(600)
            return function(*args, **kwargs)
        return stopping

    def stop_after_async(calls, function):
        count = 0
        async def stopping(*args, **kwargs):
            nonlocal count
            result = await function(*args, **kwargs)
            count += 1
            if count == calls:
                Path(marker).touch()
                time.sleep(600)  # blocks s3fs's event loop: no further upload happens
            return result
        return stopping

    store = ArtifactStore.open(root)
    uri = store.uri_for("p", "r", "loop[0]/train", "model")
    staging = store.staging_path(uri)
    staging.mkdir()
    for i in range(16):
        (staging / f"part-{i:02d}.bin").write_bytes(os.urandom(1 << 20))
    if pause == "rename":
        os.replace = stop_after(0, os.replace)
    else:
        import fsspec, s3fs
        fsspec.config.conf["gather_batch_size"] = 1  # one upload at a time: the stop is exact
        s3fs.S3FileSystem._put_file = stop_after_async(3, s3fs.S3FileSystem._put_file)
    store.publish(staging, uri)
    """
)


def kill_mid_publish(root: str, pause: str, tmp_path: Path, env: dict[str, str]) -> None:
    marker = tmp_path / "paused"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, root, str(marker), pause],
        env={**os.environ, **env},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not marker.exists():
            assert child.poll() is None, f"the child ended early: {child.stderr.read()}"
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()


def test_a_killed_local_publish_leaves_nothing_at_the_final_path(tmp_path):
    root = str(tmp_path / "artifacts")
    kill_mid_publish(root, "rename", tmp_path, {})

    store = ArtifactStore.open(root)
    uri = store.uri_for("p", "r", "loop[0]/train", "model")
    assert not store.is_complete(uri)
    assert not os.path.lexists(uri)
    (leftover,) = (tmp_path / "artifacts" / ".staging").glob("*/model")
    assert len(list(leftover.iterdir())) == 16  # staged in full, swept a day later

    publish_bytes(store, b"rerun", "p", "r", "loop[0]/train", "model")
    assert store.local_path(uri).read_bytes() == b"rerun"


def test_a_killed_s3_upload_leaves_no_manifest(s3, tmp_path):
    root = f"s3://{s3.bucket}/{uuid.uuid4().hex}"
    kill_mid_publish(root, "upload", tmp_path, {"AWS_ENDPOINT_URL": s3.endpoint})

    store = ArtifactStore.open(root, storage_options=s3.storage_options)
    uri = store.uri_for("p", "r", "loop[0]/train", "model")
    remote = s3.filesystem()
    remote.invalidate_cache()
    uploaded = remote.find(uri)
    assert len(uploaded) == 3  # killed mid-way: some parts are there
    assert not remote.exists(manifest.path_of(remote._strip_protocol(uri)))
    assert not store.is_complete(uri)
    with pytest.raises(ArtifactStoreError, match="not complete"):
        store.local_path(uri)

    published = publish_bytes(store, b"rerun", "p", "r", "loop[0]/train", "model")
    assert store.is_complete(uri)
    assert store.verify(uri, published.sha256)
    assert remote.find(uri) == [remote._strip_protocol(uri)]
