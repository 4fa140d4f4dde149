"""Model runtime speed: a single-row and a 1000-row `predict` per runtime, against the
framework called directly.

    .venv/bin/python benchmarks/runtimes.py [--repeats 2000]

Trains a small model per runtime (4 float features, 300 rows; the column-transformer
pipeline on 3 mixed columns), saves it in its Vertex AI folder format, loads it with
`load_model` and times, as the median of many calls:

- `predict` of one row sent as a list (`[[...]]`) and as an object (`[{name: value}]`),
  from JSON-like instances to plain Python predictions;
- the same row through the framework itself on a ready numpy array (the floor), and
  through a pandas DataFrame built per request (what MLflow's pyfunc server does);
- `predict` of 1000 list rows, and `validate_instances` of those rows against a schema.

Informs the server's target (issue 4): p99 under 10 ms end to end for a single row.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")

import joblib  # noqa: E402
import lightgbm  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import skops.io  # noqa: E402
import xgboost  # noqa: E402
from skl2onnx import to_onnx  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

from conveyor.serving.runtimes import load_model, validate_instances  # noqa: E402

NAMES = ["a", "b", "c", "d"]
PREDICTOR = """
import os, joblib, numpy as np
from conveyor.serving.runtimes import Predictor

class Model(Predictor):
    def load(self, artifacts_uri):
        self.model = joblib.load(os.path.join(artifacts_uri, "model.joblib"))
    def preprocess(self, prediction_input):
        return np.asarray(prediction_input["instances"], dtype=float)
    def predict(self, instances):
        return self.model.predict(instances)
    def postprocess(self, prediction_results):
        return prediction_results.tolist()
"""


def median_us(call, repeats: int) -> float:
    """The median wall time of `call()` in microseconds, after a short warm-up."""
    for _ in range(min(20, repeats)):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1000


def build(root: Path) -> list[tuple]:
    """(label, folder, load options, the framework on an array, on a DataFrame, rows)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] + x[:, 2] > 0).astype(int)
    frame = pd.DataFrame(x, columns=NAMES)
    cases = []

    def folder(name: str) -> Path:
        path = root / name
        path.mkdir()
        return path

    logistic = LogisticRegression().fit(frame, y)
    skops.io.dump(logistic, folder("sklearn-logistic") / "model.skops")
    cases.append(
        ("sklearn logistic (skops)", root / "sklearn-logistic", {}, logistic.predict, None, x)
    )

    forest = RandomForestClassifier(n_estimators=50, max_depth=6, random_state=0).fit(frame, y)
    joblib.dump(forest, folder("sklearn-forest") / "model.joblib")
    cases.append(
        (
            "sklearn forest 50 (joblib)",
            root / "sklearn-forest",
            {"trusted": True},
            forest.predict,
            None,
            x,
        )
    )

    mixed = pd.DataFrame(
        {"age": rng.integers(18, 80, 300), "income": x[:, 1], "city": rng.choice(["p", "l"], 300)}
    )
    pipeline = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        ("num", StandardScaler(), ["age", "income"]),
                        ("cat", OneHotEncoder(), ["city"]),
                    ]
                ),
            ),
            ("model", LogisticRegression()),
        ]
    ).fit(mixed, y)
    skops.io.dump(pipeline, folder("sklearn-pipeline") / "model.skops")
    cases.append(
        (
            "sklearn column pipeline",
            root / "sklearn-pipeline",
            {},
            lambda rows: pipeline.predict(pd.DataFrame(rows, columns=["age", "income", "city"])),
            None,
            mixed.to_numpy(object),
        )
    )

    booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 4},
        xgboost.DMatrix(frame, label=y),
        50,
    )
    booster.save_model(folder("xgboost") / "model.json")
    cases.append(
        (
            "xgboost 50 trees",
            root / "xgboost",
            {},
            booster.inplace_predict,
            lambda df: booster.predict(xgboost.DMatrix(df)),
            x,
        )
    )

    gbm = lightgbm.train(
        {"objective": "binary", "num_leaves": 15, "verbose": -1}, lightgbm.Dataset(frame, y), 50
    )
    gbm.save_model(folder("lightgbm") / "model.txt")
    cases.append(("lightgbm 50 trees", root / "lightgbm", {}, gbm.predict, None, x))

    plain = LogisticRegression().fit(x.astype(np.float32), y)
    onnx = to_onnx(plain, x[:1].astype(np.float32), options={id(plain): {"zipmap": False}})
    (folder("onnx") / "model.onnx").write_bytes(onnx.SerializeToString())
    schema = [{"name": n, "type": "float"} for n in NAMES]
    loaded = load_model(root / "onnx", schema=schema)
    session = loaded.session
    cases.append(
        (
            "onnx logistic",
            root / "onnx",
            {"schema": schema},
            lambda rows: session.run(None, {"X": np.asarray(rows, dtype=np.float32)}),
            lambda df: session.run(None, {"X": df.to_numpy(np.float32)}),
            x,
        )
    )

    custom = folder("custom")
    joblib.dump(LogisticRegression().fit(x, y), custom / "model.joblib")
    (custom / "predictor.py").write_text(PREDICTOR)
    direct = joblib.load(custom / "model.joblib")
    cases.append(("custom predictor", custom, {"trusted": True}, direct.predict, None, x))
    return cases


