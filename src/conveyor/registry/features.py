"""Whether an input schema fits the features its model file declares, read without loading it.

A version whose input schema cannot fit its model is refused by every runtime that loads
it, so the upload refuses it first, by the runtime's rule: a model that names its features
must get a schema of the same names; one that only counts them, a schema of that many.
The file is read as data, never run: skops' JSON schema, LightGBM's text header, XGBoost's
own parser, ONNX's protobuf inputs; pickles are not opened. A file read this way that says
nothing (or cannot be read) leaves the check to the runtime.
"""

from __future__ import annotations

import json
import posixpath
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, BinaryIO

from conveyor.errors import ConveyorError
from conveyor.registry.contents import Contents
from conveyor.registry.errors import InvalidSchema
from conveyor.registry.frameworks import Framework, model_file
from conveyor.registry.onnxfile import model_inputs
from conveyor.store.artifacts.digest import FILE

_MAX_BOOSTER = 1 << 30
"""XGBoost files are parsed whole in memory; larger ones are left to the runtime."""
_MAX_TEXT = 64 << 20
"""The most text (skops' JSON schema, a LightGBM header line) read to find the features."""


@dataclass(frozen=True)
class Features:
    """What a model file says about its inputs: their names, their count, or neither."""

    names: tuple[str, ...] | None
    count: int | None

    def misfit(self, schema: Sequence[str]) -> str | None:
        """Why a schema naming `schema` cannot feed this model, or None."""
        if self.names is not None:
            problems = []
            if missing := [n for n in self.names if n not in schema]:
                problems.append(f"it lacks {', '.join(missing)}")
            if extra := [n for n in schema if n not in self.names]:
                problems.append(f"the model does not know {', '.join(extra)}")
            return "; ".join(problems) or None
        if self.count is not None and self.count != len(schema):
            return f"it names {len(schema)} features but the model takes {self.count}"
        return None


def check_fit(schema: list[dict[str, str]] | None, contents: Contents, kind: Framework) -> None:
    """Refuse an input schema that the model file's own features contradict."""
    if schema is None:
        return
    if contents.digest.kind == FILE:
        name, rel = posixpath.basename(contents.uri), ""
    else:
        name = rel = model_file(kind, {f.path for f in contents.digest.files}) or ""
    reader = _READERS.get(name)
    if reader is None:
        return
    try:
        with contents.open(rel) as stream:
            found = reader(stream)
    except ConveyorError:
        raise
    except Exception:  # not readable as data: the runtime will say what is wrong with it
        return
    problem = found.misfit([f["name"] for f in schema]) if found else None
    if problem:
        where = posixpath.join(contents.uri, rel) if rel else contents.uri
        raise InvalidSchema(
            f"the input schema does not fit {where}: {problem}; give the schema of the "
            "features the model was trained on"
        )


def _skops(stream: BinaryIO) -> Features | None:
    with zipfile.ZipFile(stream) as archive:
        entry = archive.getinfo("schema.json")
        if entry.file_size > _MAX_TEXT:
            return None
        return _estimator(json.loads(archive.read(entry)))


def _estimator(node: Any) -> Features | None:
    """The features of a skops object node, as scikit-learn's attributes give them (a
    Pipeline's are its first step's)."""
    if node.get("__loader__") != "ObjectNode":
        return None
    attributes = node["content"]["content"]
    if (node["__module__"], node["__class__"]) == ("sklearn.pipeline", "Pipeline"):
        return _estimator(attributes["steps"]["content"][0]["content"][1])
    names = attributes.get("feature_names_in_")
    count = _json(attributes.get("n_features_in_"))
    if names is not None and names.get("type") == "json":
        listed = tuple(str(_json(item)) for item in names["content"])
        return Features(listed, len(listed))
    return Features(None, count if isinstance(count, int) else None)


def _json(node: Any) -> Any:
    if isinstance(node, dict) and node.get("__loader__") == "JsonNode":
        return json.loads(node["content"])
    return None


def _lightgbm(stream: BinaryIO) -> Features | None:
    if stream.readline(64).strip() != b"tree":
        return None
    names: tuple[str, ...] | None = None
    count = None
    for line in iter(partial(stream.readline, _MAX_TEXT), b""):
        key, _, value = line.strip().partition(b"=")
        if key == b"max_feature_idx":
            count = int(value) + 1
        elif key == b"feature_names":
            names = tuple(value.decode().split(" "))
        elif key.startswith(b"Tree") or not key:
            break
    return Features(names, count)


def _xgboost(stream: BinaryIO) -> Features | None:
    data = stream.read(_MAX_BOOSTER + 1)
    if len(data) > _MAX_BOOSTER:
        return None
    import xgboost  # only now: an upload without a schema, or of another framework, never pays it

    booster = xgboost.Booster()
    booster.load_model(bytearray(data))
    names = booster.feature_names
    return Features(tuple(names) if names else None, booster.num_features())


def _onnx(stream: BinaryIO) -> Features | None:
    inputs = model_inputs(stream)
    if len(inputs) > 1:
        return Features(tuple(name for name, _ in inputs), len(inputs))
    dims = inputs[0][1] if inputs else None
    if dims is not None and len(dims) == 2 and dims[1] is not None:
        return Features(None, dims[1])
    return None


_READERS: dict[str, Callable[[BinaryIO], Features | None]] = {
    "model.skops": _skops,
    "model.txt": _lightgbm,
    "model.bst": _xgboost,
    "model.json": _xgboost,
    "model.ubj": _xgboost,
    "model.onnx": _onnx,
}
"""How each model file the registry may check is read; pickles and custom code are not."""
