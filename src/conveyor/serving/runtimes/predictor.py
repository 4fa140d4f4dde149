"""The base class of custom predictors (Vertex AI custom prediction routines).

A model folder holding `predictor.py` is served by the class in it that subclasses
`Predictor` (or by the class that `predictor.json` names). For each request Conveyor calls

    predictor.postprocess(predictor.predict(predictor.preprocess(prediction_input)))

where `prediction_input` is the request body, `{"instances": [...]}` plus `"parameters"`
when the request has them, as in Vertex AI's default prediction handler. `postprocess`
returns the predictions: a list with one entry per instance, or `{"predictions": [...]}`.
Raise `conveyor.serving.runtimes.InvalidInput` for a bad request: the server answers 400.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class Predictor(ABC):
    """Load artifacts once, then turn request bodies into predictions."""

    @abstractmethod
    def load(self, artifacts_uri: str) -> None:
        """Load the model from `artifacts_uri`, the local path of the model folder."""

    def preprocess(self, prediction_input: Any) -> Any:
        """Turn the request body into what `predict` takes; by default the body itself."""
        return prediction_input

    @abstractmethod
    def predict(self, instances: Any) -> Any:
        """Predict for what `preprocess` returned."""

    def postprocess(self, prediction_results: Any) -> Any:
        """Turn `predict`'s results into the predictions; by default they are returned as
        they are."""
        return prediction_results
