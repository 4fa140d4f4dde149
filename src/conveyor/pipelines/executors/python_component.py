"""Reads a lightweight KFP Python component back out of its compiled container spec.

`@dsl.component` compiles a function into a container whose command is::

    sh -c  "<install script>"   # optional: pip install [packages_to_install] && pip install kfp
    sh -ec "<runner script>"    # writes $0 to a file, runs python3 -m kfp.dsl.executor_main
    "<the function's module source>"

and whose args are `--executor_input {{$}} --function_to_execute <name>`. Conveyor
runs that source in its own Python workers rather than in the image, so it needs
the source, the function's name, and what the install script would have installed.

The install script holds one or two `pip install` commands. With two, the first
installs `packages_to_install` and the second kfp itself. With one, it is kfp's own
when it reads `kfp==<version> --no-deps ...` (the form kfp injects), and the user's
otherwise (`install_kfp_package=False`, or a `kfp...` package among
`packages_to_install`). A `kfp_package_path` compiled without `packages_to_install`
cannot be told apart from a user's package, so it is reported as one.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from conveyor.errors import InvalidPipeline

_RUNNER = "kfp.dsl.executor_main"
_SHELLS = {"sh", "bash", "/bin/sh", "/bin/bash"}
_OPERATORS = ";&|()<>\n"
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_PIP_INSTALL = (["python3", "-m", "pip", "install"], ["python", "-m", "pip", "install"])
_IGNORED_FLAGS = {"--quiet", "-q", "--no-warn-script-location", "--no-deps", "--upgrade", "-U"}


@dataclass(frozen=True)
class PythonComponent:
    """What Conveyor needs to run a lightweight Python component without its image."""

    source: str
    """The module source kfp embedded (imports, helper functions, the component)."""
    function: str
    """Name of the component function, from `--function_to_execute`."""
    packages: tuple[str, ...] = ()
    """The user's `packages_to_install`, in order; kfp's own install is left out."""
    index_urls: tuple[str, ...] = ()
    """`pip_index_urls`: the first is the index URL, the others extra index URLs."""


class ComponentParseError(InvalidPipeline):
    """A container that runs kfp's executor on embedded source, but not in a form we can read."""


def parse(container: dict[str, Any]) -> PythonComponent | None:
    """The lightweight Python component in a PipelineContainerSpec, or None if it is not one.

    Containerized Python components (`target_image`) and container components
    carry no source, so they are None: they run as containers. Every task of a
    component has the same spec, so the answer is remembered.
    """
    return _parse(tuple(container.get("command") or ()), tuple(container.get("args") or ()))


@functools.lru_cache(maxsize=256)
def _parse(command_words: tuple[str, ...], args: tuple[str, ...]) -> PythonComponent | None:
    command = list(command_words)
    runner = _runner_index(command)
    if runner is None:
        return None
    if runner + 3 >= len(command):
        raise ComponentParseError(
            "the component's runner script is not followed by its Python source; "
            "recompile the pipeline with kfp's @dsl.component"
        )
    function = _function_name(list(args))
    installs = _pip_installs(command[:runner], function)
    if len(installs) > 2:
        raise ComponentParseError(
            f"component {function!r}: its install script has {len(installs)} pip install "
            "commands where kfp emits at most two; recompile it with @dsl.component"
        )
    packages, index_urls = (), ()
    if installs:
        index_urls = installs[0].index_urls
        if len(installs) == 2 or not installs[0].is_kfp_injected():
            packages = installs[0].requirements
    return PythonComponent(
        source=command[runner + 3], function=function, packages=packages, index_urls=index_urls
    )


@dataclass(frozen=True)
class _PipInstall:
    """One `pip install` command of the install script, options read out."""

    requirements: tuple[str, ...]
    index_urls: tuple[str, ...]
    no_deps: bool

    def is_kfp_injected(self) -> bool:
        """Whether this is the `kfp==<version> --no-deps ...` line kfp adds by itself."""
        if not self.requirements or not self.no_deps:
            return False
        try:
            return canonicalize_name(Requirement(self.requirements[0]).name) == "kfp"
        except InvalidRequirement:
            return False


