"""Input schemas: parsing, and errors naming the instance and the feature."""

from __future__ import annotations

import numpy as np
import pytest

from conveyor.serving.runtimes import (
    InputSchema,
    InvalidInput,
    InvalidSchema,
    SchemaMismatch,
    load_model,
    validate_instances,
)

SCHEMA = [
    {"name": "age", "type": "integer"},
    {"name": "income", "type": "float", "nullable": True},
    {"name": "city", "type": "string"},
    {"name": "member", "type": "boolean"},
]
GOOD = {"age": 30, "income": 1200.5, "city": "lyon", "member": True}


def fails(instances, message):
    with pytest.raises(InvalidInput, match=message) as err:
        validate_instances(SCHEMA, instances)
    return err.value


def test_valid_instances_as_objects_and_lists():
    validate_instances(SCHEMA, [GOOD, {**GOOD, "income": None, "age": 31.0}])
    validate_instances(SCHEMA, [[30, 1200, "lyon", False], (40, 3.5, "nice", True)])
    validate_instances(InputSchema.parse(SCHEMA), [[np.int64(3), np.float64(1.0), "x", True]])


def test_missing_extra_and_mistyped_features_are_named():
    err = fails(
        [GOOD, {k: v for k, v in GOOD.items() if k != "city"}],
        "instance 1 is missing feature 'city'",
    )
    assert (err.feature, err.instance) == ("city", 1)
    err = fails(
        [{**GOOD, "colour": "red"}],
        "instance 0 has unknown feature 'colour'; the model takes: age, income, city, member",
    )
    assert err.feature == "colour"
    err = fails(
        [GOOD, GOOD, {**GOOD, "age": "thirty"}],
        "feature 'age' of instance 2 must be an integer, not a string",
    )
    assert (err.feature, err.instance) == ("age", 2)
    fails([{**GOOD, "age": 30.5}], "feature 'age' of instance 0 must be an integer, not a number")
    fails(
        [{**GOOD, "income": "high"}],
        "feature 'income' of instance 0 must be a float, not a string",
    )
    fails([{**GOOD, "income": True}], "'income' of instance 0 must be a float, not a boolean")
    fails(
        [{**GOOD, "member": 1}], "feature 'member' of instance 0 must be a boolean, not an integer"
    )
    fails([{**GOOD, "city": None}], "feature 'city' of instance 0 is null; it must be a string")
    fails([{**GOOD, "city": ["a"]}], "feature 'city' of instance 0 must be a string, not an array")


def test_list_instances_need_every_value_in_order():
    fails(
        [[30, 1.0, "lyon"]],
        "instance 0 has 3 values; the model takes 4 features, in order: age, income, city, member",
    )
    fails(
        [[30, 1.0, "lyon", True], [30, "lyon", 1.0, True]],
        "feature 'income' of instance 1 must be a float",
    )


def test_request_shape_errors():
    fails([], "instances is empty")
    fails({"age": 1}, "instances must be a list, not object")
    fails([GOOD, [30, 1.0, "lyon", True]], "instance 1 is an array but instance 0 is an object")
    fails([30], "instance 0 is a single integer; the model takes 4 features")
    validate_instances([{"name": "x", "type": "float"}], [1.0, 2, 3.5])


def test_malformed_schemas():
    with pytest.raises(InvalidSchema, match="feature 'x' has type 'number'; use one of float"):
        InputSchema.parse([{"name": "x", "type": "number"}])
    with pytest.raises(InvalidSchema, match="names feature 'x' more than once"):
        InputSchema.parse([{"name": "x", "type": "float"}] * 2)
    with pytest.raises(InvalidSchema, match="entry 0 needs a string 'name'"):
        InputSchema.parse([{"type": "float"}])
    with pytest.raises(InvalidSchema, match="unknown keys format"):
        InputSchema.parse([{"name": "x", "type": "float", "format": "%"}])
    with pytest.raises(InvalidSchema, match="not a dict"):
        InputSchema.parse({"name": "x", "type": "float"})
    assert InputSchema.parse(SCHEMA).as_list() == SCHEMA


def test_the_registry_format_and_synonyms():
    stored = {
        "features": [
            {"name": "tenure", "type": "integer", "description": "months"},
            {"name": "spend", "type": "double"},
        ]
    }
    schema = InputSchema.parse(stored)
    assert schema.as_list() == [
        {"name": "tenure", "type": "integer", "description": "months"},
        {"name": "spend", "type": "float"},
    ]
    validate_instances(stored, [{"tenure": 3, "spend": 2}])


def test_a_thousand_rows_are_checked_by_column():
    rows = [[i, float(i), "lyon", i % 2 == 0] for i in range(1000)]
    validate_instances(SCHEMA, rows)
    rows[777][2] = 7
    fails(rows, "feature 'city' of instance 777 must be a string, not an integer")


def test_schema_names_features_of_a_model_without_names(tmp_path, tabular):
    import skops.io
    from sklearn.linear_model import LogisticRegression

    x, y = tabular
    model = LogisticRegression().fit(x, y)
    skops.io.dump(model, tmp_path / "model.skops")
    schema = [{"name": n, "type": "float"} for n in "abcd"]
    runtime = load_model(tmp_path, schema=schema)
    assert (
        runtime.predict([dict(zip("dcba", x[0][::-1], strict=True))])
        == model.predict(x[:1]).tolist()
    )
    with pytest.raises(InvalidInput, match="feature 'b' of instance 0 must be a float"):
        runtime.predict([[1.0, "2", 3.0, 4.0]])
    with pytest.raises(SchemaMismatch, match="names 3 features but .*model.skops takes 4"):
        load_model(tmp_path, schema=schema[:3])
