"""Which packages_to_install are already here, and the cached environments for the rest."""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from conveyor.pipelines.executors import venvs

PACKAGES = ["pyjokes==0.6.0", "art==6.1"]
KFP = importlib.metadata.version("kfp")
PYTEST = importlib.metadata.version("pytest")


@pytest.mark.parametrize(
    "packages",
    [
        [],
        ["pytest"],
        [f"pytest=={PYTEST}", "filelock>=3"],
        ["Typing_Extensions"],
        ["psycopg[binary]"],
        ['conveyor-no-such-package; python_version < "3"'],
        ['pytest; python_version >= "3"'],
    ],
)
def test_installed_requirements_are_satisfied(packages):
    assert venvs.satisfied(packages)


@pytest.mark.parametrize(
    "packages",
    [
        ["conveyor-no-such-package"],
        ["pytest", "conveyor-no-such-package"],
        ["pytest<1"],
        ["kfp[kubernetes]"],
        ["pytest[no-such-extra]"],
        ['conveyor-no-such-package; python_version >= "3"'],
        ["pytest @ https://files.example/pytest-9.0-py3-none-any.whl"],
        ["git+https://github.com/pytest-dev/pytest"],
        ["./vendor/pytest"],
        ["pyjokes==0.6.0"],
    ],
)
def test_missing_mismatched_and_direct_requirements_are_not(packages):
    assert not venvs.satisfied(packages)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One environment with PACKAGES, built once for the tests that read it."""
    root = tmp_path_factory.mktemp("envs")
    lines = []
    python = venvs.ensure_env(PACKAGES, root=root, log=lines.append)
    return root, python, lines


@pytest.mark.network
def test_built_env_has_the_packages_and_this_kfp(built):
    root, python, lines = built
    script = (
        "import art, kfp, pyjokes; print(pyjokes.__version__, art.ART_VERSION, kfp.__version__)"
    )

    answer = subprocess.run([python, "-c", script], capture_output=True, text=True, check=True)

    assert answer.stdout.split() == ["0.6.0", "6.1", KFP]
    assert python.parent.parent.parent == root
    assert (
        lines[0]
        == "building environment for art==6.1, pyjokes==0.6.0 (first use; cached afterwards)"
    )


@pytest.mark.network
def test_built_env_records_what_it_holds(built):
    root, python, _ = built
    manifest = json.loads((python.parent.parent / venvs.MANIFEST).read_text())

    assert manifest["packages"] == sorted(PACKAGES)
    assert manifest["index_urls"] == []
    assert manifest["kfp"] == KFP
    assert manifest["python"].endswith(
        f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    )
    assert manifest["created"]
    assert [p.name for p in root.iterdir() if p.is_dir()] == [python.parent.parent.name]
    assert (root / f"{python.parent.parent.name}.build.log").is_file()


@pytest.mark.network
def test_second_call_reuses_the_env_in_any_package_order(built):
    root, python, _ = built
    manifest = python.parent.parent / venvs.MANIFEST
    before = manifest.read_text(), manifest.stat().st_mtime_ns
    lines = []

    again = venvs.ensure_env(list(reversed(PACKAGES)), root=root, log=lines.append)

    assert again == python
    assert (manifest.read_text(), manifest.stat().st_mtime_ns) == before
    assert lines == []


@pytest.mark.network
def test_index_urls_get_their_own_env(built):
    root, python, _ = built
    index = "https://pypi.org/simple"

    other = venvs.ensure_env(PACKAGES[:1], index_urls=[index], root=root)

    assert other != python
    manifest = json.loads((other.parent.parent / venvs.MANIFEST).read_text())
    assert manifest["index_urls"] == [index]


@pytest.mark.network
def test_threads_building_the_same_env_build_it_once(tmp_path):
    lines = []
    with ThreadPoolExecutor(4) as pool:
        pythons = set(
            pool.map(
                lambda _: venvs.ensure_env(PACKAGES[:1], root=tmp_path, log=lines.append), range(4)
            )
        )

    assert len(pythons) == 1
    assert sum(line.startswith("building") for line in lines) == 1
    assert any(line.startswith("waiting for another build") for line in lines)


BUILD_WHEN_TOLD = """
import sys, time
from pathlib import Path
from conveyor.pipelines.executors import venvs
root, go = Path(sys.argv[1]), Path(sys.argv[2])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.01)
print(venvs.ensure_env({packages!r}, root=root, log=print), flush=True)
"""


@pytest.mark.network
def test_processes_building_the_same_env_build_it_once(tmp_path):
    root, go = tmp_path / "envs", tmp_path / "go"
    script = BUILD_WHEN_TOLD.format(packages=PACKAGES[:1])
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, root, go], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    for child in children:
        assert child.stdout.readline() == "ready\n"
    go.touch()
    outputs = [child.communicate(timeout=240)[0] for child in children]

    assert [child.returncode for child in children] == [0, 0]
    assert len({output.splitlines()[-1] for output in outputs}) == 1
    assert sum(output.count("building environment") for output in outputs) == 1
    assert "waiting for another build" in "".join(outputs)


@pytest.mark.network
def test_failed_install_raises_with_uvs_message_and_leaves_no_env(tmp_path):
    missing = "conveyor-no-such-package-7f3a9c==1.0"

    with pytest.raises(venvs.EnvBuildError) as error:
        venvs.ensure_env([missing], root=tmp_path)

    message = str(error.value)
    assert missing in message
    assert "uv exited with code" in message
    assert "\nerror: " in message  # the tail of uv's output
    assert [p for p in tmp_path.iterdir() if p.is_dir()] == []


STALL_AFTER_VENV = """
import sys, time
from pathlib import Path
from conveyor.pipelines.executors import venvs
real_uv = venvs._uv
def uv_then_stall(args, output):
    if args[0] == "pip":
        print("stalled", flush=True)
        time.sleep(600)
    real_uv(args, output)
venvs._uv = uv_then_stall
venvs.ensure_env({packages!r}, root=Path(sys.argv[1]))
"""


@pytest.mark.network
def test_a_build_killed_halfway_leaves_nothing_that_looks_ready(tmp_path):
    script = STALL_AFTER_VENV.format(packages=PACKAGES[:1])
    child = subprocess.Popen(
        [sys.executable, "-c", script, tmp_path], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline() == "stalled\n"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    (half_built,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert half_built.name.startswith(".")

    python = venvs.ensure_env(PACKAGES[:1], root=tmp_path)

    assert [p for p in tmp_path.iterdir() if p.is_dir()] == [python.parent.parent]