def _runner_index(command: Sequence[str]) -> int | None:
    """Where the `sh -ec <script>` that runs kfp's executor on `$0` starts in the command."""
    for at in range(len(command) - 2):
        shell, flag, script = command[at : at + 3]
        if shell not in _SHELLS or not flag.startswith("-") or not flag.endswith("c"):
            continue
        if _RUNNER not in script:
            continue
        words = _words(script)
        runs_module = any(words[i : i + 2] == ["-m", _RUNNER] for i in range(len(words)))
        if runs_module and "--component_module_path" in words:
            return at
    return None


def _function_name(args: Sequence[str]) -> str:
    """The value of `--function_to_execute` in the container's args."""
    for at, arg in enumerate(args):
        if arg == "--function_to_execute" and at + 1 < len(args):
            return args[at + 1]
    raise ComponentParseError(
        "the component embeds Python source but its args have no "
        "`--function_to_execute <name>`; recompile the pipeline with kfp's @dsl.component"
    )


def _pip_installs(prefix: Sequence[str], function: str) -> list[_PipInstall]:
    """The pip install commands of the install script that runs before the component."""
    if not prefix:
        return []
    if len(prefix) != 3 or prefix[0] not in _SHELLS or prefix[1] != "-c":
        raise ComponentParseError(
            f"component {function!r}: expected `sh -c <install script>` before its runner, "
            f"found {list(prefix)!r}; recompile it with @dsl.component"
        )
    return [_read_pip_install(args, function) for args in _pip_install_args(_words(prefix[2]))]


def _pip_install_args(words: list[str]) -> list[list[str]]:
    """The arguments after `pip install` of each simple command that runs pip install."""
    found, command = [], []
    for word in [*words, "\n"]:
        if word and all(char in _OPERATORS for char in word):
            while command and _ASSIGNMENT.match(command[0]):
                command.pop(0)
            for head in _PIP_INSTALL:
                if command[: len(head)] == head:
                    found.append(command[len(head) :])
            command = []
        else:
            command.append(word)
    return found


def _read_pip_install(args: list[str], function: str) -> _PipInstall:
    """Split one pip install command's arguments into requirements and index options."""
    requirements, extra_urls, index_url, no_deps = [], [], None, False
    words = iter(args)
    for word in words:
        option, has_value, value = word.partition("=") if word.startswith("--") else (word, "", "")
        if option in {"--index-url", "-i", "--extra-index-url", "--trusted-host"}:
            if not has_value:
                value = next(words, None)
            if value is None:
                raise ComponentParseError(
                    f"component {function!r}: pip option {option} has no value in its install "
                    "script; recompile it with @dsl.component"
                )
            if option in {"--index-url", "-i"}:
                index_url = value
            elif option == "--extra-index-url":
                extra_urls.append(value)
        elif word in _IGNORED_FLAGS:
            no_deps = no_deps or word == "--no-deps"
        elif word.startswith("-"):
            raise ComponentParseError(
                f"component {function!r}: pip option {word!r} in its install script is not "
                "supported (Conveyor installs packages_to_install with uv); pass requirement "
                "strings in packages_to_install and index URLs in pip_index_urls"
            )
        else:
            requirements.append(word)
    if extra_urls and index_url is None:
        raise ComponentParseError(
            f"component {function!r}: its install script has --extra-index-url without "
            "--index-url, which kfp never emits; set pip_index_urls on @dsl.component"
        )
    index_urls = (index_url, *extra_urls) if index_url else ()
    return _PipInstall(tuple(requirements), index_urls, no_deps)


def _words(script: str) -> list[str]:
    """Shell words of a script, with each run of operators or newlines as one word."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=_OPERATORS)
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError as error:
        raise ComponentParseError(
            f"cannot read the component's shell script ({error}): {script[:200]!r}; "
            "recompile the pipeline with kfp's @dsl.component"
        ) from None
