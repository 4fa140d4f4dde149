"""Training components: fit an estimator by name, or tune its hyperparameters by search."""
# ruff: noqa: UP045 (kfp 2.17 reads Optional[...], not X | None, in component signatures)

from typing import NamedTuple, Optional

from kfp.dsl import Artifact, Dataset, Input, Model, Output

from conveyor.components._component import component


@component
def train_model(
    train_data: Input[Dataset],
    model: Output[Model],
    label_column: str,
    estimator: str,
    hyperparameters: Optional[dict] = None,
    transform: Input[Artifact] = None,
    feature_columns: Optional[list] = None,
    seed: int = 0,
):
    """Train a scikit-learn, XGBoost or LightGBM estimator and save it in the registry's folder
    convention.

    Args:
        train_data: The training rows.
        model: A folder with `model.skops` (scikit-learn, or any estimator behind a transform),
            `model.json` (XGBoost) or `model.txt` (LightGBM), plus `schema.json` (the input
            schema) and `model_info.json`.
        label_column: The column to predict.
        estimator: A class name (LogisticRegression, RandomForestRegressor, XGBClassifier,
            LGBMRegressor, ...) or a dotted path in sklearn, xgboost or lightgbm.
        hyperparameters: The estimator's parameters, as JSON (`{"n_estimators": 200}`).
        transform: A fitted transform (fit_transform): the model then takes raw features.
        feature_columns: The features, in order; default: the transform's, or every column
            but the label.
        seed: random_state, unless the hyperparameters set it.
    """
    from conveyor.components._lib import files, models, preprocess, training

    frame = files.read_table(train_data.path)
    loaded = preprocess.load(transform.path) if transform is not None else None
    prepared = training.setup(frame, label_column, estimator, feature_columns, loaded)
    trained = training.train(prepared, hyperparameters, seed)
    info = models.save(model.path, trained.fitted, prepared.framework, trained.info())
    model.metadata.update({k: v for k, v in info.items() if k != "input_schema"})


@component
def tune_model(
    train_data: Input[Dataset],
    model: Output[Model],
    results: Output[Artifact],
    label_column: str,
    estimator: str,
    search_space: dict,
    method: str = "grid",
    n_iter: int = 10,
    cv: int = 3,
    scoring: str = "",
    hyperparameters: Optional[dict] = None,
    transform: Input[Artifact] = None,
    feature_columns: Optional[list] = None,
    seed: int = 0,
) -> NamedTuple("Outputs", [("best_params", dict), ("best_score", float)]):
    """Search hyperparameters with cross-validation (grid or random), then refit the best on all
    rows (TFX's Tuner and Trainer in one).

    Args:
        train_data: The training rows.
        model: The best candidate refitted on all of train_data, saved as train_model saves.
        results: JSON: method, scoring, best_params, best_score and every candidate's mean and
            standard deviation of the score, by rank.
        label_column: The column to predict.
        estimator: As train_model's.
        search_space: Per hyperparameter, a list of values (grid or random), or for random
            search `{"distribution": "uniform" | "loguniform" | "randint", "low": .., "high": ..}`
            (randint includes high).
        method: grid or random.
        n_iter: Candidates drawn by random search.
        cv: Folds (stratified for classifiers, shuffled with the seed).
        scoring: A scikit-learn scorer name; default accuracy (classification) or r2.
        hyperparameters: Parameters fixed for every candidate.
        transform: A fitted transform (fit_transform), refitted within each fold.
        feature_columns: As train_model's.
        seed: Seed of the folds, the random search and the estimator.

    Returns:
        best_params: The best candidate's searched parameters (feed them to train_model).
        best_score: Its mean cross-validated score.
    """
    from conveyor.components._lib import files, models, preprocess, training

    frame = files.read_table(train_data.path)
    loaded = preprocess.load(transform.path) if transform is not None else None
    prepared = training.setup(frame, label_column, estimator, feature_columns, loaded)
    trained, summary = training.tune(
        prepared, search_space, method, n_iter, cv, scoring, hyperparameters, seed
    )
    info = models.save(model.path, trained.fitted, prepared.framework, trained.info())
    model.metadata.update({k: v for k, v in info.items() if k != "input_schema"})
    files.write_json(summary, results.path)
    results.metadata.update(
        {"best_score": summary["best_score"], "scoring": summary["scoring"], "method": method}
    )
    return (summary["best_params"], summary["best_score"])
