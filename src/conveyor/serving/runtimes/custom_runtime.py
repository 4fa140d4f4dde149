"""Custom predictors: Python code in the model folder (Vertex AI custom prediction routines).

The folder holds `predictor.py`, a module defining one subclass of
`conveyor.serving.runtimes.Predictor`, beside whatever artifacts it loads. When the module
defines several, or its class follows Vertex AI's own `Predictor` interface instead,
`predictor.json` names it: `{"class": "MyPredictor"}`, optionally with
`"module": "other.py"`. The module runs from the folder's verified bytes under a private
module name; it may import installed packages but not sibling files of the folder.

This is code from the model folder, so only a trusted version may load it.
"""

from __future__ import annotations

import itertools
import json
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.errors import ConveyorError
from conveyor.serving.runtimes._convert import to_plain
from conveyor.serving.runtimes.base import Runtime
from conveyor.serving.runtimes.errors import ModelLoadError, PredictionError
from conveyor.serving.runtimes.predictor import Predictor
from conveyor.serving.runtimes.schema import require_instances

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

METHODS = ("load", "preprocess", "predict", "postprocess")
_numbers = itertools.count(1)


class CustomRuntime(Runtime):
    """A user's predictor class, called as Vertex AI's prediction handler calls it."""

    framework = "custom"
    platform = "custom"
    files = ("predictor.json", "predictor.py")
    runs_code = True

    def load(self, folder: Path) -> None:
        if Path(folder).is_file():
            raise ModelLoadError(
                f"{folder} is a single file; a custom predictor is a folder holding "
                "predictor.py and the artifacts it loads: upload the folder"
            )
        super().load(folder)

    def load_file(self, path: Path) -> None:
        folder = path.parent
        config = read_config(path) if path.name == "predictor.json" else {}
        source = folder / config.get("module", "predictor.py")
        if source.resolve().parent != folder.resolve() or source.suffix != ".py":
            raise ModelLoadError(
                f"{path}: module must name a .py file in the model folder, not {source.name}"
            )
        if not source.is_file():
            raise ModelLoadError(f"{path} names {source.name}, which is not in {folder}")
        module = import_source(source)
        cls = pick_class(module, source, config.get("class"))
        self.name = cls.__name__
        try:
            self.predictor = cls()
            self.predictor.load(str(folder))
        except ConveyorError:
            raise
        except Exception as exc:
            raise ModelLoadError(
                f"{source.name}: {self.name} failed to load: {type(exc).__name__}: {exc}"
            ) from exc

    def predict(self, instances: list, parameters: dict | None = None) -> list:
        require_instances(instances)
        if self.schema is not None:
            self.schema.validate(instances)
        body: dict[str, Any] = {"instances": instances}
        if parameters is not None:
            body["parameters"] = parameters
        found = self._step("postprocess", self._step("predict", self._step("preprocess", body)))
        if isinstance(found, dict) and "predictions" in found:
            found = found["predictions"]
        found = to_plain(found)
        if not isinstance(found, list):
            raise PredictionError(
                f"{self.name}.postprocess returned {type(found).__name__}; it must return a "
                'list of predictions or {"predictions": [...]}'
            )
        return found

    def predict_array(self, array: np.ndarray, parameters: dict | None = None) -> Any:
        return self.predict(array.tolist(), parameters)

    def predict_frame(self, frame: pd.DataFrame, parameters: dict | None = None) -> Any:
        return self.predict(frame.to_dict(orient="records"), parameters)

    def _step(self, method: str, value: Any) -> Any:
        try:
            return getattr(self.predictor, method)(value)
        except ConveyorError:
            raise
        except Exception as exc:
            raise PredictionError(
                f"{self.name}.{method} failed: {type(exc).__name__}: {exc}"
            ) from exc

    def outputs(self) -> list[dict[str, Any]]:
        return []


def read_config(path: Path) -> dict[str, str]:
    """The settings of `predictor.json`: `class` and optionally `module`."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(config, dict) or not isinstance(config.get("class"), str):
        raise ModelLoadError(
            f'{path} must be an object naming the predictor class: {{"class": "MyPredictor"}}'
        )
    unknown = set(config) - {"class", "module"}
    if unknown or not isinstance(config.get("module", ""), str):
        raise ModelLoadError(
            f"{path} has unknown or malformed keys {', '.join(sorted(unknown)) or 'module'}; "
            'allowed: "class" and "module" (a file name)'
        )
    return config


def import_source(source: Path) -> types.ModuleType:
    """Run `source` as a fresh module under a private name."""
    name = f"conveyor_predictor_{next(_numbers)}"
    module = types.ModuleType(name)
    module.__file__ = str(source)
    try:
        code = compile(source.read_bytes(), str(source), "exec")
    except SyntaxError as exc:
        raise ModelLoadError(f"{source.name} has a syntax error: {exc}") from exc
    sys.modules[name] = module  # dataclasses and pickle look the module up by name
    try:
        exec(code, module.__dict__)
    except Exception as exc:
        del sys.modules[name]
        raise ModelLoadError(
            f"{source.name} failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    return module


def pick_class(module: types.ModuleType, source: Path, named: str | None) -> type:
    """The predictor class: the one named, or the one subclass of `Predictor` defined."""
    if named is not None:
        cls = getattr(module, named, None)
        if not isinstance(cls, type):
            raise ModelLoadError(f"{source.name} defines no class {named!r}")
        lacking = [m for m in METHODS if not callable(getattr(cls, m, None))]
        if lacking:
            raise ModelLoadError(
                f"{source.name}: {named} lacks {', '.join(lacking)}; a predictor defines "
                "load, preprocess, predict and postprocess"
            )
        return cls
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Predictor)
        and value.__module__ == module.__name__
    ]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ModelLoadError(
            f"{source.name} defines no subclass of conveyor.serving.runtimes.Predictor: "
            'define one, or name the class in predictor.json ({"class": "MyPredictor"})'
        )
    names = ", ".join(sorted(c.__name__ for c in found))
    raise ModelLoadError(
        f"{source.name} defines several predictors ({names}): name one in predictor.json "
        '({"class": "MyPredictor"})'
    )
