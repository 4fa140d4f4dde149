"""The prebuilt components compiled for Vertex AI with an image of their own
(`CONVEYOR_COMPONENTS_IMAGE`): every executor names that image and a command that runs
in it, offline; and the Dockerfile that builds such an image says what is true of this
repository. Docker itself is not needed: the compiled command is run here, in an
environment laid out as the image's (Conveyor's virtual environment first on the PATH)."""

from __future__ import annotations

import fnmatch
import importlib
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

import conveyor.components as components

REPO = Path(__file__).resolve().parents[2]
IMAGE = "europe-west4-docker.pkg.dev/my-project/ml/conveyor:0.1.0"

COMPILE = textwrap.dedent(
    """
    from kfp import compiler, dsl
    import conveyor.components as components
    from conveyor.components import HANDOVER, extract_files, train_model

    @dsl.pipeline(name="on-vertex")
    def on_vertex(source: str):
        rows = extract_files(source=source)
        train_model(train_data=rows.outputs["examples"], label_column="y", estimator="Ridge")

    compiler.Compiler().compile(on_vertex, "on_vertex.yaml")
    # Every prebuilt component, compiled on its own, as a submitted pipeline would hold it.
    for name in [*components.__all__, *HANDOVER]:
        compiler.Compiler().compile(getattr(components, name), f"{name}.yaml")
    """
)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> Path:
    """A folder of YAML compiled with the image set, as a user compiles for Vertex AI: the
    setting is read when the components are first imported, so in a process of its own."""
    folder = tmp_path_factory.mktemp("compiled")
    environment = {
        key: value for key, value in os.environ.items() if key != "CONVEYOR_COMPONENTS_PACKAGES"
    }
    environment["CONVEYOR_COMPONENTS_IMAGE"] = IMAGE
    subprocess.run(
        [sys.executable, "-c", COMPILE], cwd=folder, env=environment, check=True, timeout=300
    )
    return folder


def executors(path: Path) -> dict[str, dict]:
    return yaml.safe_load(path.read_text())["deploymentSpec"]["executors"]


def test_every_prebuilt_component_runs_in_the_image_named_and_installs_nothing(compiled):
    names = [*components.__all__, *components.HANDOVER]
    for name in names:
        for executor in executors(compiled / f"{name}.yaml").values():
            container = executor["container"]
            assert container["image"] == IMAGE, name
            command = container["command"]
            # No install script: nothing fetched from the network when the task starts.
            assert not any("pip install" in word for word in command), (name, command)
            assert command[:2] == ["sh", "-ec"], (name, command)
            assert "python3 -m kfp.dsl.executor_main" in command[2], name
            # The embedded source imports its code from the package the image holds.
            imported = re.findall(r"from conveyor\.components\._lib import ([\w, ]+)", command[3])
            assert imported, name
            for module in ",".join(imported).split(","):
                importlib.import_module(f"conveyor.components._lib.{module.split()[0]}")


def test_the_compiled_command_runs_where_conveyor_is_installed(compiled, tmp_path):
    """The executor's command and args, `{{$}}` replaced by an executor input as Vertex AI
    gives it, run by `sh` with only Conveyor's environment's `python3` first on the PATH
    (as in the image) and no network proxy: the task reads its files and writes its
    outputs."""
    container = executors(compiled / "on_vertex.yaml")["exec-extract-files"]["container"]
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 6.5]}).to_csv(data / "a.csv", index=False)
    outputs = tmp_path / "outputs"
    executor_input = {
        "inputs": {"parameterValues": {"source": str(data / "*.csv")}},
        "outputs": {
            "artifacts": {
                "examples": {
                    "artifacts": [
                        {
                            "name": "examples",
                            "type": {"schemaTitle": "system.Dataset", "schemaVersion": "0.0.1"},
                            "uri": str(outputs / "examples"),
                            "metadata": {},
                        }
                    ]
                }
            },
            "parameters": {
                name: {"outputFile": str(outputs / name)} for name in ("span", "version", "rows")
            },
            "outputFile": str(outputs / "executor_output.json"),
        },
    }
    args = [json.dumps(executor_input) if arg == "{{$}}" else arg for arg in container["args"]]
    bin_folder = Path(sys.executable).parent
    environment = {
        "PATH": os.pathsep.join([str(bin_folder), "/usr/bin", "/bin"]),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        # A proxy that refuses everything: any attempt to reach the network fails.
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "PIP_NO_INDEX": "1",
    }
    done = subprocess.run(
        [*container["command"], *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{shlex.join(container['command'][:2])} failed:\n{done.stderr}"
    assert pq.read_table(outputs / "examples").num_rows == 3
    written = json.loads((outputs / "executor_output.json").read_text())
    assert written["parameterValues"]["rows"] == 3
    assert written["artifacts"]["examples"]["artifacts"][0]["metadata"]["rows"] == 3


def test_without_the_image_setting_the_task_installs_kfp_as_kfp_does(tmp_path):
    """Unchanged default (kfp's own image, python:3.11, which lacks kfp): the command
    installs kfp first, so compiled pipelines that ran before keep their cache entries."""
    script = (
        "from kfp import compiler\n"
        "from conveyor.components import split_data\n"
        "compiler.Compiler().compile(split_data, 'split.yaml')\n"
    )
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("CONVEYOR_COMPONENTS_IMAGE", "CONVEYOR_COMPONENTS_PACKAGES")
    }
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=environment, check=True)
    (container,) = (e["container"] for e in executors(tmp_path / "split.yaml").values())
    assert container["image"] == "python:3.11"
    assert "pip install --quiet --no-warn-script-location 'kfp==" in container["command"][2]


