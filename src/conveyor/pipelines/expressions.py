"""CEL expressions of the IR: trigger conditions and parameter selectors.

`dsl.If(task.output == 'heads')` compiles to the CEL condition
`inputs.parameter_values['pipelinechannel--task-Output'] == 'heads'`, and a
loop over dicts reads `item.field` through the selector
`parseJson(string_value)["field"]`. Both are evaluated here with a real CEL
implementation, as the KFP backend does, so the same pipeline takes the same
branches.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import json
import sys
import threading
from types import ModuleType
from typing import TYPE_CHECKING, Any

from conveyor.errors import ConveyorError

if TYPE_CHECKING:
    import cel


class ExpressionError(ConveyorError):
    """A CEL expression of the pipeline could not be evaluated."""


@functools.cache
def _cel() -> ModuleType:
    """The CEL evaluator: the `cel` package's compiled module `cel.cel` alone.

    The package's `__init__` also imports its command line (typer, prompt_toolkit, rich,
    pygments: a few tenths of a second before the first condition of a run), which
    evaluating needs none of. The module is registered under its own name, so importing
    the package later (anyone's `import cel`) takes this one rather than loading it twice.
    """
    with _LOADING:  # an extension module is initialised once per process
        loaded = sys.modules.get("cel.cel")
        if loaded is not None:
            return loaded
        package = importlib.util.find_spec("cel")  # finds it, without importing it
        locations = package.submodule_search_locations if package is not None else None
        spec = importlib.machinery.PathFinder.find_spec("cel.cel", locations) if locations else None
        if spec is None or spec.loader is None:  # laid out otherwise: the ordinary import
            return importlib.import_module("cel.cel")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules["cel.cel"] = module
        return module


_LOADING = threading.Lock()


@functools.lru_cache(maxsize=1024)
def _compiled(expression: str) -> cel.Program:
    return _cel().compile(expression)


def _evaluate(expression: str, variables: dict[str, Any]) -> Any:
    context = _cel().Context()
    context.add_function("parseJson", json.loads)
    for name, value in variables.items():
        context.add_variable(name, value)
    try:
        return _compiled(expression).execute(context)
    except Exception as exc:  # the CEL binding raises plain exceptions
        raise ExpressionError(f"cannot evaluate {expression!r}: {exc}") from None


def condition_holds(expression: str, parameter_values: dict[str, Any]) -> bool:
    """Evaluate a `triggerPolicy.condition` against a task's input parameters."""
    result = _evaluate(expression, {"inputs": {"parameter_values": parameter_values}})
    if not isinstance(result, bool):
        raise ExpressionError(f"condition {expression!r} gave {result!r}, not a boolean")
    return result


def select(expression: str, value: Any) -> Any:
    """Apply a `parameterExpressionSelector` to a parameter value."""
    text = value if isinstance(value, str) else json.dumps(value)
    return _evaluate(expression, {"string_value": text})
