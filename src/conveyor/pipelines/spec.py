"""Turn what the user names into a PipelineSpec: a `@dsl.pipeline` function, a
`file.py:function` target, or a compiled `file.yaml` / `file.json`.

Every path goes through the proto parse of `kfp-pipeline-spec`, so a field the
IR does not know is refused with its name, and the engine then works on the
parsed spec as plain JSON (`camelCase` keys, as in the compiled YAML).
"""

from __future__ import annotations

import copy
import importlib.machinery
import importlib.util
import sys
import threading
import warnings
import weakref
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

import yaml
from google.protobuf import json_format

from conveyor.errors import InvalidPipeline, UsageError
from conveyor.pipelines import legacy_ir
from conveyor.store.metadata import spec_digest


class PipelineSpec(dict[str, Any]):
    """A parsed spec, as the compiled YAML's JSON; never changed once loaded, so it can be
    shared by every run of a pipeline function and named by its digest."""

    checked = False
    """Whether `validate.check_spec` passed on it: once is enough for a spec that never changes."""
    job_arguments: Mapping[str, Any] = MappingProxyType({})
    """The parameter values of the PipelineJob the spec came in (`runtimeConfig`), if any."""
    source_dir: str | None = None
    """The folder of the `file.py` it was compiled from: its components import from there."""

    @cached_property
    def digest(self) -> str:
        """What the metadata store files the spec under."""
        return spec_digest(self)


_COMPILED: weakref.WeakKeyDictionary[Any, PipelineSpec] = weakref.WeakKeyDictionary()
"""Specs of pipeline functions already compiled, by function: a kfp pipeline is fixed
once decorated, and compiling it again costs more than a fully cached run."""


def load(target: Any) -> PipelineSpec:
    """Load and proto-check a pipeline from a function, a path or a `file.py:name` target;
    a spec loaded already is taken as it is (with its source folder)."""
    if isinstance(target, PipelineSpec):
        return target
    if isinstance(target, dict):
        return _parse(target, "the given pipeline spec")
    if isinstance(target, str | Path):
        text = str(target)
        if _is_python_target(text):
            path, _, name = text.rpartition(":")
            spec = from_function(_import_function(Path(path), name), f"{path}:{name}")
            spec.source_dir = str(Path(path).resolve().parent)
            return spec
        return from_file(Path(text))
    return from_function(target, repr(target))


def from_function(function: Any, label: str) -> PipelineSpec:
    """The spec of a `@dsl.pipeline` function, compiled in memory by kfp."""
    from kfp.dsl import graph_component

    if not isinstance(function, graph_component.GraphComponent):
        kind = "a component, not a pipeline" if hasattr(function, "component_spec") else None
        raise UsageError(
            f"{label} is {kind or 'not a pipeline'}: decorate it with @dsl.pipeline "
            "(or give a compiled .yaml/.json file)"
        )
    spec = _COMPILED.get(function)
    if spec is None:
        spec = _COMPILED[function] = PipelineSpec(json_format.MessageToDict(function.pipeline_spec))
    return spec


def from_file(path: Path) -> PipelineSpec:
    """Read a compiled pipeline (YAML or JSON, a PipelineSpec or a PipelineJob)."""
    if not path.exists():
        raise UsageError(f"no such file: {path}")
    if path.suffix not in {".yaml", ".yml", ".json"}:
        raise UsageError(
            f"{path}: give a compiled pipeline (.yaml, .yml, .json) or a Python target "
            "as file.py:pipeline_function"
        )
    text = path.read_text()
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise InvalidPipeline(f"{path}: not valid YAML or JSON: {exc}") from None
    if not documents or not isinstance(documents[0], dict):
        raise InvalidPipeline(f"{path}: does not hold a pipeline spec (expected a mapping)")
    document = documents[0]
    if "pipelineSpec" not in document:
        return _parse(document, str(path))
    spec = _parse(document["pipelineSpec"], str(path))  # a PipelineJob as Vertex AI takes it
    spec.job_arguments = job_arguments(document.get("runtimeConfig") or {}, path)
    return spec


def job_arguments(runtime_config: dict[str, Any], path: Path) -> dict[str, Any]:
    """A PipelineJob's parameter values: `parameterValues` (plain JSON values), or the
    older `parameters` (`{"intValue": "3"}`, `stringValue`, `doubleValue`)."""
    values = runtime_config.get("parameterValues") or {}
    legacy = runtime_config.get("parameters") or {}
    if not isinstance(values, dict) or not isinstance(legacy, dict):
        raise InvalidPipeline(f"{path}: runtimeConfig parameters must be a mapping")
    found = dict(values)
    for name, typed in legacy.items():
        if name in found:
            continue
        if not isinstance(typed, dict) or len(typed) != 1:
            raise InvalidPipeline(
                f"{path}: runtimeConfig.parameters.{name} must be one of stringValue, intValue, "
                "doubleValue"
            )
        ((kind, value),) = typed.items()
        converters = {"stringValue": str, "intValue": int, "doubleValue": float}
        if kind not in converters:
            raise InvalidPipeline(
                f"{path}: runtimeConfig.parameters.{name}.{kind} is not stringValue, intValue "
                "or doubleValue"
            )
        try:
            found[name] = converters[kind](value)
        except (TypeError, ValueError):
            raise InvalidPipeline(
                f"{path}: runtimeConfig.parameters.{name}.{kind} is not a valid {kind}: {value!r}"
            ) from None
    return found


