"""TensorFlow SavedModels: a folder holding `saved_model.pb`, served by its `serving_default`.

TensorFlow is imported when such a model loads, never before (`conveyor[tensorflow]`), so a
server without TensorFlow models starts without paying for it (seconds, hundreds of MB).

The signature's inputs decide the instance format, as in Vertex AI's TensorFlow containers
(TensorFlow Serving's row format):

- one input: an instance is that input's value for one row (a number for shape (N,), a list
  for (N, k), nested lists for more), or an object `{input_name: value}`; with an input
  schema of k names, an object keyed by them (as for the other runtimes);
- several inputs: an instance is an object keyed by input name, or a list of values in
  the inputs' order, which is by name (a SavedModel keeps no order of its own);
- a string input takes text, or `{"b64": "..."}` for bytes (a serialized `tf.Example`).

A prediction is the single output's value for that row; with several outputs, an object of
output name to value. String outputs come back as text, or `{"b64": ...}` when they are not
UTF-8. A request the graph refuses (`InvalidArgumentError`) is a client error, as in
TensorFlow Serving.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from conveyor.serving.runtimes.base import Runtime
from conveyor.serving.runtimes.errors import (
    InvalidInput,
    MissingModelFile,
    ModelLoadError,
    PredictionError,
)
from conveyor.serving.runtimes.schema import (
    BOOLEAN,
    FLOAT,
    INTEGER,
    STRING,
    json_type,
    length_error,
    require_instances,
)

SIGNATURE = "serving_default"
# TensorFlow's dtypes that JSON can fill: their numpy dtype and Open Inference Protocol datatype.
DTYPES = {
    "float16": (np.float16, "FP16"),
    "float32": (np.float32, "FP32"),
    "float64": (np.float64, "FP64"),
    **{f"int{b}": (np.dtype(f"i{b // 8}"), f"INT{b}") for b in (8, 16, 32, 64)},
    **{f"uint{b}": (np.dtype(f"u{b // 8}"), f"UINT{b}") for b in (8, 16, 32, 64)},
    "bool": (np.bool_, "BOOL"),
    "string": (np.object_, "BYTES"),
}
_KINDS = {"f": FLOAT, "i": INTEGER, "u": INTEGER, "b": BOOLEAN, "O": STRING}


class Tensor(NamedTuple):
    """A signature input or output: its name, numpy dtype, datatype and shape (None: any)."""

    name: str
    dtype: np.dtype
    datatype: str
    shape: list[int | None] | None

    def describe(self) -> dict[str, Any]:
        shape = [-1 if d is None else d for d in self.shape] if self.shape else [-1]
        return {"name": self.name, "datatype": self.datatype, "shape": shape}


class TensorFlowRuntime(Runtime):
    """A SavedModel's `serving_default` signature, called with one batch per request."""

    framework = "tensorflow"
    platform = "tensorflow_savedmodel"
    files = ("saved_model.pb",)

    @classmethod
    def find_file(cls, folder: Path) -> Path | None:
        if folder.is_file():
            if folder.name in cls.files:
                raise MissingModelFile(
                    f"{folder} is a SavedModel's graph alone: load the folder that holds it, "
                    "with its variables/ and assets/"
                )
            return None
        return super().find_file(folder)

    def load_file(self, path: Path) -> None:
        try:
            import tensorflow as tf
        except ImportError as exc:
            raise ModelLoadError(
                f"{path} is a TensorFlow SavedModel, and TensorFlow is not installed here: "
                "install conveyor[tensorflow] (tensorflow-cpu) where the server runs"
            ) from exc
        self.model = tf.saved_model.load(str(path.parent))  # owns the signature's variables
        signature = self.model.signatures.get(SIGNATURE)
        if signature is None:
            found = ", ".join(self.model.signatures) or "none"
            raise ModelLoadError(
                f"{path.parent} has no {SIGNATURE!r} signature (it has: {found}); export it "
                "with one: model.export(...) for Keras, or tf.saved_model.save(..., "
                f"signatures={{{SIGNATURE!r}: function}})"
            )
        self.signature = signature
        # By name: a loaded signature keeps no order of its own (it is a protobuf map).
        inputs = sorted(signature.structured_input_signature[1].items())
        self.inputs = [_tensor(name, spec, path, "input") for name, spec in inputs]
        outputs = sorted(signature.structured_outputs.items())
        self.output_tensors = [_tensor(name, spec, path, "output") for name, spec in outputs]
        if not self.inputs:
            raise ModelLoadError(
                f"{path.parent} signature {SIGNATURE!r} takes no inputs: there is nothing to "
                "fill from instances"
            )
        if len(self.inputs) > 1:
            self.feature_names = tuple(t.name for t in self.inputs)
            self.n_features = len(self.inputs)
            self.dtype = object
            return
        (only,) = self.inputs
        self.dtype = only.dtype
        if only.shape is not None and len(only.shape) == 1:
            self.feature_names, self.n_features = (only.name,), 1
        elif only.shape is not None and len(only.shape) == 2:
            self.n_features = only.shape[1]

    # Prediction

    def predict(self, instances: list, parameters: dict | None = None) -> list:
        require_instances(instances)
        if self.schema is not None:
            self.schema.validate(instances)
        return self.guarded(self._run, self._feed(instances), len(instances))

    def predict_array(self, array: np.ndarray, parameters: dict | None = None) -> Any:
        if len(self.inputs) == 1:
            return self._run({self.inputs[0].name: self._fill(self.inputs[0], array)}, len(array))
        columns = zip(self.inputs, array.T, strict=True)
        return self._run({t.name: self._fill(t, column) for t, column in columns}, len(array))

    def _feed(self, instances: list) -> dict[str, np.ndarray]:
        """The signature's arguments for `instances`, each checked against its input."""
        if len(self.inputs) == 1:
            only = self.inputs[0]
            return {only.name: self._fill(only, self._values(only, instances))}
        if not isinstance(instances[0], dict | list):
            raise InvalidInput(
                f"instance 0 is {json_type(instances[0])}; the model takes the inputs "
                f"{', '.join(self.feature_names or ())}: send an object keyed by input name",
                instance=0,
            )
        rows = self.rows.tuples(instances)  # objects in input order; errors name the key
        if any(not isinstance(r, list | tuple) or len(r) != len(self.inputs) for r in rows):
            raise length_error(rows, [t.name for t in self.inputs])
        columns = zip(self.inputs, zip(*rows, strict=True), strict=True)
        return {t.name: self._fill(t, list(column)) for t, column in columns}

    def _values(self, only: Tensor, instances: list) -> list:
        """The values of a single-input signature: each instance itself, or the value of its
        one key (the input's name), or its features in schema order."""
        first = instances[0]
        if not isinstance(first, dict) or _is_b64(first):
            return instances
        if self.feature_names and self.feature_names != (only.name,):
            return self.rows.tuples(instances)
        for i, instance in enumerate(instances):
            if not isinstance(instance, dict) or instance.keys() != {only.name}:
                shown = list(instance) if isinstance(instance, dict) else json_type(instance)
                raise InvalidInput(
                    f"instance {i} is {shown}; the model's one input is {only.name!r}: send "
                    f'its value, or {{"{only.name}": value}}',
                    instance=i,
                )
        return [instance[only.name] for instance in instances]

    def _fill(self, tensor: Tensor, values: Any) -> np.ndarray:
        """`values` (one per row) as an array of the input's dtype and shape."""
        if tensor.datatype == "BYTES":
            listed = values.tolist() if isinstance(values, np.ndarray) else values
            values = [_bytes(v, tensor.name, i) for i, v in enumerate(listed)]
        try:
            array = np.asarray(values, dtype=tensor.dtype)
        except (ValueError, TypeError, OverflowError) as exc:
            raise _unfit(tensor, values, exc) from None
        if array.dtype.kind in "iu":
            _check_whole(tensor, values, array)
        if tensor.shape is None:
            return array
        tail = tensor.shape[1:]
        if array.ndim == 1 and tail == [1]:
            array = array.reshape(-1, 1)
        elif array.ndim == 2 and not tail and array.shape[1] == 1:
            array = array[:, 0]  # [value] for a one-value input, as tabular clients send rows
        if array.ndim != len(tensor.shape) or any(
            want is not None and want != got
            for want, got in zip(tail, array.shape[1:], strict=True)
        ):
            raise InvalidInput(
                f"each instance of input {tensor.name!r} must have shape {_tail(tensor)}; the "
                f"instances have shape {list(array.shape[1:])}",
                feature=tensor.name,
            )
        return array

    def _run(self, feed: dict[str, np.ndarray], rows: int) -> list:
        import tensorflow as tf

        try:
            found = self.signature(**{name: tf.constant(array) for name, array in feed.items()})
        except tf.errors.InvalidArgumentError as exc:
            raise InvalidInput(f"the model refused the instances: {_first_line(exc)}") from None
        columns = [self._column(t.name, found[t.name].numpy(), rows) for t in self.output_tensors]
        if len(columns) == 1:
            return columns[0]
        names = [t.name for t in self.output_tensors]
        return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]

    def _column(self, name: str, array: np.ndarray, rows: int) -> list:
        """An output's values, one per row, as JSON-ready Python."""
        if array.ndim == 0 or array.shape[0] != rows:
            raise PredictionError(
                f"tensorflow model {self.file} gave output {name!r} of shape "
                f"{list(array.shape)} for {rows} instances: a serving signature's outputs "
                "need one row per instance"
            )
        values = array.tolist()
        return _texts(values) if array.dtype == object else values

    # Description

    def features(self) -> list[dict[str, Any]] | None:
        if self.schema is not None or self.feature_names is None:
            return super().features()
        return [{"name": t.name, "type": _KINDS[t.dtype.kind]} for t in self.inputs]

    def outputs(self) -> list[dict[str, Any]]:
        return [t.describe() for t in self.output_tensors]

    def metadata(self) -> dict[str, Any]:
        found = super().metadata()
        found["inputs"] = [t.describe() for t in self.inputs]
        return found


