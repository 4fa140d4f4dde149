"""Fitted preprocessing (imputation, scaling, one-hot encoding) as a scikit-learn ColumnTransformer.

The transform artifact is a folder:

    transform.skops   the fitted ColumnTransformer (skops, no pickle)
    transform.json    {"features": [{"name", "type"}], "numeric": [...], "categorical": [...],
                       "options": {...}, "output_features": [...]}

Training puts the transform in front of the estimator in one scikit-learn
Pipeline that is saved as the model, so the model takes raw features and the
endpoint receives what the data holds: no training-serving skew from
preprocessing done twice.

Numbers and booleans (as 0 and 1) take the numeric steps, strings the
categorical ones. Missing values: numbers are missing as NaN. A string missing
in data read from Parquet is None, from CSV NaN, in a JSON request null (None);
the categorical steps impute both (an imputer for NaN, then one for None).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)

from conveyor.components._lib import features as ftypes
from conveyor.components._lib import files, schemas
from conveyor.components._lib.errors import ComponentError

TRANSFORM_FILE, CONFIG_FILE = "transform.skops", "transform.json"
NUMERIC_IMPUTE = ("median", "mean", "most_frequent", "zero", "none")
SCALING = ("standard", "minmax", "robust", "none")
CATEGORICAL_IMPUTE = ("most_frequent", "constant", "none")
ENCODING = ("one_hot", "ordinal")
MISSING_CATEGORY = "__missing__"


def options(
    numeric_impute: str = "median",
    scaling: str = "standard",
    categorical_impute: str = "most_frequent",
    encoding: str = "one_hot",
    max_categories: int = 0,
) -> dict[str, Any]:
    """Checked preprocessing options."""
    for value, allowed, name in (
        (numeric_impute, NUMERIC_IMPUTE, "numeric_impute"),
        (scaling, SCALING, "scaling"),
        (categorical_impute, CATEGORICAL_IMPUTE, "categorical_impute"),
        (encoding, ENCODING, "encoding"),
    ):
        if value not in allowed:
            raise ComponentError(f"{name} {value!r} is not one of {', '.join(allowed)}")
    if max_categories < 0:
        raise ComponentError(f"max_categories must be 0 (no limit) or more, not {max_categories}")
    return {
        "numeric_impute": numeric_impute,
        "scaling": scaling,
        "categorical_impute": categorical_impute,
        "encoding": encoding,
        "max_categories": max_categories,
    }


def build(
    feature_types: dict[str, str],
    settings: dict[str, Any],
    categories: dict[str, list[str]] | None = None,
) -> ColumnTransformer:
    """An unfitted ColumnTransformer for features of the given types.

    `categories` fixes the one-hot columns of string features (from a schema's
    domains), so every span encodes the same way whatever values it happens to hold.
    """
    numeric = [n for n, t in feature_types.items() if t != ftypes.STRING]
    categorical = [n for n, t in feature_types.items() if t == ftypes.STRING]
    parts = []
    if numeric:
        parts.append(("numeric", _numeric_steps(settings), numeric))
    if categorical:
        for name in categorical:
            known = (categories or {}).get(name)
            parts.append((f"categorical_{name}", _categorical_steps(settings, known), [name]))
    if not parts:
        raise ComponentError("there are no features to transform")
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)


def _numeric_steps(settings: dict[str, Any]) -> Pipeline:
    steps: list[tuple[str, Any]] = []
    impute = settings["numeric_impute"]
    if impute == "zero":
        steps.append(("impute", SimpleImputer(strategy="constant", fill_value=0)))
    elif impute != "none":
        steps.append(("impute", SimpleImputer(strategy=impute)))
    scaler = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}.get(
        settings["scaling"]
    )
    if scaler is not None:
        steps.append(("scale", scaler()))
    if not steps:
        steps.append(("keep", "passthrough"))
    return Pipeline(steps)


def _categorical_steps(settings: dict[str, Any], known: list[str] | None) -> Pipeline:
    steps: list[tuple[str, Any]] = []
    impute = settings["categorical_impute"]
    if impute != "none":
        fill = {"fill_value": MISSING_CATEGORY} if impute == "constant" else {}
        steps.append(("impute_nan", SimpleImputer(strategy=impute, **fill)))
        steps.append(("impute_none", SimpleImputer(missing_values=None, strategy=impute, **fill)))
    categories: Any = [list(known)] if known else "auto"
    if settings["encoding"] == "one_hot":
        limit = settings["max_categories"] or None
        steps.append(
            (
                "encode",
                OneHotEncoder(
                    categories=categories,
                    handle_unknown="infrequent_if_exist" if limit else "ignore",
                    max_categories=limit,
                    dtype="float64",
                ),
            )
        )
    else:
        steps.append(
            (
                "encode",
                OrdinalEncoder(
                    categories=categories,
                    handle_unknown="use_encoded_value",
                    unknown_value=-1,
                    dtype="float64",
                ),
            )
        )
    return Pipeline(steps)


def fit(
    frame: pd.DataFrame,
    settings: dict[str, Any],
    label: str = "",
    feature_columns: list[str] | None = None,
    exclude_columns: list[str] | None = None,
    schema: dict[str, Any] | None = None,
) -> tuple[ColumnTransformer, dict[str, Any], pd.DataFrame]:
    """Fit a transform on a frame: (fitted, config, the transformed rows with the label).

    Features default to every column but the label and the excluded ones. A data
    schema decides each feature's type and fixes the one-hot columns of strings
    with a domain.
    """
    if label and label not in frame.columns:
        raise ComponentError(
            f"label column {label!r} is not in the data; it has "
            f"{', '.join(map(str, frame.columns))}"
        )
    excluded = set(exclude_columns or []) | ({label} if label else set())
    names = list(feature_columns or [c for c in frame.columns if c not in excluded])
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise ComponentError(f"the data has no column {', '.join(map(repr, missing))}")
    if label and label in names:
        raise ComponentError(f"the label {label!r} cannot also be a feature")
    types = {n: ftypes.feature_type(frame[n]) for n in names}
    categories: dict[str, list[str]] = {}
    if schema is not None:
        known = schemas.check(schema)
        for name in names:
            if name not in known:
                continue
            types[name] = known[name]["type"]
            values = (known[name].get("domain") or {}).get("values")
            if values and types[name] == ftypes.STRING:
                categories[name] = [str(v) for v in values]
    fitted = build(types, settings, categories)
    try:
        output = fitted.fit_transform(prepare(frame[names], types))
    except ValueError as error:
        raise ComponentError(f"the transform could not be fitted: {error}") from None
    outputs = [str(n) for n in fitted.get_feature_names_out()]
    config = {
        "features": [{"name": n, "type": t} for n, t in types.items()],
        "label": label or None,
        "options": settings,
        "categories": categories,
        "output_features": outputs,
    }
    dense = output.toarray() if hasattr(output, "toarray") else output
    result = pd.DataFrame(np.asarray(dense, dtype=float), columns=outputs)
    if label:
        result[label] = frame[label].to_numpy()
    return fitted, config, result


def prepare(frame: pd.DataFrame, feature_types: dict[str, str]) -> pd.DataFrame:
    """The frame as the steps expect it when fitting: missing strings as NaN, and
    booleans with missing values as 1.0/0.0/NaN. Values are otherwise kept as they
    are, so that what an endpoint receives is what the model was fitted on."""
    frame = frame.copy()
    for name, kind in feature_types.items():
        column = frame[name]
        if kind == ftypes.STRING:
            frame[name] = column.astype(object).where(column.notna(), np.nan)
        elif kind == ftypes.BOOLEAN and column.dtype == object:
            frame[name] = column.map(lambda v: np.nan if pd.isna(v) else float(bool(v)))
    return frame


def save(folder: str | Path, fitted: ColumnTransformer, config: dict[str, Any]) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sio.dump(fitted, folder / TRANSFORM_FILE)
    files.write_json(config, folder / CONFIG_FILE)


def load(folder: str | Path) -> tuple[ColumnTransformer, dict[str, Any]]:
    """The fitted transform and its config, from a transform artifact's folder."""
    folder = Path(folder)
    config_file, transform_file = folder / CONFIG_FILE, folder / TRANSFORM_FILE
    if not config_file.exists() or not transform_file.exists():
        raise ComponentError(
            f"{folder} is not a transform artifact: it needs {TRANSFORM_FILE} and {CONFIG_FILE} "
            "(made by the fit_transform component)"
        )
    config = files.read_json(config_file, "transform config")
    untrusted = sio.get_untrusted_types(file=transform_file)
    allowed = [t for t in untrusted if t.split(".")[0] in ("numpy", "sklearn")]
    if len(allowed) != len(untrusted):
        raise ComponentError(
            f"{transform_file} holds types a transform should not: "
            f"{', '.join(sorted(set(untrusted) - set(allowed)))}"
        )
    return sio.load(transform_file, trusted=untrusted), config
