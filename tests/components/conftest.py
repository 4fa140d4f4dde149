"""Data sets of the component tests: sklearn's bundled iris, breast cancer and diabetes
sets, with a string column and missing values added where a test needs them."""

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def iris() -> pd.DataFrame:
    """Iris with species names as the label and a string `colour` with missing values."""
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
    frame["species"] = frame["species"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    rng = np.random.default_rng(7)
    frame["colour"] = rng.choice(["red", "green", "blue"], len(frame))
    frame.loc[rng.choice(len(frame), 10, replace=False), "colour"] = None
    return frame


@pytest.fixture
def cancer() -> pd.DataFrame:
    """Breast cancer, five features, binary 0/1 label `malignant`, a `site` string column."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.iloc[:, :5].copy()
    frame.columns = ["radius", "texture", "perimeter", "area", "smoothness"]
    frame["site"] = np.random.default_rng(3).choice(["north", "south"], len(frame))
    frame["malignant"] = (data.target == 0).astype(int)
    return frame


@pytest.fixture
def diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    return load_diabetes(as_frame=True).frame