def _tensor(name: str, spec: Any, path: Path, role: str) -> Tensor:
    """The `Tensor` of a signature's TensorSpec; ModelLoadError for a dtype JSON cannot fill."""
    dtype = getattr(spec, "dtype", None)
    if dtype is None or dtype.name not in DTYPES:
        if role == "output":
            return Tensor(name, np.dtype(object), "BYTES", None)
        raise ModelLoadError(
            f"{path.parent} signature {SIGNATURE!r} input {name!r} has dtype "
            f"{getattr(dtype, 'name', type(spec).__name__)}, which Conveyor cannot fill from "
            f"JSON; supported: {', '.join(DTYPES)}"
        )
    numpy, datatype = DTYPES[dtype.name]
    rank = spec.shape.rank
    if role == "input" and rank == 0:
        raise ModelLoadError(
            f"{path.parent} signature {SIGNATURE!r} input {name!r} is a scalar: a serving "
            "signature's inputs need a batch dimension first, of shape [None, ...]"
        )
    return Tensor(name, np.dtype(numpy), datatype, None if rank is None else spec.shape.as_list())


def _unfit(tensor: Tensor, values: Any, exc: Exception) -> InvalidInput:
    """The error for values that make no array of the input's dtype: naming the first
    instance whose shape differs from the first's, else numpy's reason."""
    shapes = [np.shape(v) for v in values]
    for i, shape in enumerate(shapes):
        if shape != shapes[0]:
            return InvalidInput(
                f"instance {i} gives input {tensor.name!r} a value of shape {list(shape)}, "
                f"instance 0 one of shape {list(shapes[0])}; the input takes {_tail(tensor)}",
                feature=tensor.name,
                instance=i,
            )
    return InvalidInput(
        f"input {tensor.name!r} takes {tensor.datatype} values of shape {_tail(tensor)} per "
        f"instance; the instances do not make such a tensor: {exc}",
        feature=tensor.name,
    )


