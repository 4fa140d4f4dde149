"""The README's shell blocks, run for real, so that they cannot drift from what works.

Every ```bash block of README.md runs, in order, in one bash session (`set -euo
pipefail`), as a new user types them into one terminal: in a fresh temporary folder,
with a fresh `CONVEYOR_HOME`, `REPO` naming this clone, and the clone's `.venv/` not
on the PATH (the README's own block puts it there). A block that cannot run here
(`make demo`, `make test`, summaries with placeholders) has the line
`<!-- not run by tests: REASON -->` just before it, and only those are left out.

Servers a block starts must run in the background and be stopped by the block
itself: the test fails when a process of the session outlives it. The README's port
8080 is replaced by a free one, so that the test runs beside other servers.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
MARKER = re.compile(r"<!--\s*not run by tests:(?P<reason>.*?)-->")
SESSION_SECONDS = 600
"""A bound on the whole session (it takes well under a minute), not a measure."""


@dataclass(frozen=True)
class Block:
    line: int
    """The line of the README the block's first command is on."""
    body: str
    skipped: str | None
    """Why the tests leave it out, from its marker; None when it runs."""


def blocks() -> list[Block]:
    """The README's ```bash blocks, in order."""
    lines = README.read_text().splitlines()
    found = []
    index = 0
    while index < len(lines):
        if lines[index].strip() == "```bash":
            end = lines.index("```", index + 1)
            marker = MARKER.fullmatch(lines[index - 1].strip()) if index else None
            skipped = marker["reason"].strip() if marker else None
            found.append(Block(index + 2, "\n".join(lines[index + 1 : end]), skipped))
            index = end
        index += 1
    return found


def test_every_block_left_out_says_why():
    lines = README.read_text().splitlines()
    markers = [number for number, line in enumerate(lines) if MARKER.search(line)]
    assert markers, "README.md has no block left out: then this test's markers are unused"
    for number in markers:
        marker = MARKER.fullmatch(lines[number].strip())
        assert marker, f"README.md:{number + 1}: the marker must be a line of its own"
        assert lines[number + 1].strip() == "```bash", (
            f"README.md:{number + 1}: the marker must come just before a ```bash block"
        )
        assert len(marker["reason"].split()) >= 3, f"README.md:{number + 1}: say why"
    left_out = {block.line for block in blocks() if block.skipped is not None}
    assert len(left_out) == len(markers)


def test_the_two_commands_stay_as_ci_reads_them():
    """`.ci/run` runs the README's test command; the block holding it is left out here."""
    (two,) = [block for block in blocks() if "make test" in block.body]
    assert two.skipped
    assert [line.split("#")[0].strip() for line in two.body.splitlines()] == [
        "make demo",
        "make test",
    ]
    assert "make test" in (REPO / ".ci" / "run").read_text()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def session_script(port: int, progress: Path) -> str:
    """The blocks that run, as one script that notes in `progress` which block it is in."""
    parts = ["set -euo pipefail"]
    for block in blocks():
        if block.skipped is None:
            parts.append(f"echo {block.line} > {progress}")
            parts.append(re.sub(r"\b8080\b", str(port), block.body))
    return "\n".join(parts) + "\n"


def user_environment(tmp_path: Path) -> dict[str, str]:
    """This environment as a new user's: no Conveyor settings, no active virtualenv, the
    clone's `.venv/bin` off the PATH; `REPO` names the clone."""
    venv_bin = str(REPO / ".venv" / "bin")
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("CONVEYOR_")
        and name not in ("VIRTUAL_ENV", "PYTHONPATH", "PROMETHEUS_MULTIPROC_DIR", "PYTHONHOME")
    }
    path = [part for part in environment.get("PATH", "").split(os.pathsep) if part != venv_bin]
    environment["PATH"] = os.pathsep.join(path or ["/usr/bin", "/bin"])
    environment["REPO"] = str(REPO)
    environment["CONVEYOR_HOME"] = str(tmp_path / "conveyor-home")
    return environment


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover (a process of the group we cannot signal)
        return True
    return True


@pytest.mark.timeout(SESSION_SECONDS + 60)
def test_the_readme_shell_blocks_run_in_a_fresh_folder(tmp_path):
    if not (REPO / ".venv" / "bin" / "activate").exists():
        pytest.skip("the README activates the clone's .venv/, which `make` creates")
    folder = tmp_path / "fresh"
    folder.mkdir()
    progress = tmp_path / "progress"
    port = free_port()
    script = tmp_path / "readme.sh"
    script.write_text(session_script(port, progress))

    session = subprocess.Popen(
        ["bash", str(script)],
        cwd=folder,
        env=user_environment(tmp_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = session.communicate(timeout=SESSION_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(session.pid, signal.SIGKILL)
        output, _ = session.communicate()
        where = progress.read_text().strip() if progress.exists() else "?"
        pytest.fail(
            f"README.md block at line {where} still ran after {SESSION_SECONDS}s:\n{output}"
        )

    # Whatever a block started must have been stopped by it (a server, above all).
    deadline = time.monotonic() + 60
    while group_alive(session.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left_running = group_alive(session.pid)
    if left_running:
        os.killpg(session.pid, signal.SIGKILL)

    where = progress.read_text().strip() if progress.exists() else "?"
    assert session.returncode == 0, (
        f"README.md block at line {where} failed (exit {session.returncode}):\n{output}"
    )
    assert not left_running, f"a process started by the README's blocks outlived them:\n{output}"
    assert '"predictions"' in output, output  # the tutorial's request was answered
