"""`PipelineRegistry`: versions by content digest, tags, references, deletes and their guards,
and `Client.run("name@tag")` recording the version it ran."""

import inspect
from pathlib import Path

import pytest
from kfp import compiler, dsl

from conveyor.automation.errors import AutomationConflict, AutomationUsageError, PipelineNotFound
from conveyor.automation.pipelines import PipelineRegistry
from conveyor.automation.references import is_pipeline_reference
from conveyor.client import Client
from conveyor.errors import InvalidPipeline, UsageError
from conveyor.pipelines.spec import PipelineSpec, load
from conveyor.store.metadata import NotFound

DOC = (Path(__file__).parents[2] / "docs" / "automation.md").read_text()
FLOWS = """
from kfp import dsl

@dsl.component
def double(n: int) -> int:
    return 2 * n

@dsl.pipeline(name="doubler")
def doubler_of_four(n: int = 4) -> int:
    return double(n=n).output
"""


@dsl.component
def double(n: int) -> int:
    return 2 * n


@dsl.pipeline(name="doubler")
def doubler(n: int = 2, label: str = "x") -> int:
    return double(n=n).output


@dsl.pipeline(name="doubler")
def doubler_of_three(n: int = 3, label: str = "x") -> int:
    return double(n=n).output


@dsl.pipeline(name="doubler")
def doubler_of_four(n: int = 4) -> int:
    return double(n=n).output


def test_versions_by_digest_and_tags_moved_on_a_same_spec_upload(pipelines):
    first = pipelines.upload("train", doubler, tags=["prod"], description="first")
    assert (first.reference, first.created, first.tags) == ("train@1", True, ["prod"])
    assert first.spec_digest == load(doubler).digest
    assert first.default_parameters == {"n": 2, "label": "x"}
    assert type(first.default_parameters["n"]) is int  # not protobuf's float
    assert (first.created_by, first.source, first.description) == ("alice", None, "first")
    assert first.created_at.tzinfo is not None

    again = pipelines.upload("train", doubler, tags=["stable"])
    assert (again.version, again.created, again.tags) == (1, False, ["prod", "stable"])
    second = pipelines.upload("train", doubler_of_three, tags=["prod"])
    assert (second.version, second.created, second.tags) == (2, True, ["prod"])
    assert second.default_parameters == {"n": 3, "label": "x"}
    # The spec of an older version is a new version: only the latest's is "the same".
    third = pipelines.upload("train", doubler)
    assert (third.version, third.created, third.spec_digest) == (3, True, first.spec_digest)

    assert [v.version for v in pipelines.versions("train")] == [3, 2, 1]
    assert [v.tags for v in pipelines.versions("train")] == [[], ["prod"], ["stable"]]
    record = pipelines.get("train")
    assert (record.latest_version, record.tags) == (3, {"prod": 2, "stable": 1})
    assert (record.description, record.created_by) == ("first", "alice")
    assert [p.name for p in pipelines.list()] == ["train"]


def test_references(pipelines):
    pipelines.upload("train", doubler)
    pipelines.upload("train", doubler_of_three, tags=["prod"])
    pipelines.upload("train", doubler_of_four)
    assert pipelines.resolve("train").version == 3
    assert pipelines.resolve("train@latest").version == 3
    assert pipelines.resolve("train@1").version == 1
    assert pipelines.resolve("train@prod").version == 2
    spec = pipelines.spec("train@prod")
    assert isinstance(spec, PipelineSpec)
    assert spec.digest == load(doubler_of_three).digest
    with pytest.raises(PipelineNotFound, match="'train' has no version 9"):
        pipelines.resolve("train@9")
    with pytest.raises(PipelineNotFound, match="'train' has no version"):
        pipelines.resolve("train@99999999999999999999999")
    with pytest.raises(PipelineNotFound, match="no tag 'canary'"):
        pipelines.resolve("train@canary")
    with pytest.raises(PipelineNotFound, match="no pipeline 'other'"):
        pipelines.resolve("other@1")


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("train@", "ends with '@'"),
        ("train@0", "versions start at 1"),
        ("1train", "pipeline name '1train' is not valid"),
        ("train@pro d", "tag 'pro d' is not valid"),
        ("", "pipeline name '' is not valid"),
    ],
)
def test_bad_references_name_the_field(quick_pipelines, reference, message):
    with pytest.raises(AutomationUsageError, match=message) as caught:
        quick_pipelines.resolve(reference)
    assert str(caught.value).startswith("reference: ")
    assert not is_pipeline_reference(reference)


def test_names_and_tags_are_checked_before_anything_is_stored(quick_pipelines):
    for tag in ("latest", "123", "prod!", ""):
        with pytest.raises(AutomationUsageError, match=f"tags: tag '{tag}' is not valid"):
            quick_pipelines.upload("train", doubler, tags=[tag])
    with pytest.raises(AutomationUsageError, match="tags: give a list"):
        quick_pipelines.upload("train", doubler, tags="prod")
    with pytest.raises(AutomationUsageError, match="name: pipeline name 'a b' is not valid"):
        quick_pipelines.upload("a b", doubler)
    with pytest.raises(AutomationUsageError, match="description: give text"):
        quick_pipelines.upload("train", doubler, description="a\x00b")
    assert quick_pipelines.list() == []


