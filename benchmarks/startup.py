"""Start-up benchmark: the wall time of whole processes, as a user iterating on a pipeline
waits for them, side by side with what kfp itself costs.

Each row is the median of `--repeat` fresh processes, in one scratch folder whose
metadata store exists already (made by a first, unmeasured run):

    python -c 'from kfp import dsl'                 the floor: kfp's own import
    conveyor --help                                 target: at most 0.3 s
    python -c 'import conveyor.components'          target: at most 0.5 s more than kfp
    conveyor run examples/hello.py:hello_pipeline   target: at most 0.4 s more than kfp
    the same pipeline on kfp.local, in a process    the peer

Its processes run without PYTHONDONTWRITEBYTECODE, so that the first run leaves the
bytecode caches that a user's Python keeps: with the variable set (some sandboxes and
containers set it), every row would also measure compiling every module it imports.

It prints a table and PASS / MISS per target and exits 0 either way: it is a report.

    python benchmarks/startup.py [--repeat 5]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HELLO = ROOT / "examples" / "hello.py"

KFP_LOCAL = f"""
import sys, tempfile
sys.path[:0] = [{str(ROOT / "support")!r}, {str(HELLO.parent)!r}]
from kfp_reference import on_kfp_local
from hello import hello_pipeline
with on_kfp_local(tempfile.mkdtemp()):
    hello_pipeline()
"""

COMMANDS = {
    "from kfp import dsl": [sys.executable, "-c", "from kfp import dsl"],
    "conveyor --help": [str(BIN / "conveyor"), "--help"],
    "import conveyor.components": [sys.executable, "-c", "import conveyor.components"],
    "conveyor run hello": [str(BIN / "conveyor"), "run", f"{HELLO}:hello_pipeline"],
    "kfp.local run hello": [sys.executable, "-c", KFP_LOCAL],
}


def wall(command: list[str], folder: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=folder, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="conveyor-startup-"))
    env_home = {**os.environ, "CONVEYOR_HOME": str(folder / ".conveyor")}
    os.environ.update(env_home)  # this script's own children; Conveyor reads it once each
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # start-up, not compiling (see above)
    subprocess.run(COMMANDS["conveyor run hello"], cwd=folder, check=True, capture_output=True)
    times = {name: [] for name in COMMANDS}
    for _ in range(args.repeat):  # interleaved, so that load falls on every row alike
        for name, command in COMMANDS.items():
            times[name].append(wall(command, folder))
    median = {name: statistics.median(values) for name, values in times.items()}
    floor = median["from kfp import dsl"]
    print(f"{'process':32} {'median':>8} {'over kfp':>9}")
    for name, value in median.items():
        print(f"{name:32} {value:7.2f}s {value - floor:+8.2f}s")
    checks = [
        ("conveyor --help <= 0.3 s", median["conveyor --help"] <= 0.3),
        ("components <= kfp + 0.5 s", median["import conveyor.components"] - floor <= 0.5),
        ("conveyor run hello <= kfp + 0.4 s", median["conveyor run hello"] - floor <= 0.4),
    ]
    for label, passed in checks:
        print(f"{'PASS' if passed else 'MISS'}  {label}")
    ratio = median["kfp.local run hello"] / median["conveyor run hello"]
    print(f"conveyor run hello is {ratio:.1f}x kfp.local's time for the same pipeline")


if __name__ == "__main__":
    main()
