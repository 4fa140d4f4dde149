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
import json
from typing import Any

import cel

from conveyor.errors import ConveyorError


class ExpressionError(ConveyorError):
    """A CEL expression of the pipeline could not be evaluated."""


@functools.lru_cache(maxsize=1024)
def _compiled(expression: str) -> cel.Program:
    return cel.compile(expression)


def _evaluate(expression: str, variables: dict[str, Any]) -> Any:
    context = cel.Context()
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
