"""Helpers of the hand-over tests: a model folder trained here, a registered version,
and `conveyor serve` in a subprocess."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd

from conveyor.client import Client
from conveyor.components._lib import handover, models, preprocess, training

LABEL = "malignant"


def train_folder(frame: pd.DataFrame, folder: Path) -> Path:
    """A model folder as train_model writes it: a LogisticRegression behind a transform
    (imputation, scaling, one-hot encoding of `site`), so skops needs trust."""
    settings = preprocess.options("median", "standard", "most_frequent", "one_hot", 0)
    fitted, config, _ = preprocess.fit(frame, settings, LABEL, None, None, None)
    transform = folder.with_name(folder.name + "-transform")
    preprocess.save(transform, fitted, config)
    prepared = training.setup(frame, LABEL, "LogisticRegression", None, preprocess.load(transform))
    trained = training.train(prepared, {"max_iter": 500}, 0)
    models.save(folder, trained.fitted, prepared.framework, trained.info())
    return folder


def register(client: Client, folder: Path, name: str = "cancer", aliases=("production",)):
    """Upload a model folder as the components would."""
    settings = handover.registration(folder)
    return client.upload_model(
        name,
        folder,
        framework=settings.framework,
        input_schema=settings.input_schema,
        trusted=settings.trusted,
        aliases=list(aliases),
    )


def features(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[LABEL])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def conveyor_serve(log_path: Path) -> Iterator[str]:
    """`conveyor serve` on a free loopback port, for the Conveyor home of the test; its URL."""
    port = free_port()
    command = Path(sys.executable).with_name("conveyor")
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(command), "serve", "--port", str(port), "--log-level", "warning"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{url}/v2/health/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log_path.read_text())
                time.sleep(0.1)
            yield url
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
