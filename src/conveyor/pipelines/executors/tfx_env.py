"""The cached environment that runs a TFX pipeline's components: the tfx its image names.

TFX pins its own kfp, TensorFlow and Beam, and wants an older Python than Conveyor's, so
its components never run in Conveyor's interpreter: `ensure` builds, with uv, once per
machine and tfx release, a virtualenv of that Python holding that tfx, under the home's
`envs/` as `packages_to_install` environments are (`venvs`)::

    envs/tfx-1.16.0/                the virtualenv; `conveyor-env.json` says what it holds
    envs/tfx-1.16.0.build.log       uv's output of the last build
    envs/tfx-1.16.0.lock            held while one process builds it
    envs/tfx-1.16.0/importable.json executor classes already found importable in it

Which releases run here, and why the others cannot, is `RELEASES` and `release_for`.
"""

from __future__ import annotations

import glob
import json
import os
import platform
import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import uv

from conveyor.errors import ConveyorError
from conveyor.pipelines.executors import venvs

IMPORTABLE = "importable.json"
_IMAGE_VERSION = re.compile(r"(?:^|/)tfx[^/:]*:v?(\d+)\.(\d+)\.(\d+)\b")

Log = Callable[[str], None]


class TfxUnsupported(ConveyorError):
    """The tfx release a pipeline names cannot run on this machine (no wheel, no Python)."""


class TfxEnvError(ConveyorError):
    """A component's executor class could not be checked in its tfx environment."""


@dataclass(frozen=True)
class Release:
    """A tfx release Conveyor runs: its Python and the pins its resolution needs."""

    tfx: str
    python: str
    pins: tuple[str, ...] = ()

    @property
    def packages(self) -> list[str]:
        return [f"tfx=={self.tfx}", *self.pins]

    @property
    def name(self) -> str:
        return f"tfx-{self.tfx}"


RELEASES = {
    (1, 16): Release(
        "1.16.0",
        "3.10",
        # Without these, uv picks a Beam whose gcp extra conflicts with tfx's
        # google-cloud pins, and a kfp-pipeline-spec newer than tfx's kfp reads.
        ("apache-beam[gcp]==2.59.0", "kfp-pipeline-spec<0.2"),
    ),
}
"""The releases that run here, by (major, minor): the IR's image tag picks one."""

GLIBC_OF_NEWER = (2, 39)
"""tfx ≥ 1.17 needs ml-metadata, tensorflow-data-validation and struct2tensor, whose only
Linux wheels are manylinux_2_39: they need this glibc (GLIBCXX_3.4.32) or newer."""


def version_of(image: str) -> tuple[int, int, int] | None:
    """The tfx version an image names (`gcr.io/tfx-oss-public/tfx:1.16.0`), if it names one."""
    found = _IMAGE_VERSION.search(image)
    return tuple(int(p) for p in found.groups()) if found else None  # type: ignore[return-value]


def release_for(image: str) -> Release:
    """The release that runs the components of `image`; TfxUnsupported says why not."""
    version = version_of(image)
    if version is None:
        raise TfxUnsupported(
            f"image {image!r} does not name a tfx version (expected a tag like "
            "gcr.io/tfx-oss-public/tfx:1.16.0); compile with KubeflowV2DagRunner's default "
            "image, or tag your own image with the tfx version it holds"
        )
    release = RELEASES.get(version[:2])
    if release is not None:
        return release
    shown = ".".join(map(str, version))
    supported = ", ".join(r.tfx for r in RELEASES.values())
    if version[:2] > max(RELEASES):
        libc = glibc()
        if (0,) < libc < GLIBC_OF_NEWER:
            raise TfxUnsupported(
                f"tfx {shown} cannot be installed on this machine: its ml-metadata, "
                "tensorflow-data-validation and struct2tensor wheels are built for "
                f"manylinux_2_39 (glibc {'.'.join(map(str, GLIBC_OF_NEWER))}), and this "
                f"machine has glibc {'.'.join(map(str, libc))}. Compile the pipeline with "
                f"tfx {supported} (the IR runs unchanged on Vertex AI) or run on a newer Linux"
            )
    raise TfxUnsupported(
        f"tfx {shown} is not a release Conveyor runs (it runs tfx {supported}); compile "
        f"the pipeline with tfx {supported}"
    )


def ensure(release: Release, root: Path, log: Log | None = None) -> Path:
    """The Python interpreter of `release`'s environment under `root`, built on first use
    (`venvs.build_once`: concurrent callers wait for one build and share it)."""
    final = Path(root) / release.name
    if (final / venvs.MANIFEST).is_file():
        return venvs.interpreter(final)
    python = find_python(release.python)
    return venvs.build_once(
        final,
        {"packages": release.packages, "python": str(python)},
        python=str(python),
        packages=release.packages,
        # --seed: TFX installs the user module's wheel with pip.
        venv_options=["--seed"],
        what=f"{release.name} environment",
        failure=f"the {release.name} environment ({', '.join(release.packages)})",
        log=log,
    )


def unimportable(python: Path, class_paths: Iterable[str]) -> dict[str, str]:
    """The executor classes that cannot be imported in the environment of `python`, each
    with the error; the ones found importable are remembered beside the environment."""
    known_file = python.parent.parent / IMPORTABLE
    known = set(json.loads(known_file.read_text())) if known_file.is_file() else set()
    wanted = sorted(set(class_paths) - known)
    if not wanted:
        return {}
    probe = subprocess.run(
        [str(python), "-c", _PROBE, *wanted],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    try:
        failed = json.loads(probe.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise TfxEnvError(
            f"could not check executor classes in {python}: {probe.stderr.strip()[-500:]}"
        ) from None
    known |= set(wanted) - set(failed)
    known_file.write_text(json.dumps(sorted(known)))
    return failed


_PROBE = """
import importlib, json, sys
failed = {}
for path in sys.argv[1:]:
    module, _, name = path.rpartition(".")
    try:
        getattr(importlib.import_module(module), name)
    except Exception as exc:
        failed[path] = f"{type(exc).__name__}: {exc}"
print(json.dumps(failed))
"""


def find_python(version: str) -> Path:
    """An interpreter of Python `version` on this machine: uv's, or pyenv's, never downloaded."""
    found = subprocess.run(
        [uv.find_uv_bin(), "python", "find", version],
        capture_output=True,
        text=True,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )
    if found.returncode == 0 and found.stdout.strip():
        return Path(found.stdout.strip())
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for candidate in sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}")):
        return Path(candidate)
    for folder in ("/usr/local/bin", "/usr/bin"):
        if os.access(f"{folder}/python{version}", os.X_OK):
            return Path(f"{folder}/python{version}")
    raise TfxUnsupported(
        f"tfx needs Python {version}, and none was found on this machine; install one "
        f"(`uv python install {version}`, or pyenv) and run again"
    )


def glibc() -> tuple[int, ...]:
    """This machine's glibc version ((0,) when it has none, e.g. macOS)."""
    name, version = platform.libc_ver()
    if name != "glibc" or not version:
        return (0,)
    return tuple(int(p) for p in version.split(".") if p.isdigit())
