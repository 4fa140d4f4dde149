"""kfp.local as the reference runner Conveyor is held to: the conformance tests compare
outputs with it (`tests/conformance`), the engine benchmark speed (`benchmarks/engine.py`).

    with on_kfp_local(pipeline_root):
        task = pipeline(**arguments)  # runs on kfp.local; task.outputs are its outputs

Both import this module by name: pytest puts this folder on `sys.path` (`pythonpath` in
pyproject.toml), the benchmark does it itself.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Iterator
from pathlib import Path

from kfp import local


@contextlib.contextmanager
def on_kfp_local(pipeline_root: Path) -> Iterator[None]:
    """Set kfp.local up for the pipeline calls inside: `SubprocessRunner(use_venv=False)`,
    outputs under `pipeline_root`, a failed task raising RuntimeError.

    kfp.local indents task logs by swapping `builtins.print`; its loop threads race and
    can leave the swapped one in place, which Conveyor's forked workers would inherit:
    the original is put back on the way out.
    """
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(pipeline_root),
        raise_on_error=True,
    )
    original = builtins.print
    try:
        yield
    finally:
        builtins.print = original
