"""Pipelines the Ray fault tests run with `conveyor run` in a process of their own."""

from kfp import dsl


@dsl.component
def hold(gate: str, started: str) -> str:
    """Note each start in `started`, then wait for `gate` to exist."""
    import os
    import time

    with open(started, "a") as f:
        f.write("x")
    while not os.path.exists(gate):
        time.sleep(0.1)
    return "done"


@dsl.component
def shout(text: str) -> str:
    return text.upper()


@dsl.pipeline(name="ray-hold")
def holding(gate: str, started: str) -> str:
    held = hold(gate=gate, started=started)
    return shout(text=held.output).output
