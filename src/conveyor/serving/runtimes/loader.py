"""Loading a model folder: verify every file's checksum, pick the runtime, load.

    runtime = load_model(path, framework=version.framework,
                         sha256s={f.path: f.sha256 for f in version.files},
                         trusted=version.trusted, schema=version.input_schema)

1. Checksums. When `sha256s` (relative path -> hex sha256, as recorded at upload) is
   given, every recorded file must be present with those bytes and no other file may be
   in the folder, all checked before any file is read by a framework. A model artifact
   may also be a single file (`.../model.joblib`): its one entry is keyed `""`, as the
   artifact store records a file artifact, or by its name.
2. Runtime. `framework` names it (`sklearn`, `xgboost`, `lightgbm`, `onnx`, `tensorflow`,
   `custom`, or an alias such as `scikit-learn`); otherwise the files decide, as in Vertex AI's
   prebuilt containers. `predictor.py`/`predictor.json` make a custom predictor (it may
   load the other files itself); otherwise exactly one framework's files must be there.
3. Trust. Pickles (`model.joblib`, `model.pkl`) and custom code load only when `trusted`;
   a `model.skops` holding types skops does not trust by default, too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from conveyor.serving.runtimes.base import Runtime
from conveyor.serving.runtimes.custom_runtime import CustomRuntime
from conveyor.serving.runtimes.errors import ChecksumMismatch, MissingModelFile, ModelLoadError
from conveyor.serving.runtimes.lightgbm_runtime import LightGBMRuntime
from conveyor.serving.runtimes.onnx_runtime import OnnxRuntime
from conveyor.serving.runtimes.sklearn_runtime import SklearnRuntime
from conveyor.serving.runtimes.tensorflow_runtime import TensorFlowRuntime
from conveyor.serving.runtimes.xgboost_runtime import XGBoostRuntime
from conveyor.store.artifacts.digest import relative_files

RUNTIMES: tuple[type[Runtime], ...] = (
    CustomRuntime,
    SklearnRuntime,
    XGBoostRuntime,
    LightGBMRuntime,
    OnnxRuntime,
    TensorFlowRuntime,
)
ALIASES = {
    "scikit-learn": "sklearn",
    "scikit_learn": "sklearn",
    "xgb": "xgboost",
    "lgbm": "lightgbm",
    "onnxruntime": "onnx",
    "tf": "tensorflow",
    "savedmodel": "tensorflow",
}
IGNORED = ("__pycache__/",)
_CHUNK = 1 << 20


def load_model(
    path: Path,
    *,
    framework: str | None = None,
    sha256s: Mapping[str, str] | None = None,
    trusted: bool = False,
    schema: Any = None,
) -> Runtime:
    """A loaded runtime for the model at `path`, a folder (or a single model file); see the
    module docstring."""
    path = Path(path)
    if not path.exists():
        raise MissingModelFile(
            f"model folder {path} does not exist: a model is a folder holding model.skops, "
            "model.joblib, model.bst, model.txt, model.onnx, saved_model.pb or predictor.py"
        )
    if sha256s is not None:
        verify_files(path, sha256s)
    cls = runtime_class(framework) if framework else detect(path)
    runtime = cls(trusted=trusted, schema=schema)
    runtime.load(path)
    return runtime


def runtime_class(framework: str) -> type[Runtime]:
    """The runtime of a framework name (case and aliases forgiven)."""
    name = framework.strip().lower()
    name = ALIASES.get(name, name)
    for cls in RUNTIMES:
        if cls.framework == name:
            return cls
    known = ", ".join(cls.framework for cls in RUNTIMES)
    raise ModelLoadError(f"no model runtime for framework {framework!r}; Conveyor serves {known}")


def detect(path: Path) -> type[Runtime]:
    """The runtime whose model files are in the folder `path` (or that reads the file)."""
    if path.is_file():
        for cls in RUNTIMES:
            if path.name in (cls.native_files or cls.files):
                return cls
        raise MissingModelFile(
            f"{path} is not a model file Conveyor knows by its name; name it model.skops, "
            "model.joblib, model.pkl, model.bst, model.json, model.ubj, model.txt or "
            "model.onnx, or put it in a folder"
        )
    folder = path
    found = []
    for cls in RUNTIMES:
        names = [n for n in cls.native_files or cls.files if (folder / n).is_file()]
        if names:
            found.append((cls, names))
    if found and found[0][0] is CustomRuntime:
        return CustomRuntime
    if len(found) == 1:
        return found[0][0]
    if not found:
        present = [p.name for p in sorted(folder.iterdir())][:10]
        raise MissingModelFile(
            f"{folder} holds no model file Conveyor knows (found: {', '.join(present) or 'nothing'});"
            " save model.skops/model.joblib/model.pkl (scikit-learn), model.bst/model.json/"
            "model.ubj (XGBoost), model.txt (LightGBM), model.onnx, a TensorFlow SavedModel "
            "(saved_model.pb), or predictor.py"
        )
    listed = "; ".join(f"{', '.join(names)} ({cls.framework})" for cls, names in found)
    raise ModelLoadError(
        f"{folder} holds models of several frameworks: {listed}; name the framework "
        "when registering the model, or keep one model per folder"
    )


def verify_files(path: Path, sha256s: Mapping[str, str]) -> None:
    """Raise unless the files of the folder `path` are exactly those recorded, with those
    sha256s (for a single-file model: unless its one recorded sha256 is the file's)."""
    if path.is_file():
        _verify_file(path, sha256s)
        return
    folder = path
    for rel in sorted(sha256s):
        parts = PurePosixPath(rel).parts
        if not rel or PurePosixPath(rel).is_absolute() or ".." in parts:
            raise ChecksumMismatch(
                f"the checksums of {folder} name {rel!r}, which is not a path inside it"
            )
        path = folder / rel
        if not path.is_file():
            raise MissingModelFile(
                f"{rel} is missing from {folder}, though it was recorded at upload: the model "
                "folder is incomplete; restore the file or upload the model again"
            )
        found = _sha256(path)
        if found != sha256s[rel].lower():
            raise ChecksumMismatch(
                f"{rel} in {folder} does not match the sha256 recorded at upload (recorded "
                f"{sha256s[rel][:12]}..., found {found[:12]}...): the file changed after "
                "upload; restore it or upload the model as a new version"
            )
    for rel in relative_files(folder):
        if rel not in sha256s and not rel.startswith(IGNORED):
            raise ChecksumMismatch(
                f"{rel} is in {folder} but was not recorded at upload: remove it, or upload "
                "the folder as a new version"
            )


def _verify_file(path: Path, sha256s: Mapping[str, str]) -> None:
    keys = set(sha256s)
    if len(keys) != 1 or not keys <= {"", path.name}:
        listed = ", ".join(repr(k) for k in sorted(keys)) or "none"
        raise ChecksumMismatch(
            f"{path} is a single model file but its recorded checksums name {listed}: a "
            f'file artifact has one entry, keyed "" or {path.name!r}'
        )
    (expected,) = sha256s.values()
    found = _sha256(path)
    if found != expected.lower():
        raise ChecksumMismatch(
            f"{path} does not match the sha256 recorded at upload (recorded {expected[:12]}..., "
            f"found {found[:12]}...): the file changed after upload; restore it or upload the "
            "model as a new version"
        )


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            sha.update(chunk)
    return sha.hexdigest()