def schema_type(value) -> str:
    if isinstance(value, str):
        return "string"
    return "integer" if isinstance(value, int | np.integer) else "float"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2000, help="calls per single-row figure")
    args = parser.parse_args()
    single, batch = args.repeats, max(20, args.repeats // 10)
    warnings.filterwarnings("ignore")
    header = (
        f"{'runtime':<28}{'1 row list':>11}{'1 row obj':>11}{'framework':>11}"
        f"{'via pandas':>11}{'1000 rows':>11}{'framework':>11}{'schema':>9}"
    )
    print("median microseconds per call (1000-row columns in milliseconds)\n")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for label, folder, options, direct, on_frame, x in build(Path(tmp)):
            on_frame = on_frame or direct  # scikit-learn and LightGBM take DataFrames
            runtime = load_model(folder, **options)
            names = list(runtime.feature_names or NAMES)
            one = x[:1].tolist()
            obj = [dict(zip(names, one[0], strict=True))]
            thousand = np.resize(x, (1000, x.shape[1])).tolist()
            array_one = x[:1]
            array_thousand = np.resize(x, (1000, x.shape[1]))
            list_us = median_us(lambda r=runtime, o=one: r.predict(o), single)
            obj_us = (
                median_us(lambda r=runtime, o=obj: r.predict(o), single)
                if runtime.framework != "custom"
                else float("nan")
            )
            direct_us = median_us(lambda d=direct, a=array_one: d(a), single)
            pandas_us = median_us(lambda f=on_frame, o=obj: f(pd.DataFrame(o)), single)
            batch_ms = median_us(lambda r=runtime, t=thousand: r.predict(t), batch) / 1000
            direct_batch_ms = median_us(lambda d=direct, a=array_thousand: d(a), batch) / 1000
            schema = [
                {"name": n, "type": schema_type(v)} for n, v in zip(names, thousand[0], strict=True)
            ]
            schema_ms = (
                median_us(lambda s=schema, t=thousand: validate_instances(s, t), batch) / 1000
            )
            print(
                f"{label:<28}{list_us:>11.0f}{obj_us:>11.0f}".replace("nan", "  -")
                + f"{direct_us:>11.0f}{pandas_us:>11.0f}"
                f"{batch_ms:>11.2f}{direct_batch_ms:>11.2f}{schema_ms:>9.2f}"
            )
    print(
        "\n1 row list/obj: runtime.predict from JSON-like instances to plain predictions."
        "\nframework: the model's own predict on a ready numpy array (no conversion)."
        "\nvia pandas: the framework fed a DataFrame built per request from the object"
        " (MLflow's way)."
        "\nschema: validate_instances of the 1000 rows against a 4-feature schema."
    )


if __name__ == "__main__":
    main()
