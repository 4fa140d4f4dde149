"""Model runtimes: load a registered model's folder and predict (see docs/runtimes.md).

from conveyor.serving.runtimes import load_model

runtime = load_model(folder, sha256s=recorded, trusted=False, schema=schema)
runtime.predict([[5.1, 3.5, 1.4, 0.2]])           # -> [0]
runtime.predict([{"sepal_length": 5.1, ...}])     # objects, ordered by feature name
"""

from conveyor.serving.runtimes.base import Runtime
from conveyor.serving.runtimes.errors import (
    ChecksumMismatch,
    InvalidInput,
    InvalidSchema,
    MissingModelFile,
    ModelLoadError,
    PredictionError,
    SchemaMismatch,
    UntrustedModel,
)
from conveyor.serving.runtimes.loader import RUNTIMES, detect, load_model, verify_files
from conveyor.serving.runtimes.predictor import Predictor
from conveyor.serving.runtimes.schema import Feature, InputSchema, validate_instances

__all__ = [
    "RUNTIMES",
    "ChecksumMismatch",
    "Feature",
    "InputSchema",
    "InvalidInput",
    "InvalidSchema",
    "MissingModelFile",
    "ModelLoadError",
    "PredictionError",
    "Predictor",
    "Runtime",
    "SchemaMismatch",
    "UntrustedModel",
    "detect",
    "load_model",
    "validate_instances",
    "verify_files",
]
