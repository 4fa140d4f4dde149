"""What the remote-mode tests share: a home holding two versions of a tiny churn model and
an endpoint serving one, served by a real `conveyor serve` (a separate process on a
loopback port) with API tokens of every role, and a `conveyor.toml` whose `staging`
environment is that server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import skops.io
from sklearn.linear_model import LogisticRegression

from conveyor.config import Settings
from conveyor.home import open_home

SCHEMA = [{"name": "tenure", "type": "integer"}, {"name": "calls", "type": "integer"}]
ROW = {"tenure": 3, "calls": 9}
TOKENS = {"read": "r-token-1", "predict": "p-token-1", "deploy": "d-token-1", "admin": "a-token-1"}
TOKEN_VARIABLE = "CONVEYOR_TEST_STAGING_TOKEN"
ENDPOINT = "churn-prod"


@dataclass(frozen=True)
class Served:
    """A running server: its URL, and the folder of the home it serves."""

    url: str
    folder: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _save_models(root: Path) -> dict[str, Path]:
    """Two saved models whose answers differ: v2 learnt the opposite labels."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"tenure": rng.integers(0, 72, 300), "calls": rng.integers(0, 10, 300)})
    labels = ((frame["calls"] * 0.6 - frame["tenure"] * 0.1) > 2).astype(int).to_numpy()
    folders = {}
    for name, y in (("v1", labels), ("v2", 1 - labels)):
        folder = root / "saved" / name
        folder.mkdir(parents=True)
        skops.io.dump(LogisticRegression(max_iter=1000).fit(frame, y), folder / "model.skops")
        folders[name] = folder
    return folders


def fill_home(folder: Path) -> None:
    """churn@1 (production, evaluated) and churn@2 (candidate); `churn-prod` serving
    churn@production."""
    saved = _save_models(folder.parent)
    with open_home(settings=Settings.from_env(folder, environ={})) as home:
        home.registry.upload(
            "churn", saved["v1"], framework="sklearn", input_schema=SCHEMA, aliases=["production"]
        )
        home.registry.upload(
            "churn", saved["v2"], framework="sklearn", input_schema=SCHEMA, aliases=["candidate"]
        )
        home.registry.add_evaluation("churn@1", None, {"auc": 0.91}, slice=None)
        home.endpoints.create(ENDPOINT, description="churn scores")
        home.endpoints.deploy(ENDPOINT, "churn@production")


@contextmanager
def serving(root: Path) -> Iterator[Served]:
    """`conveyor serve` over a filled home under `root`, with a token of each role."""
    folder = root / "server-home"
    fill_home(folder)
    tokens = {role: (token, f"{role}r") for role, token in TOKENS.items()}
    with conveyor_serve(folder, tokens, root) as url:
        yield Served(url, folder)


@contextmanager
def conveyor_serve(folder: Path, tokens: dict[str, tuple[str, str]], root: Path) -> Iterator[str]:
    """`conveyor serve` on a free loopback port over the home at `folder`, with `tokens`
    (role -> token and its name; one must be `read`), its log under `root`; its URL."""
    tokens_file = root / "tokens"
    tokens_file.write_text("".join(f"{role} {t} {name}\n" for role, (t, name) in tokens.items()))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env.update(CONVEYOR_HOME=str(folder), CONVEYOR_CONFIG="")
    command = Path(sys.executable).with_name("conveyor")
    log_path = root / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(command), "serve", "--port", str(port), "--tokens", str(tokens_file)]
            + ["--log-level", "warning"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(process, url, log_path, tokens["read"][0])
            yield url
        finally:
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(process: subprocess.Popen, url: str, log: Path, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/v2/health/ready", headers=headers).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"conveyor serve did not start:\n{log.read_text()}")
        time.sleep(0.05)


def write_config(folder: Path, url: str, extra: str = "") -> Path:
    """A conveyor.toml in `folder` whose `staging` is the server at `url`."""
    path = folder / "conveyor.toml"
    path.write_text(f'[env.staging]\nserver_url = "{url}"\ntoken_env = "{TOKEN_VARIABLE}"\n{extra}')
    return path
