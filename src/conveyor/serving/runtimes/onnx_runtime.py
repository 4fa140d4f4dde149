"""ONNX models: `model.onnx`, run by onnxruntime on the CPU.

The model's inputs decide the instance format:

- one input of shape (N, k) (a tabular model converted whole, e.g. by skl2onnx from a
  float array): an instance is k values, or an object keyed by the input schema's feature
  names; an input of higher rank (N, ...) takes nested lists of the remaining shape;
- several inputs of shape (N,) or (N, 1) (a pipeline converted with one input per
  column): an instance is an object keyed by input name, or a list of values in input
  order; each column is cast to its input's element type (float, int64, string, ...).

A prediction is the value of the single output for that row; with several outputs (a
classifier's label and probabilities), an object of output name to value.
`parameters={"outputs": ["label"]}` runs only the named outputs.
"""

from __future__ import annotations

from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from conveyor.serving.runtimes.base import Runtime
from conveyor.serving.runtimes.errors import InvalidInput, ModelLoadError

if TYPE_CHECKING:
    import pandas as pd

# onnxruntime's tensor element types, as numpy dtypes and Open Inference Protocol datatypes.
DTYPES = {
    "tensor(float)": (np.float32, "FP32"),
    "tensor(double)": (np.float64, "FP64"),
    "tensor(float16)": (np.float16, "FP16"),
    "tensor(int64)": (np.int64, "INT64"),
    "tensor(int32)": (np.int32, "INT32"),
    "tensor(int16)": (np.int16, "INT16"),
    "tensor(int8)": (np.int8, "INT8"),
    "tensor(uint8)": (np.uint8, "UINT8"),
    "tensor(bool)": (np.bool_, "BOOL"),
    "tensor(string)": (np.object_, "BYTES"),
}


class OnnxRuntime(Runtime):
    """An ONNX graph in an onnxruntime InferenceSession."""

    framework = "onnx"
    platform = "onnxruntime_onnx"
    files = ("model.onnx",)

    def load_file(self, path: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(
            path.read_bytes(), options, providers=["CPUExecutionProvider"]
        )
        self.inputs = self.session.get_inputs()
        self.output_names = [o.name for o in self.session.get_outputs()]
        for tensor in self.inputs:
            if tensor.type not in DTYPES:
                raise ModelLoadError(
                    f"{path} input {tensor.name!r} has type {tensor.type}, which Conveyor "
                    f"cannot fill from JSON; supported: {', '.join(DTYPES)}"
                )
        self.tensor_rank = len(self.inputs[0].shape) if len(self.inputs) == 1 else None
        if len(self.inputs) == 1:
            shape = self.inputs[0].shape
            self.dtype = DTYPES[self.inputs[0].type][0]
            self.n_features = shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None
        else:
            self.feature_names = tuple(t.name for t in self.inputs)
            self.n_features = len(self.inputs)
            self.dtype = object

    def predict(self, instances: list, parameters: dict | None = None) -> list:
        if self.schema is not None:
            self.schema.validate(instances)
        if len(self.inputs) == 1 and self.tensor_rank != 2:
            feed = {self.inputs[0].name: self._tensor(instances)}
        else:
            feed = self._feed(self.rows.tuples(instances))
        found = self.guarded(self._run, feed, parameters)
        return found.tolist() if isinstance(found, np.ndarray) else found

    def predict_array(self, array: np.ndarray, parameters: dict | None = None) -> Any:
        if len(self.inputs) == 1:
            return self._run(
                {self.inputs[0].name: array.astype(self.dtype, copy=False)}, parameters
            )
        return self._run(self._columns(list(array.T), len(array)), parameters)

    def predict_frame(self, frame: pd.DataFrame, parameters: dict | None = None) -> Any:
        if len(self.inputs) == 1:
            return super().predict_frame(frame, parameters)
        frame = self.frame_columns(frame)
        columns = [frame[name].to_numpy() for name in self.feature_names or ()]
        return self.guarded(self._run, self._columns(columns, len(frame)), parameters)

    def _tensor(self, instances: list) -> np.ndarray:
        tensor = self.inputs[0]
        try:
            array = np.asarray(instances, dtype=self.dtype)
        except (ValueError, TypeError, OverflowError) as exc:
            raise InvalidInput(
                f"instances do not form a tensor of {tensor.type} for input {tensor.name!r} "
                f"of shape {tensor.shape}: {exc}"
            ) from None
        expected = tensor.shape[1:]
        if array.ndim != len(tensor.shape) or any(
            isinstance(e, int) and e != n for e, n in zip(expected, array.shape[1:], strict=True)
        ):
            raise InvalidInput(
                f"each instance must have shape {expected} for input {tensor.name!r}; "
                f"the instances have shape {list(array.shape[1:])}"
            )
        return array

    def _feed(self, rows: list) -> dict[str, np.ndarray]:
        if len(self.inputs) == 1:
            array = self.rows.array(rows)
            return {self.inputs[0].name: array}
        if not isinstance(rows[0], list | tuple) or set(map(len, rows)) != {len(self.inputs)}:
            raise self.rows.explain(rows)
        return self._columns(list(zip(*rows, strict=True)), len(rows))

    def _columns(self, columns: list, n: int) -> dict[str, np.ndarray]:
        feed = {}
        for tensor, column in zip(self.inputs, columns, strict=True):
            dtype = DTYPES[tensor.type][0]
            try:
                values = np.asarray(column, dtype=dtype)
            except (ValueError, TypeError, OverflowError) as exc:
                raise InvalidInput(
                    f"feature {tensor.name!r} must hold {tensor.type} values: {exc}",
                    feature=tensor.name,
                ) from None
            if dtype is np.object_ and not set(map(type, values)) <= {str, np.str_}:
                bad = next(v for v in values if not isinstance(v, str))
                raise InvalidInput(
                    f"feature {tensor.name!r} must be a string, not {bad!r}", feature=tensor.name
                )
            feed[tensor.name] = values.reshape(n, 1) if len(tensor.shape) == 2 else values
        return feed

    def _run(self, feed: dict[str, np.ndarray], parameters: dict | None) -> Any:
        names = (parameters or {}).get("outputs") or self.output_names
        unknown = [n for n in names if n not in self.output_names]
        if unknown or isinstance(names, str):
            raise InvalidInput(
                f"parameters.outputs must be a list of output names among "
                f"{', '.join(self.output_names)}"
            )
        results = self.session.run(names, feed)
        if len(results) == 1:
            return results[0]
        # Sequences of maps (ZipMap) come back from onnxruntime as plain Python already.
        plain = [r.tolist() if isinstance(r, np.ndarray) else r for r in results]
        return list(map(dict, map(zip, repeat(names), zip(*plain, strict=True))))

    def outputs(self) -> list[dict[str, Any]]:
        return [_describe(t) for t in self.session.get_outputs()]

    def metadata(self) -> dict[str, Any]:
        found = super().metadata()
        found["inputs"] = [_describe(t) for t in self.inputs]
        return found


def _describe(tensor: Any) -> dict[str, Any]:
    """A tensor's description; a sequence or map (ZipMap's probabilities) is answered as
    JSON text per row, so BYTES."""
    if tensor.type not in DTYPES:
        return {"name": tensor.name, "datatype": "BYTES", "shape": [-1]}
    shape = [d if isinstance(d, int) else -1 for d in tensor.shape or []]
    return {"name": tensor.name, "datatype": DTYPES[tensor.type][1], "shape": shape}
