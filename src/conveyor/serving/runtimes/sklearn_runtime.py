"""scikit-learn models: `model.skops` (safe, preferred), `model.joblib` and `model.pkl`.

As Vertex AI's prebuilt scikit-learn container, predictions are the estimator's `predict`;
`parameters={"method": "predict_proba"}` (or `decision_function`, `predict_log_proba`)
asks for another method the estimator has.

`model.skops` is loaded with skops' trusted-types check: a file holding types that skops
does not trust by default loads only for a trusted version, and the error lists the types
to review. Pickles (`model.joblib` with joblib, `model.pkl` with pickle) load only for a
trusted version.

Speed: an estimator fitted on a DataFrame records `feature_names_in_`; predicting from a
DataFrame then costs scikit-learn about 0.5 ms more per call than from an array, so the
runtime passes a numpy array (columns ordered by those names) unless the model reads
columns by name (a ColumnTransformer selecting by name, a FunctionTransformer, or an
estimator from outside scikit-learn), in which case it builds a DataFrame. The warning
scikit-learn gives for an array without names is silenced for that reason. A float array
without NaN or infinities (checked once, by numpy) is predicted with scikit-learn's
`assume_finite`, so that each step of a pipeline does not check it again (a 1-row
prediction of a scaler and a logistic regression: 5% less time); any other input is
checked by scikit-learn as usual, so a model that accepts NaN still gets it.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from conveyor.serving.runtimes._convert import not_unicode, out_of_range, to_plain
from conveyor.serving.runtimes.base import Runtime
from conveyor.serving.runtimes.errors import InvalidInput, ModelLoadError, UntrustedModel
from conveyor.serving.runtimes.schema import FLOAT, INTEGER, datatype_of

if TYPE_CHECKING:
    import pandas as pd

METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function")


class SklearnRuntime(Runtime):
    """A fitted scikit-learn estimator or pipeline (anything with `predict`)."""

    framework = "sklearn"
    platform = "sklearn"
    files = ("model.skops", "model.joblib", "model.pkl")

    def load_file(self, path: Path) -> None:
        model = self._load_skops(path) if path.suffix == ".skops" else load_pickle(path)
        if not callable(getattr(model, "predict", None)):
            raise ModelLoadError(
                f"{path} holds a {type(model).__name__}, which has no predict method: "
                "save a fitted scikit-learn estimator or pipeline"
            )
        self.model = model
        self.described: list[dict[str, Any]] | None = None
        names = getattr(model, "feature_names_in_", None)
        self.feature_names = tuple(str(n) for n in names) if names is not None else None
        self.n_features = getattr(model, "n_features_in_", None)
        self.by_name = names is not None and reads_columns_by_name(model)
        if names is not None and not self.by_name:
            # Installed at each load (not once at import) so that a reset of the warning
            # filters by a test runner or an application cannot bring the warning back.
            warnings.filterwarnings(
                "ignore", message="X does not have valid feature names", category=UserWarning
            )
        if self.schema is not None and any(
            f.type not in (FLOAT, INTEGER) for f in self.schema.features
        ):
            self.dtype = object

    def _load_skops(self, path: Path) -> Any:
        import skops.io

        types = skops.io.get_untrusted_types(file=path)
        if types and not self.trusted:
            raise UntrustedModel(
                f"{path.name} holds types that skops does not trust by default: "
                f"{', '.join(types)}; review them, then mark the version trusted to load it"
            )
        return skops.io.load(path, trusted=types or None)

    def predict(self, instances: list | np.ndarray, parameters: dict | None = None) -> list:
        if self.given_array(instances):
            inputs = instances.copy()
        elif self.by_name:
            if self.schema is not None:
                self.schema.validate(instances)
            inputs = self._frame_of(instances)
        else:
            inputs = self.checked_array(instances)
        return to_plain(self.guarded(self._call, inputs, parameters))

    def takes_array(self, width: int) -> bool:
        return (
            type(self).predict is SklearnRuntime.predict
            and not self.by_name
            and self._floats_fit(width)
        )

    def predict_array(self, array: np.ndarray, parameters: dict | None = None) -> Any:
        if self.by_name:
            import pandas as pd

            array = pd.DataFrame(array, columns=list(self.feature_names or ()))
        return self._call(array, parameters)

    def predict_frame(self, frame: pd.DataFrame, parameters: dict | None = None) -> Any:
        if self.by_name:
            return self.guarded(self._call, self.frame_columns(frame), parameters)
        return super().predict_frame(frame, parameters)

    def _frame_of(self, instances: list) -> pd.DataFrame:
        import pandas as pd

        rows = self.rows.tuples(instances)
        names = list(self.feature_names or ())
        try:
            if not isinstance(rows[0], list | tuple):
                if len(names) != 1 or any(isinstance(r, list | tuple) for r in rows):
                    raise self.rows.explain(rows)
                return pd.DataFrame({names[0]: rows})
            if not set(map(type, rows)) <= {list, tuple} or set(map(len, rows)) != {len(names)}:
                raise self.rows.explain(rows)
            return pd.DataFrame(rows, columns=names)
        except UnicodeEncodeError:  # pandas keeps text as UTF-8
            raise not_unicode(rows, names) from None

    def _call(self, inputs: Any, parameters: dict | None) -> Any:
        method = (parameters or {}).get("method", "predict")
        if method not in METHODS or not callable(getattr(self.model, method, None)):
            offered = [m for m in METHODS if callable(getattr(self.model, m, None))]
            raise InvalidInput(
                f"parameters.method {method!r} is not available for this "
                f"{type(self.model).__name__}; use one of {', '.join(offered)}"
            )
        call = getattr(self.model, method)
        try:
            if _all_finite(inputs):
                from sklearn import config_context

                with config_context(assume_finite=True):  # checked once, here
                    return call(inputs)
            return call(inputs)
        except ValueError as exc:
            if not self.by_name and self.feature_names is not None and _wants_frame(exc):
                self.by_name = True  # a model that reads columns by name after all
                return self.predict_array(np.asarray(inputs, dtype=object), parameters)
            raise InvalidInput(f"the model refused the input: {exc}") from exc
        except OverflowError as exc:  # an integer no float holds, among text (object) columns
            rows = np.asarray(inputs, dtype=object).tolist()
            names = self.feature_names or [f"feature {j}" for j in range(len(rows[0]))]
            found = out_of_range(rows, names, np.float64)
            raise found or InvalidInput(f"the model refused the input: {exc}") from None

    def outputs(self) -> list[dict[str, Any]]:
        """A classifier's predictions are its classes (INT64 for whole numbers, BYTES for
        names, ...); a regressor's are FP64. Worked out once: every OIP answer asks."""
        if self.described is None:
            self.described = self._outputs()
        return self.described

    def _outputs(self) -> list[dict[str, Any]]:
        classes = getattr(self.model, "classes_", None)
        if classes is None or isinstance(classes, list):  # a regressor, or several outputs
            return super().outputs()
        datatype = datatype_of(np.asarray(classes).tolist()) or "BYTES"
        return [{"name": "predictions", "datatype": datatype, "shape": [-1]}]


