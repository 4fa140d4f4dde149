"""Custom predictors: predictor.py with a Predictor subclass, predictor.json, trust."""

from __future__ import annotations

import json
import textwrap

import joblib
import pytest
from sklearn.linear_model import LogisticRegression

from conveyor.serving.runtimes import (
    InvalidInput,
    ModelLoadError,
    PredictionError,
    UntrustedModel,
    load_model,
)
from conveyor.serving.runtimes.custom_runtime import CustomRuntime

PREDICTOR = '''
import os

import joblib
import numpy as np

from conveyor.serving.runtimes import InvalidInput, Predictor


class ThresholdPredictor(Predictor):
    """Scales the inputs, predicts probabilities, answers a label above a threshold."""

    def load(self, artifacts_uri):
        self.model = joblib.load(os.path.join(artifacts_uri, "model.joblib"))

    def preprocess(self, prediction_input):
        instances = prediction_input["instances"]
        if any(len(row) != 4 for row in instances):
            raise InvalidInput("each instance needs 4 values")
        threshold = prediction_input.get("parameters", {}).get("threshold", 0.5)
        return np.asarray(instances, dtype=float), threshold  # no state on self: threads

    def predict(self, instances):
        rows, threshold = instances
        return self.model.predict_proba(rows)[:, 1], threshold

    def postprocess(self, prediction_results):
        scores, threshold = prediction_results
        return {"predictions": [{"label": int(p > threshold), "score": p} for p in scores]}
'''


@pytest.fixture
def folder(tmp_path, tabular):
    x, y = tabular
    joblib.dump(LogisticRegression().fit(x, y), tmp_path / "model.joblib")
    (tmp_path / "predictor.py").write_text(PREDICTOR)
    return tmp_path


def test_predictor_subclass_runs_preprocess_predict_postprocess(folder, tabular):
    x, _ = tabular
    model = joblib.load(folder / "model.joblib")
    runtime = load_model(folder, trusted=True)
    assert isinstance(runtime, CustomRuntime)
    scores = model.predict_proba(x[:5])[:, 1]
    assert runtime.predict(x[:5].tolist()) == [
        {"label": int(s > 0.5), "score": float(s)} for s in scores
    ]
    strict = runtime.predict(x[:5].tolist(), {"threshold": 0.99})
    assert [p["label"] for p in strict] == [int(s > 0.99) for s in scores]
    with pytest.raises(InvalidInput, match="each instance needs 4 values"):
        runtime.predict([[1.0]])
    assert runtime.metadata()["framework"] == "custom"


def test_custom_code_needs_a_trusted_version(folder):
    with pytest.raises(UntrustedModel, match="predictor.py is custom prediction code: mark"):
        load_model(folder)


def test_predictor_json_names_a_class_of_vertex_shape(tmp_path):
    (tmp_path / "serve.py").write_text(
        textwrap.dedent(
            """
            class Doubler:  # Vertex AI's interface, without Conveyor's base class
                def load(self, artifacts_uri):
                    self.factor = 2
                def preprocess(self, prediction_input):
                    return prediction_input["instances"]
                def predict(self, instances):
                    return [self.factor * v for v in instances]
                def postprocess(self, prediction_results):
                    return prediction_results

            class Other(Doubler):
                pass
            """
        )
    )
    (tmp_path / "predictor.json").write_text(json.dumps({"class": "Doubler", "module": "serve.py"}))
    runtime = load_model(tmp_path, trusted=True)
    assert runtime.predict([1, 2.5]) == [2, 5.0]
    assert runtime.predict_array(__import__("numpy").array([3.0])) == [6.0]


def test_several_predictors_need_predictor_json(tmp_path):
    (tmp_path / "predictor.py").write_text(
        textwrap.dedent(
            """
            from conveyor.serving.runtimes import Predictor

            class A(Predictor):
                def load(self, artifacts_uri): pass
                def predict(self, instances): return instances

            class B(A):
                pass
            """
        )
    )
    with pytest.raises(
        ModelLoadError, match=r"several predictors \(A, B\): name one in predictor.json"
    ):
        load_model(tmp_path, trusted=True)
    (tmp_path / "predictor.json").write_text('{"class": "B"}')
    runtime = load_model(tmp_path, trusted=True)
    # The default preprocess and postprocess pass the request body through, as in Vertex AI.
    with pytest.raises(PredictionError, match="B.postprocess returned dict"):
        runtime.predict([1])


def test_errors_of_predictor_code_name_the_method(tmp_path):
    (tmp_path / "predictor.py").write_text(
        textwrap.dedent(
            """
            from conveyor.serving.runtimes import Predictor

            class Broken(Predictor):
                def load(self, artifacts_uri): pass
                def preprocess(self, prediction_input): return prediction_input["instances"]
                def predict(self, instances): return [1 / v for v in instances]
            """
        )
    )
    runtime = load_model(tmp_path, trusted=True)
    assert runtime.predict([2]) == [0.5]
    with pytest.raises(PredictionError, match="Broken.predict failed: ZeroDivisionError"):
        runtime.predict([0])
    (tmp_path / "predictor.py").write_text("class Nothing: pass\n")
    with pytest.raises(
        ModelLoadError, match="defines no subclass of conveyor.serving.runtimes.Predictor"
    ):
        load_model(tmp_path, trusted=True)
    (tmp_path / "predictor.py").write_text("import no_such_module\n")
    with pytest.raises(ModelLoadError, match="predictor.py failed to import: ModuleNotFoundError"):
        load_model(tmp_path, trusted=True)
