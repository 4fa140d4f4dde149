"""The frameworks a version may be, and the file each one's runtime loads from the artifact.

The file names are those of Vertex AI's prebuilt prediction containers, at the
top of the artifact folder (or the artifact itself, when it is one file).
Listed in order of preference: `model.skops` is scikit-learn's safe format;
`model.joblib` and `model.pkl` are pickles, which the runtimes load only for
versions marked trusted. A TensorFlow SavedModel is always a folder
(`saved_model.pb` beside `variables/` and `assets/`), so its file alone is no
artifact.
"""

from __future__ import annotations

from enum import StrEnum

from conveyor.registry.errors import UnknownFramework


class Framework(StrEnum):
    SKLEARN = "sklearn"
    XGBOOST = "xgboost"
    LIGHTGBM = "lightgbm"
    ONNX = "onnx"
    TENSORFLOW = "tensorflow"
    CUSTOM = "custom"


MODEL_FILES: dict[Framework, tuple[str, ...]] = {
    Framework.SKLEARN: ("model.skops", "model.joblib", "model.pkl"),
    Framework.XGBOOST: ("model.bst", "model.json", "model.ubj"),
    Framework.LIGHTGBM: ("model.txt",),
    Framework.ONNX: ("model.onnx",),
    Framework.TENSORFLOW: ("saved_model.pb",),
    Framework.CUSTOM: ("predictor.py",),
}
"""The files a runtime looks for, preferred first; an artifact must hold at least one."""

PICKLE_FILES = frozenset({"model.joblib", "model.pkl"})
"""Formats that run code when loaded: only versions marked trusted load them."""

FOLDER_ONLY = frozenset({Framework.TENSORFLOW})
"""Frameworks whose model file cannot be loaded without the rest of its folder."""


def framework_of(value: str | Framework) -> Framework:
    try:
        return Framework(value)
    except ValueError:
        known = ", ".join(f.value for f in Framework)
        raise UnknownFramework(
            f"framework {value!r} is not one Conveyor serves; use one of {known}"
        ) from None


def model_file(framework: Framework, names: set[str]) -> str | None:
    """The file of `names` (top-level file names) the runtime would load, or None."""
    return next((n for n in MODEL_FILES[framework] if n in names), None)


def expected(framework: Framework) -> str:
    """The expected files, for messages: `model.skops, model.joblib or model.pkl`."""
    files = MODEL_FILES[framework]
    return files[0] if len(files) == 1 else f"{', '.join(files[:-1])} or {files[-1]}"
