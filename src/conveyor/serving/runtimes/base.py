"""The model runtime contract: load a model folder once, then predict many times, fast.

A runtime is one framework's way to read a Vertex AI style model folder (`model.skops`,
`model.bst`, `model.onnx`, `predictor.py`, ...) and answer predictions:

    runtime = SklearnRuntime(trusted=False, schema=schema)
    runtime.load(folder)                    # picks the file, checks trust, loads it
    runtime.predict([[1.0, 2.0]])           # or [{"a": 1.0, "b": 2.0}]: one prediction each
    runtime.predict_array(array)            # batch fast path: numpy in, numpy out
    runtime.predict_frame(dataframe)        # batch fast path: columns found by name
    runtime.metadata()                      # framework, features, tensors (OIP)

`predict` follows Vertex AI `instances`: each instance is a list of feature values in the
model's order, or an object of feature name to value, reordered by the model's own feature
names (or the schema's, when the model records none). Predictions come back as plain
Python values. Subclasses implement `load_file` and `predict_array`; everything between the
request and the array (the schema check, ordering, numpy conversion, errors naming the
feature) is shared here. Runtimes are safe to call from several threads once loaded.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from conveyor.errors import ConveyorError
from conveyor.serving.runtimes._convert import Rows, to_plain
from conveyor.serving.runtimes.errors import (
    InvalidInput,
    MissingModelFile,
    ModelLoadError,
    PredictionError,
    SchemaMismatch,
    UntrustedModel,
)
from conveyor.serving.runtimes.schema import DATATYPES, FLOAT, InputSchema

if TYPE_CHECKING:
    import pandas as pd

PICKLES = frozenset({"model.joblib", "model.pkl"})
OUTPUT_DATATYPES = {"f4": "FP32", "f8": "FP64", "i4": "INT32", "i8": "INT64", "b1": "BOOL"}
"""The Open Inference Protocol datatype of a numpy prediction (by dtype, without byte order)."""


class Runtime(ABC):
    """One framework's loader and predictor for a model folder."""

    framework: ClassVar[str]
    """The name the registry records (`sklearn`, `xgboost`, ...)."""
    platform: ClassVar[str]
    """The Open Inference Protocol's platform name for the model metadata route."""
    files: ClassVar[tuple[str, ...]]
    """The model file names this runtime reads, in order of preference."""
    native_files: ClassVar[tuple[str, ...] | None] = None
    """The files that identify this runtime when no framework is named (default: `files`)."""
    runs_code: ClassVar[bool] = False
    """True when loading any file of this runtime runs code from the folder."""

    def __init__(self, *, trusted: bool = False, schema: Any = None) -> None:
        self.trusted = trusted
        self.schema = InputSchema.parse(schema) if schema is not None else None
        self.file: Path | None = None
        self.feature_names: tuple[str, ...] | None = None
        self.n_features: int | None = None
        self.dtype: Any = np.float64
        self.rows = Rows(None, None, np.float64)

    # Loading

    @classmethod
    def find_file(cls, folder: Path) -> Path | None:
        """The preferred model file of this runtime present in `folder`, if any; `folder`
        itself when it is a file of this runtime (a single-file model artifact)."""
        if folder.is_file():
            return folder if folder.name in cls.files else None
        for name in cls.files:
            if (folder / name).is_file():
                return folder / name
        return None

    @classmethod
    def needs_trust(cls, name: str) -> bool:
        """Whether loading the file `name` runs code, so only a trusted version may."""
        return cls.runs_code or name in PICKLES

    def load(self, folder: Path) -> None:
        """Load the model from `folder` (or from a single model file); checksums must have
        been verified before (`load_model` does both)."""
        folder = Path(folder)
        path = self.find_file(folder)
        if path is None:
            where = "is not a" if folder.is_file() else "holds no"
            raise MissingModelFile(
                f"{folder} {where} {self.framework} model file: expected one of "
                f"{', '.join(self.files)}"
            )
        if self.needs_trust(path.name) and not self.trusted:
            raise untrusted(path.name)
        try:
            self.load_file(path)
        except ConveyorError:
            raise
        except Exception as exc:
            raise ModelLoadError(
                f"{path} could not be loaded as a {self.framework} model: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self.file = path
        self._settle_features()

    @abstractmethod
    def load_file(self, path: Path) -> None:
        """Read the model from `path`; set `feature_names` and `n_features` when known."""

    def _settle_features(self) -> None:
        if self.schema is not None:
            named = self.schema.names
            if self.feature_names is not None:
                problems = []
                if missing := [n for n in self.feature_names if n not in named]:
                    problems.append(f"it lacks {', '.join(missing)}")
                if extra := [n for n in named if n not in self.feature_names]:
                    problems.append(f"the model does not know {', '.join(extra)}")
                if problems:
                    raise SchemaMismatch(
                        f"the input schema does not match {self.file}: {'; '.join(problems)}; "
                        "record the schema of the features the model was trained on"
                    )
            elif self.n_features is not None and self.n_features != len(named):
                raise SchemaMismatch(
                    f"the input schema names {len(named)} features but {self.file} takes "
                    f"{self.n_features}; record the schema of the features it was trained on"
                )
            else:
                self.feature_names = named
                self.n_features = len(named)
        self.rows = Rows(self.feature_names, self.n_features, self.dtype)

    # Prediction

    def predict(self, instances: list | np.ndarray, parameters: dict | None = None) -> list:
        """One JSON-ready prediction per instance (Vertex AI `instances` semantics); or per
        row of a float64 array, where `takes_array` said so."""
        # A given array is copied: the model's own, as `rows.array` makes it of lists.
        given = self.given_array(instances)
        array = instances.copy() if given else self.checked_array(instances)
        return to_plain(self.guarded(self.predict_request, array, parameters))

    def checked_array(self, instances: list) -> np.ndarray:
        """`instances` checked against the schema, as the array of rows `predict` makes
        of them; InvalidInput naming what is wrong."""
        if self.schema is not None:
            self.schema.validate(instances)
        return self.rows.array(instances)

    def takes_array(self, width: int) -> bool:
        """Whether `predict` may be given, instead of lists of floats `width` long, the
        float64 array of shape (rows, `width`) that they make (an Open Inference Protocol
        tensor of floats): where it would make that very array of the lists itself, and
        no check of its could refuse them. A runtime with a `predict` of its own takes
        lists."""
        return type(self).predict is Runtime.predict and self._floats_fit(width)

    def array_of(self, instances: list) -> np.ndarray | None:
        """The float64 array `predict` would make of `instances` (a list) and then
        predict, checked as `predict` checks them (InvalidInput), for a runtime that
        takes such arrays as they are (`takes_array`) and knows its width; None for any
        other runtime, whose `predict` takes the instances."""
        schema = self.schema
        width = self.rows.n_features or (len(schema.names) if schema is not None else 0)
        if not width or not self.takes_array(width):
            return None
        array = self.checked_array(instances)  # float64 rows: `takes_array` checked the dtype
        return array if array.ndim == 2 and array.shape[1] == width else None

    def given_array(self, instances: Any) -> bool:
        """Whether `instances` are an array `predict` takes as it is (`takes_array`); any
        other array is read as before, as instances (and refused: not a list)."""
        return (
            isinstance(instances, np.ndarray)
            and instances.ndim == 2
            and instances.dtype == np.float64
            and self.takes_array(instances.shape[1])
        )

    def _floats_fit(self, width: int) -> bool:
        """Whether rows of `width` floats pass the shared checks as they are and become a
        float64 array of them: numeric features (no schema, or a schema of `width` float
        features) and `width` the model's number of features, when it knows it."""
        rows = self.rows
        if rows.dtype != np.float64 or (rows.n_features and width != rows.n_features):
            return False
        schema = self.schema
        return schema is None or (
            len(schema.names) == width and all(f.type == FLOAT for f in schema.features)
        )

    def predict_request(self, array: np.ndarray, parameters: dict | None = None) -> Any:
        """`predict_array` for the rows of one request. Runtimes whose framework spreads a
        call over threads (XGBoost, LightGBM) answer requests on one thread: a server
        already runs requests side by side, and two OpenMP runtimes in one process whose
        idle threads spin slow each other down (measured: 0.5 ms became 8 ms)."""
        return self.predict_array(array, parameters)

    @abstractmethod
    def predict_array(self, array: np.ndarray, parameters: dict | None = None) -> Any:
        """Predictions for a (rows, features) array in model order: an array or a list with
        one entry per row. The batch path: the framework's default threads."""

    def predict_frame(self, frame: pd.DataFrame, parameters: dict | None = None) -> Any:
        """Predictions for a DataFrame whose columns are the features, found by name."""
        return self.guarded(self.predict_array, self.frame_array(frame), parameters)

    def guarded(self, call: Any, *args: Any) -> Any:
        """`call(*args)`, with a framework's failure turned into a `PredictionError`."""
        try:
            return call(*args)
        except ConveyorError:
            raise
        except Exception as exc:
            raise PredictionError(
                f"{self.framework} model {self.file} failed to predict: {type(exc).__name__}: {exc}"
            ) from exc

    def frame_columns(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` with exactly the model's features in model order; errors name the column."""
        if self.feature_names is None:
            if self.n_features is not None and frame.shape[1] != self.n_features:
                raise InvalidInput(
                    f"the data has {frame.shape[1]} columns; the model takes {self.n_features}"
                    " features in training order (it records no feature names)"
                )
            return frame
        columns = [str(c) for c in frame.columns]
        for name in self.feature_names:
            if name not in columns:
                raise InvalidInput(f"the data has no column {name!r}", feature=name)
        for name in columns:
            if name not in self.feature_names:
                raise InvalidInput(
                    f"the data has column {name!r}, which the model does not take; it takes: "
                    f"{', '.join(self.feature_names)}",
                    feature=name,
                )
        if columns == list(self.feature_names):
            return frame
        return frame[list(self.feature_names)]

    def frame_array(self, frame: pd.DataFrame) -> np.ndarray:
        """The features of `frame` as a numpy array of the model's dtype, in model order."""
        frame = self.frame_columns(frame)
        try:
            return frame.to_numpy(dtype=self.dtype)
        except (ValueError, TypeError, OverflowError):
            for name in frame.columns:
                try:
                    frame[name].to_numpy(dtype=self.dtype)
                except (ValueError, TypeError, OverflowError) as exc:
                    raise InvalidInput(
                        f"column {name!r} does not hold numbers: {exc}", feature=str(name)
                    ) from None
            raise

    # Description

    def metadata(self) -> dict[str, Any]:
        """What the model takes and gives, for the Open Inference Protocol metadata route:
        `framework`, `platform`, `file`, `features` (schema entries, or None when the
        model records no names), `inputs` and `outputs` (tensor descriptions)."""
        features = self.features()
        if features is not None:
            inputs = [
                {
                    "name": f["name"],
                    "datatype": DATATYPES.get(f.get("type"), "BYTES"),
                    "shape": [-1],
                }
                for f in features
            ]
        elif self.n_features:
            inputs = [{"name": "input", "datatype": "FP64", "shape": [-1, self.n_features]}]
        else:
            inputs = []
        return {
            "framework": self.framework,
            "platform": self.platform,
            "file": self.file.name if self.file else None,
            "features": features,
            "inputs": inputs,
            "outputs": self.outputs(),
        }

    def features(self) -> list[dict[str, Any]] | None:
        """The features in model order as schema entries; a type only where it is known."""
        if self.schema is not None:
            by_name = {f.name: f.as_dict() for f in self.schema.features}
            return [by_name[n] for n in self.feature_names or self.schema.names]
        if self.feature_names is None:
            return None
        numeric = np.dtype(self.dtype).kind in "fiub"
        return [{"name": n, "type": FLOAT} if numeric else {"name": n} for n in self.feature_names]

    def outputs(self) -> list[dict[str, Any]]:
        """The output tensors, when the runtime knows them: of the datatype and shape its
        predictions have (infer answers them so)."""
        return [{"name": "predictions", "datatype": "FP64", "shape": [-1]}]

    def probe_outputs(self) -> list[dict[str, Any]]:
        """The output as a prediction for one row of zeros shows it, for frameworks whose
        output type and shape depend on the model (a booster's FP32, k classes)."""
        found = np.asarray(self.predict_request(np.zeros((1, self.n_features or 0))))
        datatype = OUTPUT_DATATYPES.get(found.dtype.str[1:], "FP64")
        return [{"name": "predictions", "datatype": datatype, "shape": [-1, *found.shape[1:]]}]


def untrusted(name: str) -> UntrustedModel:
    """The error for a file whose loading would run code in an untrusted version."""
    if name in PICKLES:
        return UntrustedModel(
            f"{name} is a pickle: mark the version trusted to load it, or save it with "
            "skops (model.skops); loading a pickle runs code from the file"
        )
    return UntrustedModel(f"{name} is custom prediction code: mark the version trusted to run it")
