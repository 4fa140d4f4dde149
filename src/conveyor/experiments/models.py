"""A fitted model saved as a registry artifact, for `log_model`: in the file its framework's
runtime loads (`conveyor.registry.frameworks`), scikit-learn in skops' safe format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conveyor.experiments.errors import ExperimentUsageError


def framework_of(model: Any) -> str:
    """The registry framework of a fitted model object, by the library that defines it."""
    package = type(model).__module__.split(".")[0]
    if package in ("sklearn", "xgboost", "lightgbm"):
        return package
    raise ExperimentUsageError(
        f"cannot save a {type(model).__module__}.{type(model).__name__}: log_model saves "
        "scikit-learn, XGBoost and LightGBM models; save others yourself and give their folder "
        "with its framework"
    )


def save(model: Any, folder: Path) -> str:
    """Write `model` into the new folder `folder`; its framework."""
    framework = framework_of(model)
    folder.mkdir(parents=True)
    if framework == "sklearn":
        import skops.io

        skops.io.dump(model, folder / "model.skops")
    elif framework == "xgboost":
        booster = model.get_booster() if hasattr(model, "get_booster") else model
        booster.save_model(folder / "model.json")
    else:
        booster = getattr(model, "booster_", model)
        booster.save_model(folder / "model.txt")
    return framework
