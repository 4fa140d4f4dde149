"""What the tests of an endpoint's live counters share (the REST route, the console's
charts): an endpoint `flaky` serving a model that answers one row and fails on another,
and predictions sent to it."""

from __future__ import annotations

from pathlib import Path

import httpx

from conveyor.home import Home

ENDPOINT = "flaky"
SCHEMA = [{"name": "tenure", "type": "integer"}, {"name": "calls", "type": "integer"}]
GOOD = {"tenure": 3, "calls": 2}
FAILING = {"tenure": 3, "calls": 9}
"""A row the flaky model fails on (its calls are above 7): the server answers 500."""

FLAKY = """
from conveyor.serving.runtimes import Predictor

class Flaky(Predictor):
    def load(self, artifacts_uri):
        pass

    def predict(self, body):
        rows = body["instances"]
        if any(row["calls"] > 7 for row in rows):
            raise RuntimeError("the flaky model fails on many calls")
        return [1 for _ in rows]
"""


def add_flaky_endpoint(home: Home, folder: Path) -> str:
    """Register the flaky model from `folder` (made here) and serve it at `ENDPOINT`; the
    deployed model's id."""
    folder.mkdir(parents=True)
    (folder / "predictor.py").write_text(FLAKY)
    home.registry.upload("flaky", folder, framework="custom", trusted=True, input_schema=SCHEMA)
    home.endpoints.create(ENDPOINT, description="fails on many calls")
    return home.endpoints.deploy(ENDPOINT, "flaky@1").id


def predict(url: str, rows: list[dict], headers: dict[str, str] | None = None) -> list[int]:
    """Send each row to `ENDPOINT` of the server at `url`, one request each; the statuses."""
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        path = f"/v1/endpoints/{ENDPOINT}:predict"
        return [http.post(path, json={"instances": [row]}).status_code for row in rows]