def _parse(document: dict[str, Any], label: str) -> PipelineSpec:
    pipeline_spec_pb2 = _ir()
    document = legacy_ir.upgrade(copy.deepcopy(document))  # TFX's older field names
    try:
        message = json_format.ParseDict(document, pipeline_spec_pb2.PipelineSpec())
    except json_format.ParseError as exc:
        raise InvalidPipeline(f"{label}: not a valid PipelineSpec: {exc}") from None
    spec = PipelineSpec(json_format.MessageToDict(message))
    if "root" not in spec:
        raise InvalidPipeline(f"{label}: not a valid PipelineSpec: it has no 'root' component")
    # deploymentSpec is a free-form Struct in PipelineSpec; its executors have a
    # schema of their own, checked here so a typo fails before the run starts.
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    if not isinstance(executors, dict):
        raise InvalidPipeline(
            f"{label}: deploymentSpec.executors must map executor names to ExecutorSpecs"
        )
    for name, executor in executors.items():
        if not isinstance(executor, dict):
            raise InvalidPipeline(
                f"{label}: deploymentSpec.executors.{name} is not a valid ExecutorSpec: "
                "it must be a mapping"
            )
        try:
            json_format.ParseDict(
                executor, pipeline_spec_pb2.PipelineDeploymentConfig.ExecutorSpec()
            )
        except json_format.ParseError as exc:
            raise InvalidPipeline(
                f"{label}: deploymentSpec.executors.{name} is not a valid ExecutorSpec: {exc}"
            ) from None
    return spec


_IR = "kfp.pipeline_spec.pipeline_spec_pb2"
_LOADING = threading.Lock()


def _ir() -> ModuleType:
    """The IR's protobuf module (package `kfp-pipeline-spec`), without the kfp SDK.

    It lives in the `kfp` namespace, and importing it the usual way runs `kfp/__init__`,
    which imports the whole SDK and the Kubernetes client (most of a second). A compiled
    pipeline needs none of it, so unless kfp is imported already, the package
    `kfp.pipeline_spec` and this module are loaded under their own names by themselves:
    kfp, once imported, finds them there (`from kfp.pipeline_spec import pipeline_spec_pb2`
    in its code) and does not load them twice.
    """
    loaded = sys.modules.get(_IR)
    if loaded is not None:
        return loaded
    with _LOADING:
        loaded = sys.modules.get(_IR)
        if loaded is not None:
            return loaded
        if "kfp" in sys.modules:
            return importlib.import_module(_IR)
        kfp = importlib.util.find_spec("kfp")  # finds it, without importing it
        package = _load("kfp.pipeline_spec", kfp.submodule_search_locations if kfp else None)
        if package is None:  # laid out otherwise: the ordinary import
            return importlib.import_module(_IR)
        module = _load(_IR, package.__path__)
        if module is None:
            return importlib.import_module(_IR)
        package.pipeline_spec_pb2 = module  # type: ignore[attr-defined]
        return module


def _load(name: str, locations: Any) -> ModuleType | None:
    """Module `name` from `locations`, loaded and registered without its parent package."""
    spec = importlib.machinery.PathFinder.find_spec(name, locations) if locations else None
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _is_python_target(text: str) -> bool:
    path, sep, name = text.rpartition(":")
    return bool(sep) and path.endswith(".py") and bool(name)


def _import_function(path: Path, name: str) -> Any:
    module = import_file(path)
    try:
        return getattr(module, name)
    except AttributeError:
        found = sorted(pipelines_in(module))
        hint = f" (pipelines in it: {', '.join(found)})" if found else ""
        raise UsageError(f"{path} has no function {name!r}{hint}") from None


def import_file(path: Path) -> ModuleType:
    """Import `path` as a module of its own, with its folder on `sys.path` while it loads
    (its pipelines import their components from there); a failing import is a UsageError."""
    if not path.exists():
        raise UsageError(f"no such file: {path}")
    module_name = f"_conveyor_target_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.resolve().parent))
    try:
        with warnings.catch_warnings():
            # kfp warns at every decorator that its default base image will change;
            # a local run does not use the image, so the warning would only be noise.
            warnings.filterwarnings("ignore", message=".*default base_image.*")
            spec.loader.exec_module(module)
    except Exception as exc:
        raise UsageError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.path.remove(str(path.resolve().parent))
    return module


def pipelines_in(module: ModuleType) -> dict[str, Any]:
    """The `@dsl.pipeline` functions `module` defines (not those it imports), by name."""
    return {
        name: value
        for name, value in vars(module).items()
        if type(value).__name__ == "GraphComponent"
        and getattr(value.pipeline_func, "__module__", None) == module.__name__
    }