def _check_whole(tensor: Tensor, values: Any, array: np.ndarray) -> None:
    """Refuse fractions for an integer input, which numpy would silently truncate."""
    given = np.asarray(values)
    if given.dtype.kind == "f" and not np.array_equal(given, array):
        i = int(np.argwhere(given != array)[0][0])
        raise InvalidInput(
            f"input {tensor.name!r} of instance {i} is {given[i].tolist()}; the input takes "
            f"whole numbers ({tensor.datatype})",
            feature=tensor.name,
            instance=i,
        )


def _tail(tensor: Tensor) -> str:
    tail = tensor.shape[1:] if tensor.shape is not None else None
    return "any" if tail is None else str([-1 if d is None else d for d in tail])


def _is_b64(value: dict) -> bool:
    return value.keys() == {"b64"}


def _bytes(value: Any, name: str, instance: int) -> Any:
    """A string input's value as bytes: text as UTF-8, `{"b64": ...}` decoded; lists kept."""
    if isinstance(value, str):
        try:
            return value.encode()
        except UnicodeEncodeError:
            raise InvalidInput(
                f"input {name!r} of instance {instance} is not valid Unicode text",
                feature=name,
                instance=instance,
            ) from None
    if isinstance(value, dict) and _is_b64(value) and isinstance(value["b64"], str):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except binascii.Error as exc:
            raise InvalidInput(
                f"input {name!r} of instance {instance} has a b64 value that is not base64: {exc}",
                feature=name,
                instance=instance,
            ) from None
    if isinstance(value, list):
        return [_bytes(v, name, instance) for v in value]
    raise InvalidInput(
        f'input {name!r} of instance {instance} is {json_type(value)}; it takes text, or {{"b64": '
        '"..."} for bytes',
        feature=name,
        instance=instance,
    )


def _texts(values: Any) -> Any:
    """String outputs as text, or `{"b64": ...}` where they are not UTF-8."""
    if isinstance(values, list):
        return [_texts(v) for v in values]
    try:
        return values.decode()
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(values).decode()}


def _first_line(exc: Any) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return message.strip().splitlines()[0] if message.strip() else type(exc).__name__
