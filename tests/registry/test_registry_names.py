"""The grammar of model names, aliases, labels, references and schemas (no database)."""

import pytest

from conveyor.errors import UsageError
from conveyor.registry import (
    FEATURE_TYPES,
    Framework,
    InvalidLabels,
    InvalidName,
    InvalidSchema,
    Reference,
    UnknownFramework,
    parse_reference,
)
from conveyor.registry.frameworks import framework_of
from conveyor.registry.names import check_alias, check_labels, check_model_name
from conveyor.registry.references import resolve_reference
from conveyor.registry.schemas import check_schema


@pytest.mark.parametrize(
    "alias",
    ["ab", "production", "champion-2", "blueGreen", "a" + "b" * 126 + "c", "x1", "default"],
)
def test_aliases_that_match_the_grammar(alias):
    assert check_alias(alias) == alias


@pytest.mark.parametrize(
    "alias",
    [
        "a",  # at least two characters
        "3",  # a number is a version id, never an alias
        "2024-release",
        "Production",  # starts with a lowercase letter
        "prod-",  # ends with a lowercase letter or digit
        "prodA",
        "prod_1",
        "prod.1",
        "pro d",
        "a" + "b" * 127 + "c",  # 129 characters
        "",
    ],
)
def test_aliases_that_break_the_grammar(alias):
    with pytest.raises(InvalidName, match=r"alias .* is not valid: use 2 to 128 characters"):
        check_alias(alias)


def test_invalid_names_are_usage_errors_with_exit_code_2():
    with pytest.raises(UsageError) as caught:
        check_alias("Bad")
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("name", ["churn", "Churn_Model-2", "c", "a" * 128])
def test_model_names_that_are_valid(name):
    assert check_model_name(name) == name


@pytest.mark.parametrize(
    "name", ["2churn", "-churn", "churn@3", "churn/v", "ch urn", "a" * 129, ""]
)
def test_model_names_that_are_not(name):
    with pytest.raises(InvalidName, match="start with a letter"):
        check_model_name(name)


def test_labels_follow_vertex_rules():
    labels = {"team": "growth", "env": "", "owner_id": "a-1", "région": "île", "日本": "値"}
    assert check_labels(labels) == labels
    assert check_labels(None) == {}


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({"Team": "x"}, "label key 'Team' is not valid"),
        ({"1team": "x"}, "label key '1team' is not valid"),
        ({"_team": "x"}, "label key '_team' is not valid"),
        ({"": "x"}, "label key '' is not valid"),
        ({"k" * 64: "x"}, "is not valid: use 1 to 63"),
        ({"team": "Growth"}, "value 'Growth' of label 'team' is not valid"),
        ({"team": "a b"}, "value 'a b' of label 'team'"),
        ({"team": "v" * 64}, "of label 'team' is not valid"),
        ({"team": 3}, "value 3 of label 'team'"),
        ({f"k{i}": "v" for i in range(65)}, "65 labels given; a model holds at most 64"),
        (["team"], "labels must be a mapping"),
    ],
)
def test_labels_that_break_the_rules(labels, message):
    with pytest.raises(InvalidLabels, match=message):
        check_labels(labels)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("churn", Reference("churn")),
        ("churn@3", Reference("churn", version=3)),
        ("churn@production", Reference("churn", alias="production")),
        ("churn@default", Reference("churn", alias="default")),
    ],
)
def test_parse_reference(text, expected):
    assert parse_reference(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("churn@", "ends with '@': name a version id or an alias"),
        ("churn@0", "version ids start at 1"),
        ("churn@Prod", "alias 'Prod' is not valid"),
        ("churn@3@4", "alias '3@4' is not valid"),
        ("@3", "model name '' is not valid"),
        ("9lives@1", "model name '9lives' is not valid"),
    ],
)
def test_parse_reference_refuses(text, message):
    with pytest.raises(InvalidName, match=message):
        parse_reference(text)


def test_a_reference_describes_itself_and_may_take_its_selector_apart():
    assert parse_reference("churn").describe() == "churn@default"
    assert resolve_reference("churn", 3) == Reference("churn", version=3)
    assert resolve_reference("churn", "7") == Reference("churn", version=7)
    assert resolve_reference("churn", "staging") == Reference("churn", alias="staging")
    assert resolve_reference("churn@2", None) == Reference("churn", version=2)
    with pytest.raises(InvalidName, match="already names a version; pass the version once"):
        resolve_reference("churn@2", 3)
    with pytest.raises(InvalidName, match="is not a version id or an alias"):
        resolve_reference("churn", True)


def test_frameworks():
    assert framework_of("onnx") is Framework.ONNX
    with pytest.raises(
        UnknownFramework,
        match=r"'torch' is not one .* sklearn, xgboost, lightgbm, onnx, tensorflow, custom",
    ):
        framework_of("torch")


def test_schema_as_a_list_or_under_features():
    features = [
        {"name": "tenure", "type": "integer"},
        {"name": "plan", "type": "string", "description": "monthly"},
    ]
    assert check_schema(features) == features
    assert check_schema({"features": features}) == features
    assert check_schema(None) is None
    assert set(FEATURE_TYPES) == {"float", "integer", "string", "boolean"}


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ([], "must be a non-empty list of features"),
        ("tenure", "must be a non-empty list of features"),
        ({"tenure": "integer"}, "must be a non-empty list"),
        (["tenure"], "feature 0 of the input schema must be an object"),
        ([{"type": "integer"}], 'feature 0 of the input schema needs a "name"'),
        (
            [{"name": "tenure", "type": "int"}],
            "feature 'tenure' of the input schema has type 'int'; use one of float, integer, string, boolean",
        ),
        (
            [{"name": "a", "type": "float"}, {"name": "a", "type": "float"}],
            "feature 'a' appears twice",
        ),
        ([{"name": "a", "type": "float", "shape": [3]}], "unknown keys shape"),
        (
            [{"name": "a", "type": "float", "description": 3}],
            "description of feature 'a' must be a string",
        ),
    ],
)
def test_schema_errors_name_the_feature(schema, message):
    with pytest.raises(InvalidSchema, match=message):
        check_schema(schema)


def test_ids_beyond_what_the_store_holds_name_no_version(registry, model_dir):
    """A version id of 2**63 or more names no version (no store's id reaches it): not a
    database overflow."""
    from conveyor.registry import RegistryUsageError, VersionNotFound

    registry.upload("churn", model_dir, framework="sklearn")
    for reference in (f"churn@{2**63}", f"churn@{10**30}"):
        with pytest.raises(VersionNotFound, match="model 'churn' has no version"):
            registry.get_version(reference)
    with pytest.raises(RegistryUsageError, match="history after must be from 0 to"):
        registry.history("churn", after=2**63)
