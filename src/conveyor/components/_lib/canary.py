"""Infra validation: load a model as the server will, and send it canary requests.

TFX's InfraValidator starts the serving binary on the model and sends it requests built
from examples. Here the serving runtime (docs/runtimes.md) loads the model folder the
way the prediction server loads a registered version:

1. the folder is checked against the sha256 the metadata store recorded when the
   training task published it, so a file changed since is caught first;
2. the model loads with the framework, trust and input schema it would be
   registered with (handover.registration);
3. canary requests, built from sample rows turned into JSON and back as a client's
   body would be, go through `predict` (the server's path, checked against the
   schema), alternating instances as objects and as lists; then all the rows go
   through `predict_frame` (batch prediction's path). Each must give one prediction
   per row.

The registry's input schema does not mark features nullable, so the server refuses
`null`: canary rows are sampled among the rows with every feature present.

The infra blessing document:

    {"blessed": true, "reason": "...", "framework": "sklearn", "trusted": true,
     "load_seconds": 0.08, "rows": 12,
     "requests": [{"form": "objects", "rows": 4, "seconds": 0.004,
                   "predictions": [0, 1, 0, 0]}, ...]}
"""

from __future__ import annotations

import json
import time
from typing import Any

from conveyor.components._lib import files, handover
from conveyor.components._lib.errors import ComponentError
from conveyor.errors import ConveyorError

SHOWN = 5
"""Predictions of each request kept in the document."""


def validate(
    model_path: str,
    model_uri: str | None,
    examples_path: str,
    num_requests: int,
    rows_per_request: int,
    seed: int = 0,
) -> dict[str, Any]:
    """The infra blessing of a model folder; `blessed` False with the reason when it cannot
    load or predict."""
    if num_requests < 1 or rows_per_request < 1:
        raise ComponentError(
            f"num_requests and rows_per_request must be at least 1, not {num_requests} and "
            f"{rows_per_request}"
        )
    document: dict[str, Any] = {"blessed": False, "reason": "", "requests": []}
    try:
        settings = handover.registration(model_path)
        document.update(framework=settings.framework, trusted=settings.trusted)
        started = time.perf_counter()
        with handover.client() as conveyor:
            conveyor.check_artifact(model_path, uri=model_uri)
            runtime = conveyor.load_model(
                model_path,
                uri=model_uri,
                framework=settings.framework,
                trusted=settings.trusted,
                schema=settings.input_schema,
            )
        document["load_seconds"] = round(time.perf_counter() - started, 4)
        features = [f["name"] for f in settings.input_schema]
        rows = canary_rows(examples_path, features, num_requests * rows_per_request, seed)
        document["rows"] = len(rows)
        for start in range(0, len(rows), rows_per_request):
            chunk = rows[start : start + rows_per_request]
            as_lists = (start // rows_per_request) % 2 == 1
            instances = [[r[f] for f in features] for r in chunk] if as_lists else chunk
            began = time.perf_counter()
            predictions = runtime.predict(instances)
            _check_count(predictions, len(chunk), "a canary request")
            document["requests"].append(
                {
                    "form": "lists" if as_lists else "objects",
                    "rows": len(chunk),
                    "seconds": round(time.perf_counter() - began, 5),
                    "predictions": predictions[:SHOWN],
                }
            )
        import pandas as pd

        batch = runtime.predict_frame(pd.DataFrame(rows, columns=features))
        _check_count(batch, len(rows), "the batch request")
    except ConveyorError as exc:
        document["reason"] = f"{type(exc).__name__}: {exc}"
        return document
    document["blessed"] = True
    document["reason"] = (
        f"the model loaded in the {settings.framework} runtime in "
        f"{document['load_seconds']:.3f}s and answered {len(document['requests'])} canary "
        f"requests and one batch of {len(rows)} rows"
    )
    return document


def canary_rows(
    examples_path: str, features: list[str], count: int, seed: int
) -> list[dict[str, Any]]:
    """Up to `count` rows with every feature present, as a JSON client would send them."""
    frame = files.read_table(examples_path)
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise ComponentError(
            f"the examples lack the model's features {', '.join(missing)}; give rows the "
            "model takes (the evaluation data, for one)"
        )
    complete = frame[features].dropna()
    if complete.empty:
        raise ComponentError(
            "no row of the examples has every feature present; canary requests need complete "
            "rows (the server refuses null values)"
        )
    sample = complete.sample(n=min(count, len(complete)), random_state=seed)
    return json.loads(sample.to_json(orient="records"))


def _check_count(predictions: Any, expected: int, what: str) -> None:
    got = len(predictions)
    if got != expected:
        raise ComponentError(f"{what} of {expected} rows got {got} predictions")
