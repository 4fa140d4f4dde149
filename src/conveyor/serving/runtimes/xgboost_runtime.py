"""XGBoost models: a Booster saved as `model.bst`, `model.json` or `model.ubj`.

As Vertex AI's prebuilt XGBoost container, predictions are the Booster's (probabilities
for `binary:logistic`, scores for regression), whatever the file. Trusted versions may
also hold a pickle (`model.joblib`, `model.pkl`) of a Booster or of an estimator of the
scikit-learn API (`XGBClassifier`, ...), which is served through its Booster; this file
is only considered when the framework is named `xgboost` (alone, a pickle is read as a
scikit-learn model).

Rows go to `Booster.inplace_predict`, which skips building a DMatrix per request;
requests run on one thread (a copy of the Booster with `nthread=1`), batches on XGBoost's
default threads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from conveyor.serving.runtimes.base import PICKLES, Runtime
from conveyor.serving.runtimes.errors import ModelLoadError
from conveyor.serving.runtimes.sklearn_runtime import load_pickle

if TYPE_CHECKING:
    import pandas as pd


class XGBoostRuntime(Runtime):
    """An XGBoost Booster."""

    framework = "xgboost"
    platform = "xgboost"
    files = ("model.bst", "model.json", "model.ubj", "model.joblib", "model.pkl")
    native_files = ("model.bst", "model.json", "model.ubj")

    def load_file(self, path: Path) -> None:
        import xgboost

        if path.name in PICKLES:
            found = load_pickle(path)
            if not isinstance(found, xgboost.Booster):
                if not callable(getattr(found, "get_booster", None)):
                    raise ModelLoadError(
                        f"{path} holds a {type(found).__name__}, not an XGBoost model: "
                        "save a Booster (model.bst/json/ubj) or an XGBoost estimator"
                    )
                found = found.get_booster()
            booster = found
        else:
            booster = xgboost.Booster()
            # From bytes, so the format is read from the content, not guessed from the name.
            booster.load_model(bytearray(path.read_bytes()))
        self.booster = booster
        self.single = booster.copy()  # for requests; see Runtime.predict_request
        self.single.set_param({"nthread": 1})
        self.feature_names = tuple(booster.feature_names) if booster.feature_names else None
        self.n_features = booster.num_features()
        self.described = self.probe_outputs()

    def predict_request(self, array: np.ndarray, parameters: dict | None = None) -> Any:
        return self.single.inplace_predict(array)

    def predict_array(self, array: np.ndarray, parameters: dict | None = None) -> Any:
        return self.booster.inplace_predict(array)

    def predict_frame(self, frame: pd.DataFrame, parameters: dict | None = None) -> Any:
        # XGBoost reads DataFrames itself, categorical columns included.
        return self.guarded(self.booster.inplace_predict, self.frame_columns(frame))

    def outputs(self) -> list[dict[str, Any]]:
        return self.described
