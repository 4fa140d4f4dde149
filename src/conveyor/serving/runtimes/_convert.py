"""Cheap conversions: instances to a numpy array in model order, predictions to plain Python.

The fast path does no Python work per value: list instances go straight to
`np.asarray(instances, dtype)`, object instances through one `itemgetter` per row. The slow
path, which only runs once a conversion failed, walks the instances to name the culprit.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import numpy as np

from conveyor.serving.runtimes.errors import InvalidInput
from conveyor.serving.runtimes.schema import (
    json_type,
    key_error,
    length_error,
    mixed_forms,
    require_instances,
)

_PLAIN = frozenset({int, float, str, bool, type(None)})


class Rows:
    """Turns instances into a 2-D array of `n_features` columns ordered as `names`."""

    def __init__(self, names: Sequence[str] | None, n_features: int | None, dtype: Any) -> None:
        self.names = tuple(names) if names else None
        self.n_features = n_features if n_features is not None else len(self.names or ())
        self.dtype = np.dtype(dtype)
        self._get = itemgetter(*self.names) if self.names else None

    def tuples(self, instances: list) -> list:
        """The values of each instance in model order: object instances are reordered, list
        instances are returned as they are."""
        require_instances(instances)
        if not isinstance(instances[0], dict):
            return instances
        if self._get is None:
            raise InvalidInput(
                "the model does not record its feature names, so instances must be lists of "
                "values in training order; or record an input schema for the model version"
            )
        try:
            rows = list(map(self._get, instances))
        except (KeyError, TypeError):
            raise key_error(instances, self.names or ()) from None
        if set(map(len, instances)) != {len(self.names or ())}:
            raise key_error(instances, self.names or ())
        return rows  # one value per row when the model takes one feature: `shaped` fixes it

    def array(self, instances: list) -> np.ndarray:
        """The instances as a (rows, features) array of `dtype`."""
        rows = self.tuples(instances)
        try:
            array = np.asarray(rows, dtype=self.dtype)
        except (ValueError, TypeError, OverflowError):
            raise self.explain(rows) from None
        return self.shaped(array, rows)

    def shaped(self, array: np.ndarray, rows: list) -> np.ndarray:
        """`array` as (rows, n_features), or the error saying what shape was sent."""
        if array.ndim == 1 and self.n_features == 1:
            return array.reshape(-1, 1)
        if array.ndim == 2 and (not self.n_features or array.shape[1] == self.n_features):
            return array
        raise self.explain(rows)

    def explain(self, rows: list) -> InvalidInput:
        """The error naming the first instance that cannot become a row of numbers."""
        names = self.names or tuple(f"feature {j}" for j in range(self.n_features))
        first = rows[0]
        if not isinstance(first, list | tuple | dict):
            if self.n_features != 1 and not any(isinstance(r, list | tuple) for r in rows):
                return InvalidInput(
                    f"instance 0 is a single {json_type(first)}; the model takes "
                    f"{self.n_features} features ({', '.join(names)}): send each instance as "
                    "a list of values or an object of feature name to value",
                    instance=0,
                )
            return mixed_forms(rows)
        if any(not isinstance(r, list | tuple) for r in rows):
            return mixed_forms(rows)
        if self.n_features and any(len(r) != self.n_features for r in rows):
            return length_error(rows, names)
        if self.dtype.kind in "fiub":
            for i, row in enumerate(rows):
                for name, value in zip(names, row, strict=False):
                    if value is not None and not _is_number(value):
                        return InvalidInput(
                            f"feature {name!r} of instance {i} is {json_type(value)} "
                            f"({value!r}); the model takes numbers",
                            feature=name,
                            instance=i,
                        )
        if found := out_of_range(rows, names, self.dtype):
            return found
        return InvalidInput("instances must be rows of feature values of one length")


def out_of_range(rows: list, names: Sequence[str], dtype: Any) -> InvalidInput | None:
    """The error naming the first integer of `rows` that `dtype` cannot hold (a float64
    holds up to about 1.8e308, an int64 up to 2**63 - 1; other dtypes are read as floats
    by the models), if any."""
    numbers = np.dtype(dtype if np.dtype(dtype).kind in "iuf" else np.float64)
    for i, row in enumerate(rows):
        for name, value in zip(names, row, strict=False):
            if type(value) is not int:
                continue
            try:
                np.asarray(value, dtype=numbers)
            except OverflowError:
                return InvalidInput(
                    f"feature {name!r} of instance {i} is an integer of {len(str(abs(value)))} "
                    f"digits, beyond what the model's {numbers.name} numbers hold",
                    feature=name,
                    instance=i,
                )
    return None


def not_unicode(rows: list, names: Sequence[str]) -> InvalidInput:
    """The error naming the first string of `rows` that UTF-8 cannot encode (a lone
    surrogate), which pandas' text columns refuse."""
    for i, row in enumerate(rows):
        for name, value in zip(
            names, row if isinstance(row, list | tuple) else [row], strict=False
        ):
            if isinstance(value, str):
                try:
                    value.encode()
                except UnicodeEncodeError:
                    return InvalidInput(
                        f"feature {name!r} of instance {i} is not valid Unicode text (it holds "
                        "a lone surrogate)",
                        feature=name,
                        instance=i,
                    )
    return InvalidInput("the instances hold text that is not valid Unicode")


def to_plain(result: Any) -> Any:
    """A framework's output as JSON-ready Python: lists, dicts, str, int, float, bool, None."""
    if isinstance(result, np.ndarray):
        return result.tolist()
    if isinstance(result, np.generic):
        return result.item()
    if isinstance(result, list | tuple):
        if set(map(type, result)) <= _PLAIN:  # the common case, checked without a Python loop
            return result if isinstance(result, list) else list(result)
        return [to_plain(v) for v in result]
    if isinstance(result, dict):
        return {to_key(k): to_plain(v) for k, v in result.items()}
    if hasattr(result, "to_numpy"):  # a pandas Series or DataFrame
        return result.to_numpy().tolist()
    return result


def to_key(key: Any) -> Any:
    """A dict key as a JSON-ready key (numpy scalars become Python ones)."""
    return key.item() if isinstance(key, np.generic) else key


def _is_number(value: Any) -> bool:
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return isinstance(value, int | float | np.number | bool | np.bool_)
