"""Caching with Vertex AI semantics, and the switches around it."""

import copy
from pathlib import Path

import pytest
from google.protobuf import json_format
from kfp import dsl
from kfp.dsl import Dataset, Input, Output

import conveyor
from conveyor.pipelines import cache
from conveyor.pipelines import spec as specs
from conveyor.pipelines.state import Artifact
from conveyor.store.metadata import ArtifactState, ExecutionState, MetadataStore


@dsl.component
def produce(text: str, counter: str, data: Output[Dataset]):
    with open(counter, "a") as f:
        f.write("produce\n")
    with open(data.path, "w") as f:
        f.write(text)


@dsl.component
def consume(data: Input[Dataset], counter: str) -> str:
    with open(counter, "a") as f:
        f.write("consume\n")
    with open(data.path) as f:
        return f.read().upper()


@dsl.pipeline(name="cached-pair")
def pair(text: str, counter: str) -> str:
    made = produce(text=text, counter=counter)
    return consume(data=made.outputs["data"], counter=counter).output


@dsl.pipeline(name="other-pair")
def same_steps_other_name(text: str, counter: str) -> str:
    made = produce(text=text, counter=counter)
    return consume(data=made.outputs["data"], counter=counter).output


@dsl.pipeline(name="uncached-producer")
def uncached_producer(text: str, counter: str) -> str:
    made = produce(text=text, counter=counter).set_caching_options(enable_caching=False)
    return consume(data=made.outputs["data"], counter=counter).output


def calls(counter: Path) -> list[str]:
    return counter.read_text().split() if counter.exists() else []


def statuses(run) -> dict[str, str]:
    return {t.name: t.status for t in run.tasks}


def test_a_pipeline_function_is_compiled_once_and_its_spec_never_changes(tmp_path, home):
    spec = specs.load(pair)
    assert specs.load(pair) is spec
    conveyor.run(pair, {"text": "hi", "counter": str(tmp_path / "calls")})
    conveyor.run(pair, {"text": "hi", "counter": str(tmp_path / "calls")})
    assert spec == json_format.MessageToDict(pair.pipeline_spec)
    with MetadataStore.open() as store:
        recorded = [store.get_run(r.run_id).spec for r in store.list_runs()]
    assert recorded == [spec, spec]


def test_second_run_is_fully_cached_and_skips_execution(tmp_path, home):
    counter = tmp_path / "calls"
    first = conveyor.run(pair, {"text": "hi", "counter": str(counter)})
    second = conveyor.run(pair, {"text": "hi", "counter": str(counter)})
    assert first.outputs == second.outputs == {"Output": "HI"}
    assert statuses(second) == {"produce": "CACHED", "consume": "CACHED"}
    assert calls(counter) == ["produce", "consume"]  # cached tasks never ran
    with MetadataStore.open() as store:
        executions = store.get_run(second.run_id).executions
    assert {e.state for e in executions} == {ExecutionState.CACHED}
    assert all(e.cached_from_id is not None for e in executions)


def test_a_changed_parameter_reruns_that_task_and_what_follows(tmp_path):
    counter = tmp_path / "calls"
    conveyor.run(pair, {"text": "hi", "counter": str(counter)})
    changed = conveyor.run(pair, {"text": "ho", "counter": str(counter)})
    assert changed.outputs == {"Output": "HO"}
    assert statuses(changed) == {"produce": "SUCCEEDED", "consume": "SUCCEEDED"}


def test_entries_are_shared_only_within_one_pipeline_name(tmp_path):
    counter = tmp_path / "calls"
    conveyor.run(pair, {"text": "hi", "counter": str(counter)})
    other = conveyor.run(same_steps_other_name, {"text": "hi", "counter": str(counter)})
    assert statuses(other) == {"produce": "SUCCEEDED", "consume": "SUCCEEDED"}


def test_run_level_switches(tmp_path, monkeypatch):
    counter = tmp_path / "calls"
    args = {"text": "hi", "counter": str(counter)}
    conveyor.run(pair, args)
    assert set(statuses(conveyor.run(pair, args, enable_caching=False)).values()) == {"SUCCEEDED"}
    monkeypatch.setenv("CONVEYOR_DISABLE_CACHE", "1")
    assert set(statuses(conveyor.run(pair, args)).values()) == {"SUCCEEDED"}
    assert set(statuses(conveyor.run(pair, args, enable_caching=True)).values()) == {"CACHED"}


def test_task_level_switch_and_content_identity(tmp_path):
    counter = tmp_path / "calls"
    args = {"text": "hi", "counter": str(counter)}
    conveyor.run(uncached_producer, args)
    # The producer always runs, so its output has a new URI: by URI the consumer misses...
    by_uri = conveyor.run(uncached_producer, args)
    assert statuses(by_uri) == {"produce": "SUCCEEDED", "consume": "SUCCEEDED"}
    # ...and by content (same bytes) it hits, once an entry keyed by content exists.
    conveyor.run(uncached_producer, args, cache_by_content=True)
    by_content = conveyor.run(uncached_producer, args, cache_by_content=True)
    assert statuses(by_content) == {"produce": "SUCCEEDED", "consume": "CACHED"}


