"""Which pipelines `conveyor ci` checks: those a repository's files define, or the list in
its `conveyor.toml`, each with its CI profile (the parameters of a small sample run and
the outputs that run must produce).

    # conveyor.toml, at the repository's root
    [ci]
    pipelines = ["pipelines/train.py:train"]        # optional: found by default

    [ci.profiles."pipelines/train.py:train"]
    parameters = {rows = 100, epochs = 1}
    outputs = ["train/model", "evaluate/Output", "accuracy"]

A repository's root is the folder of the nearest `conveyor.toml` at or above a path, else
the path itself (a file's folder). Files are found without running them: a `*.py` file is
a candidate when the text of one of its functions is decorated with `pipeline`
(`@dsl.pipeline`); only candidates are imported. Hidden folders, `.venv` and `tests` are
not searched.
"""

from __future__ import annotations

import ast
import os
import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conveyor.automation.errors import AutomationUsageError

CONFIG_FILE = "conveyor.toml"
_DECORATED = re.compile(r"^[ \t]*@(?:[\w.]+\.)?pipeline\b.*?^[ \t]*def[ \t]+(\w+)", re.M | re.S)
"""A `@...pipeline` decorator and the function under it, in a file Python cannot parse."""
SKIPPED_FOLDERS = frozenset({".venv", "tests"})
"""Folders never searched for pipelines, beside hidden ones."""


@dataclass(frozen=True)
class Profile:
    """How to run a pipeline once in CI: its parameters, and the outputs to find after."""

    parameters: dict[str, Any] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()
    """`task/output` (a task's output parameter or artifact) or `output` (the pipeline's)."""


@dataclass(frozen=True)
class Target:
    """One pipeline function of a repository: `function` in `file`."""

    root: Path
    file: Path
    function: str
    profile: Profile | None = None

    @property
    def label(self) -> str:
        """`pipelines/train.py:train`, relative to the repository's root."""
        return f"{self.file.relative_to(self.root).as_posix()}:{self.function}"


@dataclass
class Repository:
    """A folder of pipelines checked together: its tests run once for all of them."""

    root: Path
    targets: list[Target] = field(default_factory=list)

    @property
    def tests(self) -> Path | None:
        """Its `tests/` folder, when it has one."""
        folder = self.root / "tests"
        return folder if folder.is_dir() else None


def find_repositories(paths: Iterable[str | os.PathLike[str]]) -> list[Repository]:
    """The repositories of `paths` with their pipelines, in the order given; each pipeline
    once, however many paths reach it. Raises AutomationUsageError for a missing path, a
    bad `conveyor.toml` and a path with no pipeline."""
    repositories: dict[Path, Repository] = {}
    configs: dict[Path, dict[str, Any]] = {}
    for given in paths:
        path = Path(given).resolve()
        if not path.exists():
            raise AutomationUsageError(f"PATH: no such file or folder: {given}")
        root, config = _root(path, configs)
        repository = repositories.setdefault(root, Repository(root))
        found = list(_targets(root, config, path))
        if not found:
            raise AutomationUsageError(
                f"PATH: no pipelines found in {given} (no @dsl.pipeline function in its "
                f"*.py files, nor a [ci] pipelines list in {CONFIG_FILE})"
            )
        known = {t.label for t in repository.targets}
        repository.targets.extend(t for t in found if t.label not in known)
    return list(repositories.values())


def _root(path: Path, configs: dict[Path, dict[str, Any]]) -> tuple[Path, dict[str, Any]]:
    """The repository's root for `path`, and the `[ci]` table of its `conveyor.toml`."""
    start = path if path.is_dir() else path.parent
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            if folder not in configs:
                configs[folder] = _read_config(folder / CONFIG_FILE)
            return folder, configs[folder]
    return start, {}