def test_uploads_from_a_file_a_target_and_a_dict(quick_pipelines, tmp_path):
    compiled = tmp_path / "doubler.yaml"
    compiler.Compiler().compile(doubler, str(compiled))
    from_file = quick_pipelines.upload("train", compiled)
    assert (from_file.source, from_file.spec_digest) == (str(compiled), load(doubler).digest)
    source = tmp_path / "flows.py"
    source.write_text(FLOWS)
    from_target = quick_pipelines.upload("train", f"{source}:doubler_of_four")
    assert (from_target.version, from_target.source) == (2, f"{source}:doubler_of_four")
    from_dict = quick_pipelines.upload("train", dict(load(doubler_of_three)), source="ci")
    assert (from_dict.version, from_dict.source) == (3, "ci")


def test_invalid_pipelines_are_refused_naming_the_field(quick_pipelines):
    spec = dict(load(doubler))
    spec["root"] = {"dag": {"tasks": {"t": {"componentRef": {"name": "nowhere"}}}}}
    with pytest.raises(InvalidPipeline, match=r"root\.dag\.tasks\.t\.componentRef"):
        quick_pipelines.upload("train", spec)
    with pytest.raises(InvalidPipeline, match="not a valid PipelineSpec"):
        quick_pipelines.upload("train", {"root": {}, "nonsense": 1})
    with pytest.raises(UsageError, match="no such file"):
        quick_pipelines.upload("train", "missing.yaml")
    assert quick_pipelines.list() == []


def test_tags_move_and_are_taken_off(pipelines):
    pipelines.upload("train", doubler, tags=["prod"])
    pipelines.upload("train", doubler_of_three)
    moved = pipelines.tag("train@latest", "prod")
    assert (moved.version, moved.tags) == (2, ["prod"])
    assert pipelines.resolve("train@prod").version == 2
    assert pipelines.tag("train@prod", "canary").tags == ["canary", "prod"]
    pipelines.untag("train", "canary")
    assert pipelines.get("train").tags == {"prod": 2}
    with pytest.raises(PipelineNotFound, match="no tag 'canary'"):
        pipelines.untag("train", "canary")
    with pytest.raises(AutomationUsageError, match="tag: tag 'latest'"):
        pipelines.tag("train@1", "latest")
    with pytest.raises(AutomationUsageError, match="tag: tag '7'"):
        pipelines.tag("train@1", "7")


def test_delete_versions_and_numbers_are_never_reused(pipelines):
    pipelines.upload("train", doubler)
    pipelines.upload("train", doubler_of_three, tags=["prod"])
    pipelines.delete("train", 2)
    assert pipelines.get("train").tags == {}  # the tag went with its version
    assert pipelines.resolve("train").version == 1
    assert pipelines.upload("train", doubler_of_four).version == 3
    pipelines.delete("train", 1)
    pipelines.delete("train", 3)
    assert pipelines.get("train").latest_version is None
    with pytest.raises(PipelineNotFound, match="has no versions"):
        pipelines.resolve("train")
    assert pipelines.upload("train", doubler).version == 4
    with pytest.raises(PipelineNotFound, match="no version 2"):
        pipelines.delete("train", 2)
    pipelines.delete("train")
    with pytest.raises(PipelineNotFound, match="no pipeline 'train'"):
        pipelines.get("train")
    assert pipelines.upload("train", doubler).version == 1  # a new pipeline starts again


def test_delete_guards_refuse_and_are_shared_by_acting_as(quick_pipelines):
    asked = []

    def guard(name, version):
        asked.append((name, version))
        return "schedule nightly" if version in (1, None) else None

    quick_pipelines.upload("train", doubler)
    quick_pipelines.upload("train", doubler_of_three)
    quick_pipelines.add_delete_guard(guard)
    other = quick_pipelines.acting_as("bob")
    with pytest.raises(AutomationConflict, match=r"train@1 is in use \(schedule nightly\)"):
        other.delete("train", 1)
    with pytest.raises(AutomationConflict, match=r"pipeline train is in use"):
        quick_pipelines.delete("train")
    other.delete("train", 2)
    assert asked == [("train", 1), ("train", None), ("train", 2)]
    assert [v.version for v in quick_pipelines.versions("train")] == [1]
    assert other.upload("train", doubler_of_four).created_by == "bob"
    with pytest.raises(AutomationUsageError, match="version: a version is a number"):
        quick_pipelines.delete("train", 0)


def test_the_store_keeps_each_spec_once(quick_pipelines):
    store = quick_pipelines.store
    spec = load(doubler)
    assert store.store_spec(spec) == store.store_spec(dict(spec)) == spec.digest
    assert store.get_spec(spec.digest) == dict(spec)
    with pytest.raises(NotFound, match="no pipeline spec 'nothing'"):
        store.get_spec("nothing")


def test_client_runs_a_registered_version_and_records_it(home):
    with Client() as client:
        pipelines: PipelineRegistry = client.home.pipelines
        pipelines.upload("train", doubler, tags=["prod"])
        pipelines.upload("train", doubler_of_three)
        ran = client.run("train@prod", {"n": 5}, executor="inline")
        assert (ran.status, ran.outputs) == ("SUCCEEDED", {"Output": 10})
        assert client.get_run(ran.run_id).origin == {"pipeline_version": "train@1"}
        latest = client.run("train", executor="inline")
        assert latest.outputs == {"Output": 6}
        assert client.get_run(latest.run_id).origin == {"pipeline_version": "train@2"}
        with pytest.raises(UsageError, match="no such file: nothing, and no pipeline"):
            client.run("nothing")
        with pytest.raises(PipelineNotFound, match="no tag 'canary'"):
            client.run("train@canary")


@pytest.mark.parametrize(
    "method",
    [
        n
        for n, _ in inspect.getmembers(PipelineRegistry, inspect.isfunction)
        if not n.startswith("_")
    ],
)
def test_registry_methods_are_documented(method):
    assert f"`{method}(" in DOC
