"""Evaluations: metrics attached to a version, over all data or over one slice of it.

Metrics are a JSON object (`{"auc": 0.91, "confusion": [[50, 3], [4, 43]]}`)
with no NaN or infinity, which JSON cannot hold. A slice names the rows the
metrics were computed on, as feature -> value (`{"country": "FR"}`); none means
all rows. An evaluation may name the run that computed it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Row, insert

from conveyor.registry import history
from conveyor.registry.errors import InvalidEvaluation
from conveyor.registry.records import HistoryAction
from conveyor.registry.rows import EVALUATIONS
from conveyor.store.metadata.recording import now


def check_metrics(metrics: Any) -> dict[str, Any]:
    if not isinstance(metrics, Mapping) or not metrics:
        raise InvalidEvaluation(
            f'metrics must be a non-empty mapping like {{"auc": 0.91}}, not {metrics!r}'
        )
    for key, value in metrics.items():
        if not isinstance(key, str) or not key:
            raise InvalidEvaluation(f"metric names must be non-empty strings, not {key!r}")
        _check_json(value, f"metric {key!r}")
    return dict(metrics)


def check_slice(slice: Any) -> dict[str, Any] | None:
    if slice is None:
        return None
    if not isinstance(slice, Mapping) or not slice:
        raise InvalidEvaluation(
            f'a slice is a non-empty mapping of feature to value like {{"country": "FR"}}, '
            f"not {slice!r}"
        )
    for key, value in slice.items():
        if not isinstance(key, str) or not key:
            raise InvalidEvaluation(f"slice features must be non-empty strings, not {key!r}")
        if not isinstance(value, str | int | float | bool) or (
            isinstance(value, float) and not math.isfinite(value)
        ):
            raise InvalidEvaluation(
                f"slice value of {key!r} must be a string, number or boolean, not {value!r}"
            )
    return dict(slice)


def _check_json(value: Any, what: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidEvaluation(
            f"{what} cannot be stored as JSON ({exc}); use numbers, strings, lists and objects, "
            "without NaN or infinity"
        ) from None


def add(
    conn: Connection,
    model: Row[Any],
    number: int,
    metrics: dict[str, Any],
    slice: dict[str, Any] | None,
    run_id: str | None,
    actor: str,
) -> int:
    """Record an evaluation of version `number`; its id."""
    evaluation_id = conn.execute(
        insert(EVALUATIONS),
        {
            "model_id": model.id,
            "version": number,
            "metrics": metrics,
            "slice": slice,
            "run_id": run_id,
            "created_by": actor,
            "created_at": now(),
        },
    ).inserted_primary_key[0]
    history.append(
        conn,
        model.name,
        HistoryAction.EVALUATION_ADDED,
        actor,
        version=number,
        details={"evaluation_id": evaluation_id, "slice": slice, "run_id": run_id},
    )
    return evaluation_id
