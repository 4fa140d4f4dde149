"""The type of a feature, in the vocabulary of the registry's schemas.

`float` (any number), `integer`, `string` and `boolean`: the types of JSON
values, which is what a prediction request carries. Dates and anything else
that is not a number or a boolean count as `string`.
"""

from __future__ import annotations

import pandas as pd
from pandas.api import types as ptypes

FLOAT, INTEGER, STRING, BOOLEAN = "float", "integer", "string", "boolean"
NUMERIC = (FLOAT, INTEGER)
TYPES = (FLOAT, INTEGER, STRING, BOOLEAN)


def feature_type(column: pd.Series) -> str:
    """The type of a column, from its dtype (object columns by their values)."""
    dtype = column.dtype
    if ptypes.is_bool_dtype(dtype):
        return BOOLEAN
    if ptypes.is_integer_dtype(dtype):
        return INTEGER
    if ptypes.is_float_dtype(dtype):
        return FLOAT
    if ptypes.is_object_dtype(dtype):
        values = column.dropna()
        if len(values) and values.map(lambda v: isinstance(v, bool)).all():
            return BOOLEAN
    return STRING


def input_schema(frame: pd.DataFrame) -> list[dict[str, str]]:
    """The model input schema of a frame of features: `[{"name", "type"}]` in column order."""
    return [{"name": str(name), "type": feature_type(frame[name])} for name in frame.columns]