def _read_config(file: Path) -> dict[str, Any]:
    """The `[ci]` table of `file`, its fields checked: a wrong one is named."""
    try:
        document = tomllib.loads(file.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AutomationUsageError(f"{file}: not valid TOML: {exc}") from None
    table = document.get("ci", {})
    if not isinstance(table, dict):
        raise AutomationUsageError(f"{file}: ci must be a table ([ci])")
    unknown = sorted(set(table) - {"pipelines", "profiles"})
    if unknown:
        raise AutomationUsageError(
            f"{file}: ci.{unknown[0]} is not a CI setting (known: pipelines, profiles)"
        )
    listed = table.get("pipelines")
    if listed is not None:
        if not isinstance(listed, list) or not all(isinstance(t, str) for t in listed):
            raise AutomationUsageError(
                f'{file}: ci.pipelines must be a list of "file.py:function" strings'
            )
        for target in listed:
            _split_target(file, "ci.pipelines", target)
    profiles = table.get("profiles", {})
    if not isinstance(profiles, dict):
        raise AutomationUsageError(f'{file}: ci.profiles must be a table ([ci.profiles."f.py:fn"])')
    return {
        "pipelines": listed,
        "profiles": {
            target: _profile(file, target, profile) for target, profile in profiles.items()
        },
    }


def _profile(file: Path, target: str, table: Any) -> Profile:
    key = f'ci.profiles."{target}"'
    relative, function = _split_target(file, key, target)
    if not isinstance(table, dict):
        raise AutomationUsageError(f"{file}: {key} must be a table (parameters, outputs)")
    unknown = sorted(set(table) - {"parameters", "outputs"})
    if unknown:
        raise AutomationUsageError(
            f"{file}: {key}.{unknown[0]} is not a profile setting (known: parameters, outputs)"
        )
    parameters = table.get("parameters", {})
    if not isinstance(parameters, dict):
        raise AutomationUsageError(f"{file}: {key}.parameters must be a table of values")
    outputs = table.get("outputs", [])
    if not isinstance(outputs, list) or not all(
        isinstance(o, str) and o.strip("/") == o and o for o in outputs
    ):
        raise AutomationUsageError(
            f'{file}: {key}.outputs must be a list of "task/output" or "output" strings'
        )
    if function not in _pipeline_names(file.parent / relative):
        raise AutomationUsageError(
            f"{file}: {key} names no @dsl.pipeline function {function!r} in {relative}"
        )
    return Profile(dict(parameters), tuple(outputs))


def _split_target(file: Path, key: str, target: str) -> tuple[str, str]:
    """`file.py:function` as its two parts; the file must exist under the config's folder."""
    relative, _, function = target.rpartition(":")
    if not relative.endswith(".py") or not function.isidentifier():
        raise AutomationUsageError(f'{file}: {key}: {target!r} is not a "file.py:function" target')
    if not (file.parent / relative).is_file():
        raise AutomationUsageError(f"{file}: {key}: no such file: {relative}")
    return relative, function


def _targets(root: Path, config: dict[str, Any], path: Path) -> Iterator[Target]:
    """The pipelines under `path`: listed in the config, or found in the files."""
    profiles: dict[str, Profile] = config.get("profiles", {})
    listed: list[str] | None = config.get("pipelines")
    if listed is not None:
        pairs = [(root / t.rpartition(":")[0], t.rpartition(":")[2]) for t in listed]
    else:
        pairs = [(f, name) for f in _python_files(path) for name in _pipeline_names(f)]
    for file, function in pairs:
        file = file.resolve()
        if file == path or path in file.parents:
            target = Target(root, file, function)
            yield Target(root, file, function, profiles.get(target.label))


def _python_files(path: Path) -> Iterator[Path]:
    """`path`, or the `*.py` files under it in name order, skipping hidden, `.venv` and
    `tests` folders."""
    if path.is_file():
        yield path
        return
    for folder, folders, files in os.walk(path):
        folders[:] = sorted(
            f for f in folders if not f.startswith(".") and f not in SKIPPED_FOLDERS
        )
        yield from (Path(folder) / f for f in sorted(files) if f.endswith(".py"))


def _pipeline_names(file: Path) -> list[str]:
    """The functions of `file` decorated with `pipeline` (`@dsl.pipeline`, `@pipeline(...)`),
    read from its text without running it. A file Python cannot parse is searched as text,
    so that its pipelines are still checked (and fail to compile) rather than missed."""
    text = file.read_bytes()
    try:
        tree = ast.parse(text, filename=str(file))
    except (SyntaxError, ValueError):
        return _DECORATED.findall(text.decode(errors="replace"))
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and any(map(_is_pipeline, node.decorator_list))
    ]


def _is_pipeline(decorator: ast.expr) -> bool:
    called = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(called, ast.Attribute):
        return called.attr == "pipeline"
    return isinstance(called, ast.Name) and called.id == "pipeline"
