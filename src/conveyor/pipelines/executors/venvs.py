"""Cached virtual environments for the `packages_to_install` of Python components.

A component whose packages are already installed runs in Conveyor's own
interpreter (`satisfied`). Otherwise `ensure_env` gives it an environment with
those packages and the running kfp, built once with uv and then reused by every
task and run that asks for the same set. Each lives under `envs/` as::

    envs/<hash>/                  the virtualenv; `conveyor-env.json` says what it holds
    envs/<hash>.build.log         uv's output of the last build
    envs/<hash>.lock              held while one process builds it

An environment is built in a hidden folder beside its final place and renamed
into place when complete, so a folder named by its hash is always ready. `build_once`
is that mechanism for any environment (the tfx environments of `tfx_env` too).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import uv
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from conveyor.errors import ConveyorError

MANIFEST = "conveyor-env.json"
_LOG_TAIL_LINES = 25

Log = Callable[[str], None]


class EnvBuildError(ConveyorError):
    """uv could not build the environment for a component's packages_to_install."""


def satisfied(packages: Iterable[str]) -> bool:
    """Whether every requirement is installed in this interpreter at a matching version.

    Requirements whose marker excludes this interpreter count as satisfied; direct
    URLs and local paths never do, since their installed version says nothing.
    """
    return all(_satisfied(package, seen=set()) for package in packages)


def ensure_env(
    packages: Sequence[str],
    index_urls: Sequence[str] = (),
    *,
    root: Path,
    log: Log | None = None,
) -> Path:
    """The Python interpreter of an environment with `packages` and the running kfp.

    The first caller for a set builds it; concurrent callers, in threads or
    processes, wait for that build and share it.
    """
    manifest = _manifest(packages, index_urls)
    described = _describe(manifest["packages"])
    return build_once(
        Path(root) / _env_name(manifest),
        manifest,
        python=sys.executable,
        packages=[*manifest["packages"], f"kfp=={manifest['kfp']}"],
        venv_options=["--no-project"],
        install_options=_index_options(manifest["index_urls"]),
        what=f"environment for {described}",
        failure=f"the environment for {described} (with kfp=={manifest['kfp']})",
        advice="Check the package names, versions and pip_index_urls of the component. ",
        log=log,
    )


def build_once(
    final: Path,
    manifest: dict,
    *,
    python: str,
    packages: Sequence[str],
    venv_options: Sequence[str] = (),
    install_options: Sequence[str] = (),
    what: str,
    failure: str,
    advice: str = "",
    log: Log | None = None,
) -> Path:
    """The interpreter of the environment at `final`: a uv virtualenv of `python` holding
    `packages`, built on first use, then reused; `manifest` is written into it.

    Concurrent callers, in threads or processes, wait for one build and share it (a lock
    beside it); `what` names it in progress lines, `failure` in the error.
    """
    if (final / MANIFEST).is_file():
        return interpreter(final)
    import filelock  # lazily: a run whose components install nothing goes without it

    final.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(final.parent / f"{final.name}.lock")
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        _say(log, f"waiting for another build of the {what}")
        lock.acquire()
    try:
        if not (final / MANIFEST).is_file():
            create = [*venv_options, "--relocatable", "--python", python]
            _build(final, manifest, create, [*install_options, *packages], what, log)
    except subprocess.CalledProcessError as error:
        build_log = final.parent / f"{final.name}.build.log"
        raise EnvBuildError(
            f"could not build {failure}: uv exited with code {error.returncode}. {advice}"
            f"Full log: {build_log}\n{_tail(build_log)}"
        ) from None
    finally:
        lock.release()
    return interpreter(final)