# The Dockerfile's claims.

DOCKERFILE = REPO / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined: (keyword, rest)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def ignored(path: str) -> bool:
    """Whether .dockerignore keeps `path` (relative to the repository) out of the context."""
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = Path(path).parts
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes):
            return True
        if pattern.startswith("**/") and any(fnmatch.fnmatch(part, bare) for part in parts):
            return True
    return False


def test_every_path_the_dockerfile_copies_exists_and_is_in_the_build_context():
    copies = [rest for keyword, rest in instructions() if keyword == "COPY"]
    sources = []
    for rest in copies:
        words = rest.split()
        if any(word.startswith("--from=") for word in words):
            continue
        sources += [word for word in words[:-1] if not word.startswith("--")]
    assert {"pyproject.toml", "uv.lock", "src"} <= set(sources)
    for source in sources:
        assert (REPO / source).exists(), source
        assert not ignored(source), f".dockerignore leaves out {source}, which is copied"
    for local in (".venv", ".git", ".conveyor", "src/conveyor/__pycache__"):
        assert ignored(local), f".dockerignore should leave out {local}"


def test_the_dockerfile_builds_from_the_lock_with_the_makefiles_uv_and_runs_as_a_user():
    steps = instructions()
    arguments = dict(rest.split("=", 1) for keyword, rest in steps if keyword == "ARG")
    bases = [rest.split()[0] for keyword, rest in steps if keyword == "FROM"]
    python = arguments["PYTHON_VERSION"]
    assert bases == ["python:${PYTHON_VERSION}-slim"] * 2
    # The Python of the image is one the project supports.
    requires = re.search(r'requires-python = ">=(\d+\.\d+)"', (REPO / "pyproject.toml").read_text())
    assert tuple(map(int, python.split("."))) >= tuple(map(int, requires.group(1).split(".")))

    runs = " ".join(rest for keyword, rest in steps if keyword == "RUN")
    makefile_uv = re.search(r'"uv==([\d.]+)"', (REPO / "Makefile").read_text()).group(1)
    assert f'"uv=={makefile_uv}"' in runs
    syncs = re.findall(r"uv sync ([^&]*)", runs)
    assert syncs and all("--frozen" in sync and "--no-dev" in sync for sync in syncs)
    assert "--no-editable" in syncs[-1]

    environment = " ".join(rest for keyword, rest in steps if keyword == "ENV")
    venv = re.search(r"UV_PROJECT_ENVIRONMENT=(\S+)", environment).group(1)
    assert f"PATH={venv}/bin:$PATH" in environment
    # The runtime stage copies that environment, and nothing else, from the build stage.
    runtime = steps[[keyword for keyword, _ in steps].index("FROM", 2) :]
    assert ("COPY", f"--from=build {venv} {venv}") in runtime
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")


def test_what_the_dockerfile_imports_and_runs_exists_in_the_package():
    runs = " ".join(rest for keyword, rest in instructions() if keyword == "RUN")
    (imported,) = re.findall(r'-c "import ([^"]+)"', runs)
    for module in imported.split(","):
        __import__(module.strip())
    command = [rest for keyword, rest in instructions() if keyword == "CMD"][-1]
    assert json.loads(command)[0] == "conveyor"
    assert 'conveyor = "conveyor.cli.main:main"' in (REPO / "pyproject.toml").read_text()
