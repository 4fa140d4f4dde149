"""A real Ray cluster for tests and benchmarks: a head and more nodes started with
`ray start` on this machine, sized for 2 CPUs (a small object store, no dashboard).

Each node gets a temp folder of its own, which every one of its processes names on its
command line (or descends from one that does): that is how a node is stopped, or killed
mid-task, without `ray stop`, which would stop every Ray process of the machine. Ray names
a node by the machine's address even when told 127.0.0.1, and so does a driver joining it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

RAY = Path(sys.executable).with_name("ray")
OBJECT_STORE_BYTES = 80 * 2**20
START_SECONDS = 180.0
SETTINGS = {
    "RAY_USAGE_STATS_ENABLED": "0",
    # A busy machine starts a node's agents slowly: wait for them rather than fail.
    "RAY_agent_register_timeout_ms": "180000",
    # A dead node is noticed in a couple of seconds rather than fifteen.
    "RAY_health_check_initial_delay_ms": "0",
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_failure_threshold": "4",
}


@dataclass
class Node:
    """One node: its temp folder names its processes."""

    folder: Path
    marks: tuple[str, ...]
    """What the command line of each of its processes (or of an ancestor) holds."""


@dataclass
class RayCluster:
    """A running cluster: its address, and its nodes (the head first)."""

    address: str
    folder: Path
    env: dict[str, str]
    nodes: list[Node] = field(default_factory=list)

    def add_node(self, cpus: int) -> Node:
        """Start one more node with `cpus` CPUs; `wait_for` waits for it to join."""
        folder = self.folder / f"node-{len(self.nodes)}"
        _start(["--address", self.address, "--num-cpus", str(cpus)], self.env, folder)
        node = Node(folder, (str(folder),))
        self.nodes.append(node)
        return node

    def kill(self, node: Node) -> None:
        """Kill a node at once, with everything it runs (a machine gone)."""
        _signal(_processes(node.marks), signal.SIGKILL)

    def stop(self) -> None:
        """Stop every node: SIGTERM, then SIGKILL what is left after a few seconds."""
        marks = tuple(mark for node in self.nodes for mark in node.marks)
        _signal(_processes(marks), signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _processes(marks) and time.monotonic() < deadline:
            time.sleep(0.2)
        _signal(_processes(marks), signal.SIGKILL)


def wait_for(address: str, alive: int, env: dict[str, str]) -> None:
    """Wait until `alive` nodes of the cluster at `address` are up, asking from a process of
    its own (a test process may have joined another cluster)."""
    script = (
        "import sys, time, ray\n"
        f"deadline = time.monotonic() + {START_SECONDS}\n"
        "ray.init(address=sys.argv[1], log_to_driver=False, logging_level='ERROR')\n"
        "while sum(n['Alive'] for n in ray.nodes()) != int(sys.argv[2]):\n"
        "    assert time.monotonic() < deadline, ray.nodes()\n"
        "    time.sleep(0.2)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, address, str(alive)],
        env=env,
        timeout=START_SECONDS + 60,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"the Ray cluster did not come up:\n{done.stderr[-3000:]}"


@contextmanager
def running_ray(
    cpus: tuple[int, ...] = (1, 2), env: dict[str, str] | None = None
) -> Iterator[RayCluster]:
    """A cluster of one node per entry of `cpus` (the head first) whose processes see `env`
    too (an S3 endpoint, say); stopped, and its files removed, after. Its files are in a
    short-named folder of /tmp: Ray's sockets live there, and a socket's path may not be
    longer than 107 bytes."""
    environment = {**os.environ, **SETTINGS, **(env or {})}
    with (
        tempfile.TemporaryDirectory(prefix="ray-") as where,
        _cluster(Path(where), cpus, environment) as cluster,
    ):
        yield cluster


@contextmanager
def _cluster(
    folder: Path, cpus: tuple[int, ...], environment: dict[str, str]
) -> Iterator[RayCluster]:
    port, client_port = _free_port(), _free_port()
    head = Node(folder / "node-0", (str(folder / "node-0"), f"--port={client_port}"))
    cluster = RayCluster(f"127.0.0.1:{port}", folder, environment, [head])
    try:
        _start(
            [
                "--head", "--port", str(port), "--num-cpus", str(cpus[0]),
                "--include-dashboard", "false", "--ray-client-server-port", str(client_port),
            ],
            environment,
            head.folder,
        )  # fmt: skip
        for count in cpus[1:]:
            cluster.add_node(count)
        wait_for(cluster.address, len(cpus), environment)
        yield cluster
    finally:
        cluster.stop()


def _start(arguments: list[str], env: dict[str, str], folder: Path) -> None:
    """Start a node with its files in `folder` (its output in `folder`.log). Ports that
    default to fixed numbers get free ones, so that clusters can run side by side."""
    folder.mkdir(parents=True)
    command = [str(RAY), "start", "--disable-usage-stats", "--temp-dir", str(folder)]
    command += ["--object-store-memory", str(OBJECT_STORE_BYTES)]
    command += ["--dashboard-agent-listen-port", str(_free_port()), *arguments]
    log = folder.with_suffix(".log")
    with log.open("ab") as output:
        done = subprocess.run(
            command, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
            timeout=START_SECONDS,
        )  # fmt: skip
    assert done.returncode == 0, f"`ray start` failed:\n{log.read_text()[-3000:]}"


def _processes(marks: tuple[str, ...]) -> list[int]:
    """The processes whose command line holds one of `marks`, and their descendants."""
    parents: dict[int, int] = {}
    marked = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            line = (entry / "cmdline").read_bytes().decode(errors="replace")
            parents[int(entry.name)] = int(
                (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            )
            if any(mark in line for mark in marks):
                marked.add(int(entry.name))
    found = set(marked)
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in found} - found
        found |= children
        grew = bool(children)
    return sorted(found - {os.getpid()})


def _signal(pids: list[int], number: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, number)


def _free_port() -> int:
    """A free port outside Ray's default worker ports (10002-19999)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
