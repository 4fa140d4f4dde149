"""Training and tuning: an estimator by name, fitted behind an optional transform, saved.

With a transform (from `fit_transform`) the model is one scikit-learn Pipeline,
`preprocess` then `model`, saved as `model.skops` whatever the estimator: it
takes raw features. The transform is refitted on the training data inside the
Pipeline; on the data the transform was fitted on this gives the same fit, and
in cross-validation it keeps each fold's preprocessing to that fold's rows.

Without a transform, scikit-learn estimators are saved as `model.skops`, and
XGBoost and LightGBM ones as their native Booster files (`model.json`,
`model.txt`), which need numeric or boolean features.

XGBoost classifiers learn class indices: labels are encoded first and the
class labels recorded in `model_info.json`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder

from conveyor.components._lib import estimators, preprocess
from conveyor.components._lib import features as ftypes
from conveyor.components._lib.errors import ComponentError

MODEL_STEP = "model"


@dataclass
class Setup:
    """What to train on: the feature frame, the labels, and how to build the model."""

    features: pd.DataFrame
    labels: pd.Series
    label: str
    estimator: type
    transform: Any = None
    transform_config: dict[str, Any] | None = None
    encoder: LabelEncoder | None = None

    @property
    def framework(self) -> str:
        native = estimators.framework(self.estimator)
        return "sklearn" if self.transform is not None else native

    @property
    def task(self) -> str:
        return estimators.task(self.estimator)

    def target(self) -> np.ndarray:
        return self.encoder.transform(self.labels) if self.encoder else self.labels.to_numpy()

    def build(self, hyperparameters: dict[str, Any] | None, seed: int | None) -> Any:
        model = estimators.make(self.estimator, hyperparameters, seed)
        if self.transform is None:
            return model
        return Pipeline([("preprocess", clone(self.transform)), (MODEL_STEP, model)])


@dataclass
class Trained:
    fitted: Any
    setup: Setup
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        setup = self.setup
        estimator = self.fitted
        if isinstance(estimator, Pipeline):
            estimator = estimator.named_steps[MODEL_STEP]
        found: dict[str, Any] = {
            "estimator": f"{setup.estimator.__module__.split('.')[0]}.{setup.estimator.__name__}",
            "task": setup.task,
            "label": setup.label,
            "features": list(setup.features.columns),
            "input_schema": _schema(setup),
            "hyperparameters": estimators.coerce(setup.estimator, self.hyperparameters),
            "training_rows": len(setup.features),
        }
        if setup.task == estimators.CLASSIFICATION:
            classes = setup.encoder.classes_ if setup.encoder else estimator.classes_
            found["classes"] = [_plain(c) for c in classes]
            found["encoded_labels"] = setup.encoder is not None
        return found


def setup(
    frame: pd.DataFrame,
    label: str,
    estimator: str,
    feature_columns: list[str] | None = None,
    transform: tuple[Any, dict[str, Any]] | None = None,
) -> Setup:
    """Check the data against the request and get everything ready to fit."""
    if label not in frame.columns:
        raise ComponentError(
            f"label column {label!r} is not in the training data; it has "
            f"{', '.join(map(str, frame.columns))}"
        )
    cls = estimators.resolve(estimator)
    fitted_transform, config = transform if transform else (None, None)
    if config is not None:
        names = [f["name"] for f in config["features"]]
        if feature_columns and list(feature_columns) != names:
            raise ComponentError(
                f"feature_columns {list(feature_columns)} differ from the transform's features "
                f"{names}; leave feature_columns empty to use the transform's"
            )
    else:
        names = (
            list(feature_columns) if feature_columns else [c for c in frame.columns if c != label]
        )
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise ComponentError(f"the training data has no column {', '.join(map(repr, missing))}")
    if label in names:
        raise ComponentError(f"the label {label!r} cannot also be a feature")
    labels = frame[label]
    if labels.isna().any():
        raise ComponentError(
            f"label column {label!r} has {int(labels.isna().sum())} missing values; "
            "drop or fill those rows first"
        )
    features = frame[names]
    types = {n: ftypes.feature_type(features[n]) for n in names}
    if config is not None:
        features = preprocess.prepare(features, {f["name"]: f["type"] for f in config["features"]})
    else:
        strings = [n for n, t in types.items() if t == ftypes.STRING]
        if strings:
            raise ComponentError(
                f"{cls.__name__} without a transform needs numeric or boolean features, and "
                f"{', '.join(strings)} {'holds' if len(strings) == 1 else 'hold'} strings: "
                "fit a transform (fit_transform) and pass it"
            )
    encoder = None
    if estimators.task(cls) == estimators.CLASSIFICATION and estimators.framework(cls) == "xgboost":
        encoder = LabelEncoder().fit(labels)
    return Setup(features, labels, label, cls, fitted_transform, config, encoder)


def train(prepared: Setup, hyperparameters: dict[str, Any] | None, seed: int | None = 0) -> Trained:
    model = prepared.build(hyperparameters, seed)
    try:
        model.fit(prepared.features, prepared.target())
    except ValueError as error:
        raise ComponentError(
            f"{prepared.estimator.__name__} could not be fitted: {error}"
        ) from None
    return Trained(model, prepared, dict(hyperparameters or {}))


def tune(
    prepared: Setup,
    search_space: dict[str, Any],
    method: str = "grid",
    n_iter: int = 10,
    cv: int = 3,
    scoring: str = "",
    hyperparameters: dict[str, Any] | None = None,
    seed: int = 0,
) -> tuple[Trained, dict[str, Any]]:
    """Search the space with cross-validation; the best candidate refitted on all rows,
    and the search results (`best_params`, `best_score`, every candidate)."""
    from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV, StratifiedKFold

    if method not in ("grid", "random"):
        raise ComponentError(f"method {method!r} is not grid or random")
    if not search_space:
        raise ComponentError('search_space is empty: give candidates like {"C": [0.1, 1, 10]}')
    if cv < 2:
        raise ComponentError(f"cv must be 2 or more folds, not {cv}")
    fixed = dict(hyperparameters or {})
    overlap = sorted(set(fixed) & set(search_space))
    if overlap:
        raise ComponentError(f"{', '.join(overlap)} is both searched and fixed; keep one")
    base = prepared.build(fixed, seed)
    prefix = f"{MODEL_STEP}__" if isinstance(base, Pipeline) else ""
    valid = prepared.estimator().get_params(deep=False)
    unknown = sorted(set(search_space) - set(valid))
    if unknown:
        raise ComponentError(
            f"{prepared.estimator.__name__} has no hyperparameter {', '.join(unknown)}; it has "
            f"{', '.join(sorted(valid))}"
        )
    space = {prefix + k: v for k, v in _space(prepared.estimator, search_space, method).items()}
    classification = prepared.task == estimators.CLASSIFICATION
    splitter = (StratifiedKFold if classification else KFold)(cv, shuffle=True, random_state=seed)
    scoring = scoring or ("accuracy" if classification else "r2")
    common = {
        "scoring": scoring,
        "cv": splitter,
        "refit": True,
        "n_jobs": 1,
        "error_score": "raise",
    }
    if method == "grid":
        search = GridSearchCV(base, space, **common)
    else:
        search = RandomizedSearchCV(base, space, n_iter=n_iter, random_state=seed, **common)
    try:
        search.fit(prepared.features, prepared.target())
    except ValueError as error:
        raise ComponentError(
            f"the search could not fit {prepared.estimator.__name__}: {error}"
        ) from None
    best = {k.removeprefix(prefix): _plain(v) for k, v in search.best_params_.items()}
    results = search.cv_results_
    candidates = [
        {
            "params": {k.removeprefix(prefix): _plain(v) for k, v in params.items()},
            "mean_score": float(results["mean_test_score"][i]),
            "std_score": float(results["std_test_score"][i]),
            "rank": int(results["rank_test_score"][i]),
        }
        for i, params in enumerate(results["params"])
    ]
    summary = {
        "method": method,
        "scoring": scoring,
        "cv": cv,
        "best_params": best,
        "best_score": float(search.best_score_),
        "candidates": sorted(candidates, key=lambda c: c["rank"]),
    }
    return Trained(search.best_estimator_, prepared, {**fixed, **best}), summary


def _space(cls: type, search_space: dict[str, Any], method: str) -> dict[str, Any]:
    """Lists stay lists (values coerced); `{"distribution": ...}` becomes a scipy distribution."""
    from scipy import stats

    space: dict[str, Any] = {}
    for name, candidates in search_space.items():
        if isinstance(candidates, list):
            if not candidates:
                raise ComponentError(f"search_space[{name!r}] is an empty list")
            space[name] = estimators.coerce(cls, {name: candidates})[name]
            continue
        if not isinstance(candidates, dict) or "distribution" not in candidates:
            raise ComponentError(
                f"search_space[{name!r}] must be a list of values or "
                '{"distribution": "uniform" | "loguniform" | "randint", "low": ..., "high": ...}'
            )
        if method == "grid":
            raise ComponentError(
                f"search_space[{name!r}] is a distribution; grid search needs lists of values "
                "(use method='random' to sample distributions)"
            )
        kind, low, high = candidates["distribution"], candidates.get("low"), candidates.get("high")
        if not isinstance(low, int | float) or not isinstance(high, int | float) or high < low:
            raise ComponentError(f"search_space[{name!r}] needs numbers low <= high")
        if kind == "uniform":
            space[name] = stats.uniform(low, high - low)
        elif kind == "loguniform":
            if low <= 0:
                raise ComponentError(f"search_space[{name!r}]: loguniform needs low > 0")
            space[name] = stats.loguniform(low, high)
        elif kind == "randint":
            space[name] = stats.randint(int(low), int(high) + 1)
        else:
            raise ComponentError(
                f"search_space[{name!r}] has distribution {kind!r}; use uniform, loguniform or randint"
            )
    return space


def _schema(prepared: Setup) -> list[dict[str, str]]:
    if prepared.transform_config is not None:
        return [
            {"name": f["name"], "type": f["type"]} for f in prepared.transform_config["features"]
        ]
    return ftypes.input_schema(prepared.features)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
