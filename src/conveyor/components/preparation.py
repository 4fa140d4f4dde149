"""Preparation components: split a Dataset, and fit the preprocessing that goes inside the model."""
# ruff: noqa: UP045 (kfp 2.17 reads Optional[...], not X | None, in component signatures)

from typing import NamedTuple, Optional

from kfp.dsl import Artifact, Dataset, Input, Output

from conveyor.components._component import component


@component
def split_data(
    examples: Input[Dataset],
    train_data: Output[Dataset],
    eval_data: Output[Dataset],
    method: str = "random",
    eval_fraction: float = 0.2,
    key_column: str = "",
    stratify_column: str = "",
    seed: int = 0,
) -> NamedTuple("Outputs", [("train_rows", int), ("eval_rows", int)]):
    """Split a Dataset into train and eval Datasets (Parquet).

    Args:
        examples: The rows to split.
        train_data: The training rows.
        eval_data: The evaluation rows.
        method: random (seeded shuffle), hash (by the hash of key_column: a key keeps its
            side across spans and reruns) or stratified (by stratify_column's values).
        eval_fraction: The share of rows (or of the hash range) that goes to eval.
        key_column: The column hashed by the hash method.
        stratify_column: The column whose values keep their proportions (usually the label).
        seed: The seed of the random and stratified methods.

    Returns:
        train_rows: Rows in train_data.
        eval_rows: Rows in eval_data.
    """
    from conveyor.components._lib import files, splits

    frame = files.read_table(examples.path)
    train, held = splits.split(frame, method, eval_fraction, key_column, stratify_column, seed)
    files.write_table(train, train_data.path)
    files.write_table(held, eval_data.path)
    for artifact, part in ((train_data, train), (eval_data, held)):
        artifact.metadata.update({"rows": len(part), "split": method})
    return (len(train), len(held))


@component
def fit_transform(
    train_data: Input[Dataset],
    transform: Output[Artifact],
    transformed_data: Output[Dataset],
    label_column: str = "",
    feature_columns: Optional[list] = None,
    exclude_columns: Optional[list] = None,
    schema: Input[Artifact] = None,
    numeric_impute: str = "median",
    scaling: str = "standard",
    categorical_impute: str = "most_frequent",
    encoding: str = "one_hot",
    max_categories: int = 0,
):
    """Fit preprocessing (imputation, scaling, one-hot encoding) on training data.

    Pass the transform to train_model or tune_model: the model becomes one scikit-learn
    Pipeline with the preprocessing inside, so an endpoint receives raw features.

    Args:
        train_data: The data to fit on.
        transform: A folder with the fitted ColumnTransformer (`transform.skops`) and its
            configuration (`transform.json`).
        transformed_data: train_data after the transform (and the label), to inspect.
        label_column: The label, never a feature.
        feature_columns: The features, in order; default: every column but the label and
            the excluded ones.
        exclude_columns: Columns that are not features (ids, timestamps).
        schema: A data schema: its types decide numeric against categorical, and its string
            domains fix the one-hot columns, so every span encodes alike.
        numeric_impute: median, mean, most_frequent, zero or none.
        scaling: standard, minmax, robust or none.
        categorical_impute: most_frequent, constant (a `__missing__` category) or none.
        encoding: one_hot (unknown values encode as all zeros) or ordinal (unknown: -1).
        max_categories: Keep at most this many one-hot columns per feature, the rest as one
            infrequent column (0: no limit).
    """
    from conveyor.components._lib import files, preprocess

    frame = files.read_table(train_data.path)
    settings = preprocess.options(
        numeric_impute, scaling, categorical_impute, encoding, max_categories
    )
    fitted, config, result = preprocess.fit(
        frame,
        settings,
        label_column,
        feature_columns,
        exclude_columns,
        files.read_json(schema.path, "schema") if schema is not None else None,
    )
    preprocess.save(transform.path, fitted, config)
    files.write_table(result, transformed_data.path)
    transform.metadata.update(
        {
            "features": [f["name"] for f in config["features"]],
            "output_features": len(result.columns),
        }
    )
    transformed_data.metadata.update({"rows": len(result), "columns": len(result.columns)})
