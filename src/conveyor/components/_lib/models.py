"""Model folders in the registry's convention, and loading them back to predict.

A model artifact is a folder:

    model.skops       a scikit-learn estimator or Pipeline (preprocessing inside), or
    model.json        an XGBoost Booster (XGBoost trained without a transform), or
    model.txt         a LightGBM Booster (LightGBM trained without a transform)
    schema.json       the input schema: [{"name": "age", "type": "integer"}, ...] in model order
    model_info.json   how it was trained: framework, estimator, task, label, classes,
                      features, hyperparameters, model file, types skops must trust

These are the file names of Vertex AI's prebuilt prediction containers, which
the registry and Conveyor's runtimes use. A classifier whose runtime predicts
class indices (XGBoost always; LightGBM's Booster) records its class labels,
in index order, under `classes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio

from conveyor.components._lib import files
from conveyor.components._lib.errors import ComponentError
from conveyor.components._lib.estimators import CLASSIFICATION

SKOPS, XGBOOST_FILE, LIGHTGBM_FILE = "model.skops", "model.json", "model.txt"
SCHEMA_FILE, INFO_FILE = "schema.json", "model_info.json"
MODEL_FILES = {"sklearn": SKOPS, "xgboost": XGBOOST_FILE, "lightgbm": LIGHTGBM_FILE}
TRUSTED_MODULES = ("sklearn", "xgboost", "lightgbm", "numpy", "scipy", "collections", "builtins")


def save(folder: str | Path, fitted: Any, framework: str, info: dict[str, Any]) -> dict[str, Any]:
    """Write a model folder; returns `info` completed with the model file and trust needs."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model_file = MODEL_FILES[framework]
    untrusted: list[str] = []
    if framework == "sklearn":
        sio.dump(fitted, folder / SKOPS)
        untrusted = sorted(sio.get_untrusted_types(file=folder / SKOPS))
    elif framework == "xgboost":
        fitted.get_booster().save_model(folder / XGBOOST_FILE)
    else:
        fitted.booster_.save_model(folder / LIGHTGBM_FILE)
    info = {**info, "framework": framework, "model_file": model_file, "untrusted_types": untrusted}
    files.write_json(info["input_schema"], folder / SCHEMA_FILE)
    files.write_json({k: v for k, v in info.items() if k != "input_schema"}, folder / INFO_FILE)
    return info


def exists(folder: str | Path) -> bool:
    """Whether a folder holds a model file (an empty Model artifact means "no model")."""
    folder = Path(folder)
    return folder.is_dir() and any((folder / name).exists() for name in MODEL_FILES.values())


@dataclass
class LoadedModel:
    """A model read back from its folder, predicting from a frame of raw features."""

    framework: str
    model: Any
    info: dict[str, Any]

    @property
    def task(self) -> str:
        return self.info["task"]

    @property
    def features(self) -> list[str]:
        return list(self.info["features"])

    @property
    def classes(self) -> list[Any]:
        return list(self.info.get("classes") or [])

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Labels for a classifier (the original labels), values for a regressor."""
        frame = frame[self.features]
        if self.task == CLASSIFICATION:
            probabilities = self.predict_proba(frame)
            if probabilities is not None and self.framework != "sklearn":
                return np.asarray(self.classes, dtype=object)[probabilities.argmax(axis=1)]
            predicted = np.asarray(self.model.predict(frame))
            if self.info.get("encoded_labels"):
                return np.asarray(self.classes, dtype=object)[predicted.astype(int)]
            return predicted
        return np.asarray(self._raw(frame), dtype=float).ravel()

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Class probabilities, columns in the order of `classes`; None if the model has none."""
        frame = frame[self.features]
        if self.framework == "sklearn":
            if not hasattr(self.model, "predict_proba"):
                return None
            return np.asarray(self.model.predict_proba(frame), dtype=float)
        raw = np.asarray(self._raw(frame), dtype=float)
        return np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw

    def _raw(self, frame: pd.DataFrame) -> Any:
        if self.framework == "xgboost":
            import xgboost

            return self.model.predict(xgboost.DMatrix(frame))
        return self.model.predict(frame)


def load(folder: str | Path, what: str = "model") -> LoadedModel:
    """Read a model folder written by `save` (or by hand, with a model_info.json)."""
    folder = Path(folder)
    info_file = folder / INFO_FILE
    if not info_file.exists():
        raise ComponentError(
            f"the {what} at {folder} has no {INFO_FILE}: train it with the train_model or "
            "tune_model component, or write one (framework, task, label, features, classes)"
        )
    info = files.read_json(info_file, f"{what} info")
    framework = info.get("framework")
    if framework not in MODEL_FILES:
        raise ComponentError(f"the {what} at {folder} has unknown framework {framework!r}")
    path = folder / MODEL_FILES[framework]
    if not path.exists():
        raise ComponentError(f"the {what} at {folder} has no {path.name}")
    if framework == "sklearn":
        untrusted = sio.get_untrusted_types(file=path)
        refused = sorted(t for t in untrusted if t.split(".")[0] not in TRUSTED_MODULES)
        if refused:
            raise ComponentError(
                f"{path} holds types from outside scikit-learn, XGBoost and LightGBM: "
                f"{', '.join(refused)}; the components load only models they could have trained"
            )
        model = sio.load(path, trusted=untrusted)
    elif framework == "xgboost":
        import xgboost

        model = xgboost.Booster()
        model.load_model(path)
    else:
        import lightgbm

        model = lightgbm.Booster(model_file=str(path))
    return LoadedModel(framework, model, info)