def _satisfied(package: str, seen: set[tuple[str, str]]) -> bool:
    """One requirement (and the requirements its extras add) against installed metadata."""
    try:
        requirement = Requirement(package)
    except InvalidRequirement:
        return False
    if requirement.url:
        return False
    if requirement.marker and not requirement.marker.evaluate():
        return True
    try:
        distribution = importlib.metadata.distribution(requirement.name)
    except importlib.metadata.PackageNotFoundError:
        return False
    if not requirement.specifier.contains(distribution.version, prereleases=True):
        return False
    provided = {canonicalize_name(e) for e in distribution.metadata.get_all("Provides-Extra") or []}
    for extra in requirement.extras:
        extra = canonicalize_name(extra)
        if extra not in provided:
            return False
        key = (canonicalize_name(requirement.name), extra)
        if key in seen:
            continue
        seen.add(key)
        for dependency in _extra_dependencies(distribution, extra):
            if not _satisfied(dependency, seen):
                return False
    return True


def _extra_dependencies(distribution: importlib.metadata.Distribution, extra: str) -> list[str]:
    """The dependencies that `distribution[extra]` adds, markers resolved for this interpreter."""
    added = []
    for line in distribution.requires or []:
        dependency = Requirement(line)
        marker = dependency.marker
        if marker and marker.evaluate({"extra": extra}) and not marker.evaluate({"extra": ""}):
            dependency.marker = None
            added.append(str(dependency))
    return added


def _manifest(packages: Sequence[str], index_urls: Sequence[str]) -> dict:
    """What identifies an environment: its name is a hash of this."""
    return {
        "packages": sorted(packages),
        "index_urls": list(index_urls),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "kfp": importlib.metadata.version("kfp"),
    }


def _env_name(manifest: dict) -> str:
    """A short stable hash of the manifest."""
    text = json.dumps(manifest, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _build(
    final: Path, manifest: dict, create: list[str], install: list[str], what: str, log: Log | None
) -> None:
    """Build the environment in a hidden folder beside `final`, then rename it into place.

    Runs under the environment's lock, so leftovers of crashed builds are removed first.
    """
    root = final.parent
    for leftover in root.glob(f".{final.name}-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    _say(log, f"building {what} (first use; cached afterwards)")
    started = time.monotonic()
    building = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=root))
    building.chmod(0o755)  # mkdtemp's 0700 would hide the env from other users
    # Relocatable: it is built under a temporary name, so its scripts must not embed it.
    try:
        with (root / f"{final.name}.build.log").open("w") as output:
            _uv(["venv", *create, str(building)], output)
            _uv(["pip", "install", "--python", str(interpreter(building)), *install], output)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        (building / MANIFEST).write_text(json.dumps({**manifest, "created": created}, indent=2))
        building.rename(final)
    finally:
        shutil.rmtree(building, ignore_errors=True)  # already gone when the build succeeded
    _say(log, f"{what} ready in {time.monotonic() - started:.1f}s: {final}")


def _uv(args: list[str], output: IO[str]) -> None:
    """Run uv with its output appended to the build log; CalledProcessError if it fails."""
    output.write(f"$ uv {shlex.join(args)}\n")
    output.flush()
    subprocess.run(
        [uv.find_uv_bin(), *args],
        stdout=output,
        stderr=subprocess.STDOUT,
        check=True,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},  # the Python asked for, or none
    )


def _index_options(index_urls: Sequence[str]) -> list[str]:
    """uv options for kfp's pip_index_urls, resolved across indexes as pip does."""
    if not index_urls:
        return []
    options = ["--index-strategy", "unsafe-best-match", "--index-url", index_urls[0]]
    for url in index_urls[1:]:
        options += ["--extra-index-url", url]
    return options


def interpreter(env: Path) -> Path:
    """The interpreter of a virtualenv."""
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _describe(packages: Sequence[str]) -> str:
    return ", ".join(packages) or "kfp only"


def _tail(path: Path) -> str:
    lines = path.read_text(errors="replace").splitlines()
    return "\n".join(lines[-_LOG_TAIL_LINES:])


def _say(log: Log | None, line: str) -> None:
    if log is not None:
        log(line)
