"""LightGBM models: a Booster saved with `save_model` as `model.txt`.

Predictions are the Booster's (probabilities for `binary`, one list of class
probabilities per row for `multiclass`, values for regression), as LightGBM's own
`Booster.predict` gives them. A text model holds no code, so any version may load it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from conveyor.serving.runtimes.base import Runtime

if TYPE_CHECKING:
    import pandas as pd


class LightGBMRuntime(Runtime):
    """A LightGBM Booster."""

    framework = "lightgbm"
    platform = "lightgbm"
    files = ("model.txt",)

    def load_file(self, path: Path) -> None:
        import lightgbm

        self.booster = lightgbm.Booster(model_str=path.read_text(encoding="utf-8"))
        self.feature_names = tuple(self.booster.feature_name())
        self.n_features = self.booster.num_feature()
        self.described = self.probe_outputs()

    def predict_request(self, array: np.ndarray, parameters: dict | None = None) -> Any:
        return self.booster.predict(array, num_threads=1)  # see Runtime.predict_request

    def predict_array(self, array: np.ndarray, parameters: dict | None = None) -> Any:
        return self.booster.predict(array)

    def predict_frame(self, frame: pd.DataFrame, parameters: dict | None = None) -> Any:
        # LightGBM reads DataFrames itself, categorical columns included.
        return self.guarded(self.booster.predict, self.frame_columns(frame))

    def outputs(self) -> list[dict[str, Any]]:
        return self.described