def _all_finite(inputs: Any) -> bool:
    """Whether `inputs` is a float array without NaN or infinities, which scikit-learn
    then need not check at each step of a pipeline (its answer would be the same)."""
    return (
        type(inputs) is np.ndarray and inputs.dtype.kind == "f" and bool(np.isfinite(inputs).all())
    )


def load_pickle(path: Path) -> Any:
    """Unpickle `path`: joblib for `.joblib`, pickle for `.pkl` (only for trusted versions)."""
    if path.suffix == ".joblib":
        import joblib

        return joblib.load(path)
    with path.open("rb") as stream:
        return pickle.load(stream)


def reads_columns_by_name(model: Any) -> bool:
    """Whether a model fitted on a DataFrame needs one at prediction time."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer

    for part in _parts(model):
        if isinstance(part, FunctionTransformer):
            return True
        if isinstance(part, ColumnTransformer):
            specs = getattr(part, "transformers_", part.transformers)
            if any(_by_name(columns) for _, _, columns in specs):
                return True
        elif not type(part).__module__.startswith("sklearn."):
            return True
    return False


def _parts(model: Any) -> list[Any]:
    found = [model]
    get_params = getattr(model, "get_params", None)
    if callable(get_params):
        found += [v for v in get_params(deep=True).values() if hasattr(v, "get_params")]
    return found


def _by_name(columns: Any) -> bool:
    if isinstance(columns, str) or callable(columns):
        return True
    if isinstance(columns, list | tuple | np.ndarray):
        return any(isinstance(c, str) for c in columns)
    return False


def _wants_frame(exc: ValueError) -> bool:
    text = str(exc).lower()
    return "dataframe" in text or "column" in text
