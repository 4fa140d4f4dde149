"""Estimators by name: scikit-learn, XGBoost and LightGBM, with hyperparameters from JSON.

A name is a class name (`LogisticRegression`, `RandomForestRegressor`,
`XGBClassifier`, `LGBMRegressor`) or a dotted path within scikit-learn, xgboost
or lightgbm (`sklearn.linear_model.Ridge`). The class must be a classifier or
a regressor.

Hyperparameters arrive from a pipeline as JSON, where KFP stores every number
as a float (`{"n_estimators": 50}` arrives as 50.0). A whole float becomes an
int when the estimator's parameter takes only integers (scikit-learn's
parameter constraints say so), or, for estimators without constraints (XGBoost,
LightGBM), always; scikit-learn parameters that take both (`max_features`) keep
the float.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import numbers
from typing import Any

from sklearn.base import is_classifier, is_regressor

from conveyor.components._lib.errors import ComponentError

FRAMEWORKS = ("sklearn", "xgboost", "lightgbm")
CLASSIFICATION, REGRESSION = "classification", "regression"
_EXTRA = {
    "XGBClassifier": "xgboost.XGBClassifier",
    "XGBRegressor": "xgboost.XGBRegressor",
    "XGBRFClassifier": "xgboost.XGBRFClassifier",
    "XGBRFRegressor": "xgboost.XGBRFRegressor",
    "LGBMClassifier": "lightgbm.LGBMClassifier",
    "LGBMRegressor": "lightgbm.LGBMRegressor",
}


def resolve(name: str) -> type:
    """The estimator class a name means."""
    if not name:
        raise ComponentError("estimator is empty: name a class like LogisticRegression")
    path = _EXTRA.get(name, name)
    if "." in path:
        cls = _import(path)
    else:
        cls = _sklearn_estimators().get(name)
        if cls is None:
            known = [*_sklearn_estimators(), *_EXTRA]
            close = difflib.get_close_matches(name, known, n=3)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise ComponentError(
                f"estimator {name!r} is not a scikit-learn, XGBoost or LightGBM classifier or "
                f"regressor{hint}"
            )
    instance = cls()
    if not (is_classifier(instance) or is_regressor(instance)):
        raise ComponentError(f"{name} is neither a classifier nor a regressor")
    return cls


def _import(path: str) -> type:
    module_name, _, class_name = path.rpartition(".")
    root = module_name.split(".")[0]
    if root not in FRAMEWORKS:
        raise ComponentError(
            f"estimator {path!r} is outside scikit-learn, xgboost and lightgbm; "
            "those are the estimators the components train"
        )
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, class_name)
    except (ImportError, AttributeError):
        raise ComponentError(f"estimator {path!r} cannot be imported") from None
    if not inspect.isclass(cls):
        raise ComponentError(f"estimator {path!r} is not a class")
    return cls


def _sklearn_estimators() -> dict[str, type]:
    from sklearn.utils import all_estimators

    return {
        name: cls
        for kind in ("classifier", "regressor")
        for name, cls in all_estimators(type_filter=kind)
    }


def framework(cls: type) -> str:
    root = cls.__module__.split(".")[0]
    return root if root in FRAMEWORKS else "sklearn"


def task(cls: type) -> str:
    return CLASSIFICATION if is_classifier(cls()) else REGRESSION


def make(cls: type, hyperparameters: dict[str, Any] | None, seed: int | None = None) -> Any:
    """An instance with the hyperparameters (checked and coerced) and the seed."""
    params = coerce(cls, hyperparameters or {})
    valid = cls().get_params(deep=False)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ComponentError(
            f"{cls.__name__} has no hyperparameter {', '.join(unknown)}; it has "
            f"{', '.join(sorted(valid))}"
        )
    if seed is not None and "random_state" in valid and "random_state" not in params:
        params["random_state"] = seed
    if framework(cls) == "lightgbm" and "verbose" not in params:
        params["verbose"] = -1
    return cls(**params)


def coerce(cls: type, params: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameters with whole floats made ints where the estimator wants ints."""
    constraints = getattr(cls, "_parameter_constraints", None)
    return {
        name: _coerce(value, lambda v, n=name: _wants_int(constraints, n, v))
        for name, value in params.items()
    }


def _wants_int(constraints: dict[str, list] | None, name: str, value: float) -> bool:
    """Whether a whole float should be an int: the parameter takes integers and this
    value is no float it takes (`max_features=1.0` stays a fraction, `min_samples_split=2.0`
    becomes 2), or the parameter says nothing about numbers (`random_state`, XGBoost's)."""
    if constraints is None or name not in constraints:
        return True
    from sklearn.utils._param_validation import Interval

    intervals = [c for c in constraints[name] if isinstance(c, Interval)]
    plain = [c for c in constraints[name] if c in (numbers.Integral, numbers.Real, int, float)]
    if not intervals and not plain:
        return True
    takes_int = any(issubclass(c.type, numbers.Integral) for c in intervals) or any(
        issubclass(c, numbers.Integral) for c in plain
    )
    takes_this_float = any(
        not issubclass(c.type, numbers.Integral) and c.is_satisfied_by(value) for c in intervals
    ) or any(not issubclass(c, numbers.Integral) for c in plain)
    return takes_int and not takes_this_float


def _coerce(value: Any, wants_int: Any) -> Any:
    if isinstance(value, list):
        return [_coerce(v, wants_int) for v in value]
    if isinstance(value, float) and value.is_integer() and wants_int(value):
        return int(value)
    return value