def test_a_hit_needs_its_outputs_present(tmp_path):
    counter = tmp_path / "calls"
    args = {"text": "hi", "counter": str(counter)}
    first = conveyor.run(pair, args)
    with MetadataStore.open() as store:
        produced = next(
            e for e in store.get_run(first.run_id).executions if e.task_key == "produce"
        )
    artifact = produced.outputs["data"][0]
    Path(artifact.uri).unlink()
    again = conveyor.run(pair, args)
    assert statuses(again) == {"produce": "SUCCEEDED", "consume": "SUCCEEDED"}
    with MetadataStore.open() as store:
        assert store.get_artifact(artifact.id).state == ArtifactState.DELETED


def test_max_age(tmp_path):
    import time

    counter = tmp_path / "calls"
    args = {"text": "hi", "counter": str(counter)}
    conveyor.run(pair, args)
    time.sleep(0.2)
    assert set(statuses(conveyor.run(pair, args, cache_max_age="0.1s")).values()) == {"SUCCEEDED"}
    assert set(statuses(conveyor.run(pair, args, cache_max_age="7d")).values()) == {"CACHED"}


def test_bad_max_age_is_a_usage_error():
    with pytest.raises(conveyor.errors.UsageError, match="cache max age 'soon'"):
        conveyor.run(pair, {"text": "hi", "counter": "x"}, cache_max_age="soon")


def test_cache_hits_are_recorded_together_before_the_run_ends(tmp_path, home, monkeypatch):
    counter = tmp_path / "calls"
    first = conveyor.run(pair, {"text": "hi", "counter": str(counter)})
    batches = []
    record_cached = MetadataStore.record_cached

    def spy(self, run_id, batch):
        batches.append([item["task_key"] for item in batch])
        return record_cached(self, run_id, batch)

    monkeypatch.setattr(MetadataStore, "record_cached", spy)
    second = conveyor.run(pair, {"text": "hi", "counter": str(counter)})
    assert statuses(second) == {"produce": "CACHED", "consume": "CACHED"}
    assert batches == [["produce", "consume"]]  # one transaction for the whole chain
    with MetadataStore.open() as store:
        sources = {e.task_key: e for e in store.get_run(first.run_id).executions}
        cached = store.get_run(second.run_id).executions
    assert [e.task_key for e in cached] == ["produce", "consume"]  # ids in decision order
    for execution in cached:
        source = sources[execution.task_key]
        assert execution.cached_from_id == source.id
        assert execution.output_parameters == source.output_parameters
        assert execution.outputs.keys() == source.outputs.keys()
    assert cached[1].inputs["data"][0].id == cached[0].outputs["data"][0].id


def test_a_key_made_with_its_component_parts_is_the_same_key():
    container = {"image": "python:3.11", "command": ["python", "-c"], "args": ["print(1)"]}
    outputs = {"parameters": {"Output": {"parameterType": "NUMBER_INTEGER"}}}
    component = cache.component_parts(container, outputs)
    parts = cache.key_parts(component, {"n": 1, "text": "é"}, {})
    assert cache.key_of(parts, component) == cache.key_of(parts)
    assert cache.key_of(parts) != cache.key_of({**parts, "parameters": {"n": 2, "text": "é"}})


KEYED_CONTAINER = {
    "image": "python:3.11",
    "command": ["sh", "-c", 'echo "$0"'],
    "args": ["--n", "{{$.inputs.parameters['n']}}"],
    "env": [{"name": "B", "value": "é"}, {"name": "A"}],
}
KEYED_OUTPUTS = {
    "parameters": {"Output": {"parameterType": "NUMBER_INTEGER"}},
    "artifacts": {
        "model": {"artifactType": {"schemaTitle": "system.Model", "schemaVersion": "0.0.1"}}
    },
}


def test_keys_stay_those_that_existing_stores_hold():
    """Stores keep the keys earlier versions made (these digests come from the release
    before the key's encoder changed): the text a key hashes may never change."""
    component = cache.component_parts(KEYED_CONTAINER, KEYED_OUTPUTS)
    data = Artifact("data", "file:///a/data", "system.Dataset", id=3, sha256="ab" * 32)
    parameters = {
        "n": 1,
        "x": 0.5,
        "text": "é☃",
        "flag": True,
        "none": None,
        "list": [1, {"b": 2, "a": 1}],
    }
    parts = cache.key_parts(component, parameters, {"data": [data]})
    by_id = "88eb16a541e534d2d00967e1cf44c844d5cf9c433852d3f6f32d1f3dbc189bc5"
    assert cache.key_of(parts, component) == cache.key_of(parts) == by_id
    by_content = cache.key_parts(component, {"n": 1}, {"data": [data]}, cache.BY_CONTENT)
    assert cache.key_of(by_content, component) == (
        "9e6ac18166c5c31b19a3b3384956df02b5cb87374ab331bb82ec1ca274cdd2bd"
    )


def test_component_parts_are_remembered_by_what_they_hold():
    container = copy.deepcopy(KEYED_CONTAINER)
    first = cache.component_parts(container, KEYED_OUTPUTS)
    copied = copy.deepcopy(container), copy.deepcopy(KEYED_OUTPUTS)
    assert cache.component_parts(*copied) is first  # equal specs share their parts
    container["image"] = "python:3.12"  # the same object, holding another container
    changed = cache.component_parts(container, KEYED_OUTPUTS)
    assert changed.container["image"] == "python:3.12"
    assert changed.container_json != first.container_json
