"""Placeholders of compiled container components, resolved against an executor input."""

import json
from typing import Optional

import pytest
import yaml
from kfp import compiler, dsl
from kfp.dsl import (
    Artifact,
    ConcatPlaceholder,
    Dataset,
    IfPresentPlaceholder,
    Input,
    Model,
    Output,
    OutputPath,
)

from conveyor.pipelines.placeholders import (
    Context,
    Job,
    PlaceholderError,
    resolve_command,
    resolve_text,
)

JOB = Job(
    name="train-20260101-000000-abc123",
    resource_name="projects/local/pipelineJobs/train-20260101-000000-abc123",
    uuid="0f6b7ad1-5bb1-4b4c-9b59-3a0e2a1e5c11",
    pipeline_root="/runs/root",
    create_time_utc="2026-01-01T00:00:00+00:00",
    schedule_time_utc="2026-01-01T00:00:01+00:00",
)
CONTEXT = Context.for_task(JOB, "for-loop-2[1]/train")


def container_of(component, tmp_path) -> dict:
    """The container spec kfp's compiler writes for a component."""
    path = tmp_path / f"{component.name}.yaml"
    compiler.Compiler().compile(component, str(path))
    spec = yaml.safe_load(path.read_text())
    (executor,) = spec["deploymentSpec"]["executors"].values()
    return executor["container"]


def artifact(name, uri, metadata=None, schema="system.Dataset"):
    return {
        "name": name,
        "uri": uri,
        "type": {"schemaTitle": schema, "schemaVersion": "0.0.1"},
        "metadata": metadata or {},
    }


def executor_input(parameters=None, artifacts=None):
    return {
        "inputs": {
            "parameterValues": parameters or {},
            "artifacts": {name: {"artifacts": arts} for name, arts in (artifacts or {}).items()},
        },
        "outputs": {
            "parameters": {"count": {"outputFile": "/work/task/outputs/count"}},
            "artifacts": {
                "model": {
                    "artifacts": [artifact("model", "/art/task/model", schema="system.Model")]
                }
            },
            "outputFile": "/work/task/executor_output.json",
        },
    }


@dsl.container_component
def every_value(
    text: str,
    number: int,
    ratio: float,
    flag: bool,
    items: list,
    table: dict,
    data: Input[Dataset],
    count: OutputPath(int),
    model: Output[Model],
):
    return dsl.ContainerSpec(
        image="alpine:3",
        command=["tool", dsl.PIPELINE_TASK_EXECUTOR_INPUT_PLACEHOLDER],
        args=[
            text,
            number,
            ratio,
            flag,
            items,
            table,
            data.path,
            data.uri,
            data.metadata,
            data.metadata["rows"],
            count,
            model.path,
            model.uri,
            model.metadata,
            dsl.PIPELINE_TASK_EXECUTOR_OUTPUT_PATH_PLACEHOLDER,
            f"--name={text}-{number}",
        ],
    )


def test_every_input_and_output_placeholder(tmp_path):
    container = container_of(every_value, tmp_path)
    given = executor_input(
        parameters={
            "text": "hello world",
            "number": 3,
            "ratio": 0.5,
            "flag": True,
            "items": [1, "two"],
            "table": {"a": {"b": None}},
        },
        artifacts={"data": [artifact("data", "/art/up/data", {"rows": 12, "kind": "csv"})]},
    )

    command = resolve_command(container["command"], given, CONTEXT)
    args = resolve_command(container["args"], given, CONTEXT)

    assert command[0] == "tool"
    assert json.loads(command[1]) == given
    assert args == [
        "hello world",
        "3",
        "0.5",
        "true",
        '[1, "two"]',
        '{"a": {"b": null}}',
        "/art/up/data",
        "/art/up/data",
        '{"rows": 12, "kind": "csv"}',
        "12",
        "/work/task/outputs/count",
        "/art/task/model",
        "/art/task/model",
        "{}",
        "/work/task/executor_output.json",
        "--name=hello world-3",
    ]


@dsl.container_component
def run_values():
    return dsl.ContainerSpec(
        image="alpine:3",
        command=[
            dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
            dsl.PIPELINE_JOB_RESOURCE_NAME_PLACEHOLDER,
            dsl.PIPELINE_JOB_ID_PLACEHOLDER,
            dsl.PIPELINE_TASK_NAME_PLACEHOLDER,
            dsl.PIPELINE_TASK_ID_PLACEHOLDER,
            dsl.PIPELINE_ROOT_PLACEHOLDER,
            dsl.PIPELINE_JOB_CREATE_TIME_UTC_PLACEHOLDER,
            dsl.PIPELINE_JOB_SCHEDULE_TIME_UTC_PLACEHOLDER,
            f"{dsl.PIPELINE_ROOT_PLACEHOLDER}/tmp/{dsl.PIPELINE_TASK_NAME_PLACEHOLDER}",
        ],
    )


def test_pipeline_level_placeholders_come_from_the_context(tmp_path):
    container = container_of(run_values, tmp_path)

    resolved = resolve_command(container["command"], executor_input(), CONTEXT)

    assert resolved == [
        JOB.name,
        JOB.resource_name,
        JOB.uuid,
        "train",
        CONTEXT.task_uuid,
        "/runs/root",
        "2026-01-01T00:00:00+00:00",
        "2026-01-01T00:00:01+00:00",
        "/runs/root/tmp/train",
    ]


def test_task_context_is_stable_per_key_and_differs_between_keys():
    again = Context.for_task(JOB, "for-loop-2[1]/train")
    other = Context.for_task(JOB, "for-loop-2[2]/train")

    assert again == CONTEXT
    assert other.task_name == "train"
    assert other.task_uuid != CONTEXT.task_uuid


@dsl.container_component
def optional_flags(
    text: str,
    out: OutputPath(str),
    suffix: Optional[str] = None,  # noqa: UP045 (kfp reads only Optional)
    extra: Input[Artifact] = None,
):
    return dsl.ContainerSpec(
        image="alpine:3",
        command=["tool"],
        args=[
            ConcatPlaceholder(
                ["name=", text, IfPresentPlaceholder(input_name="suffix", then=suffix, else_="-")]
            ),
            IfPresentPlaceholder(
                input_name="suffix",
                then=[
                    "--suffix",
                    suffix,
                    IfPresentPlaceholder(input_name="extra", then=["--extra", extra.path]),
                ],
                else_=["--no-suffix"],
            ),
            IfPresentPlaceholder(
                input_name="extra", then=ConcatPlaceholder(["--extra-uri=", extra.uri])
            ),
            "--out",
            out,
        ],
    )


def test_if_present_and_concat_with_every_optional_input_given(tmp_path):
    container = container_of(optional_flags, tmp_path)
    given = executor_input(
        parameters={"text": "t", "suffix": "s"},
        artifacts={"extra": [artifact("extra", "/art/extra")]},
    )
    given["outputs"]["parameters"] = {"out": {"outputFile": "/o/out"}}

    assert resolve_command(container["args"], given) == [
        "name=ts",
        "--suffix",
        "s",
        "--extra",
        "/art/extra",
        "--extra-uri=/art/extra",
        "--out",
        "/o/out",
    ]


def test_if_present_without_the_optional_inputs_takes_else_or_nothing(tmp_path):
    container = container_of(optional_flags, tmp_path)
    given = executor_input(parameters={"text": "t", "suffix": None})
    given["outputs"]["parameters"] = {"out": {"outputFile": "/o/out"}}

    assert resolve_command(container["args"], given) == [
        "name=t-",
        "--no-suffix",
        "--out",
        "/o/out",
    ]


def test_nested_if_present_inside_then_follows_its_own_input(tmp_path):
    container = container_of(optional_flags, tmp_path)
    given = executor_input(parameters={"text": "t", "suffix": "s"})
    given["outputs"]["parameters"] = {"out": {"outputFile": "/o/out"}}

    assert resolve_command(container["args"], given) == [
        "name=ts",
        "--suffix",
        "s",
        "--out",
        "/o/out",
    ]


@dsl.container_component
def many(datasets: Input[list[Dataset]]):
    return dsl.ContainerSpec(image="alpine:3", command=["tool", datasets])


def test_a_list_of_artifacts_resolves_to_its_json(tmp_path):
    container = container_of(many, tmp_path)
    listed = [artifact("a", "/art/a"), artifact("b", "/art/b")]

    (_, resolved) = resolve_command(
        container["command"], executor_input(artifacts={"datasets": listed})
    )

    assert json.loads(resolved) == {"artifacts": listed}


def test_values_are_inserted_once_and_never_scanned_again():
    given = executor_input(parameters={"text": "{{$.pipeline_job_name}} {{$}}"})

    assert resolve_command(["{{$.inputs.parameters['text']}}"], given) == [
        "{{$.pipeline_job_name}} {{$}}"
    ]


def test_json_arguments_that_are_not_structures_stay_as_they_are():
    given = executor_input()
    arguments = ['{"Concat": 1, "other": 2}', '{"learning_rate": 0.1}', "{not json", "{{x}}"]

    assert resolve_command(arguments, given) == arguments


def test_resolve_text_fills_runtime_constants_without_an_executor_input():
    text = "run {{$.pipeline_job_name}} at {{$.pipeline_job_create_time_utc}}"

    assert resolve_text(text, context=CONTEXT) == f"run {JOB.name} at {JOB.create_time_utc}"


def test_resolve_text_fills_f_string_inputs_from_a_partial_executor_input():
    given = {"inputs": {"parameterValues": {"pipelinechannel--up-Output": 7}}}
    text = "{{$.inputs.parameters['pipelinechannel--up-Output']}}-suffix"

    assert resolve_text(text, given) == "7-suffix"


# -- errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "placeholder",
    [
        "{{$.workspace_path}}",
        "{{$.inputs.parameters['text'].uri}}",
        "{{$.outputs.parameters['count']}}",
        "{{$.inputs.artifacts['data'].size}}",
        "{{$.pipeline_job}}",
    ],
)
def test_an_unknown_placeholder_is_named(placeholder):
    given = executor_input(
        parameters={"text": "t"}, artifacts={"data": [artifact("data", "/art/data")]}
    )

    with pytest.raises(PlaceholderError, match="unknown placeholder") as raised:
        resolve_command([f"--x={placeholder}"], given, CONTEXT)
    assert placeholder in str(raised.value)


def test_concat_referring_to_a_missing_input_names_it():
    concat = json.dumps({"Concat": ["a", "{{$.inputs.parameters['nope']}}"]})

    with pytest.raises(PlaceholderError, match="input parameter 'nope' was not given"):
        resolve_command([concat], executor_input())


def test_if_present_branch_referring_to_a_missing_input_names_it():
    struct = json.dumps(
        {"IfPresent": {"InputName": "a", "Then": ["{{$.inputs.artifacts['ghost'].path}}"]}}
    )

    with pytest.raises(PlaceholderError, match="input artifact 'ghost' was not given"):
        resolve_command([struct], executor_input(parameters={"a": 1}))


def test_an_optional_input_used_outside_if_present_says_how_to_fix_it():
    given = executor_input(parameters={"text": "t"})

    with pytest.raises(PlaceholderError, match="'suffix' was not given; wrap"):
        resolve_command(["--suffix={{$.inputs.parameters['suffix']}}"], given)


def test_a_missing_output_is_named():
    with pytest.raises(PlaceholderError, match="no output parameter 'loss'"):
        resolve_command(["{{$.outputs.parameters['loss'].output_file}}"], executor_input())
    with pytest.raises(PlaceholderError, match="output artifact 'report' was not given"):
        resolve_command(["{{$.outputs.artifacts['report'].path}}"], executor_input())


def test_a_missing_metadata_key_is_named():
    given = executor_input(artifacts={"data": [artifact("data", "/art/data", {"rows": 1})]})

    with pytest.raises(PlaceholderError, match="has no key 'cols'"):
        resolve_command(["{{$.inputs.artifacts['data'].metadata['cols']}}"], given)


def test_path_of_a_remote_artifact_is_refused():
    given = executor_input(artifacts={"data": [artifact("data", "gs://bucket/data")]})

    assert resolve_command(["{{$.inputs.artifacts['data'].uri}}"], given) == ["gs://bucket/data"]
    with pytest.raises(PlaceholderError, match="not a local path"):
        resolve_command(["{{$.inputs.artifacts['data'].path}}"], given)


def test_run_values_without_a_context_are_an_error():
    with pytest.raises(PlaceholderError, match=r"\{\{\$.pipeline_task_name\}\}.*no pipeline run"):
        resolve_command(["{{$.pipeline_task_name}}"], executor_input())


def test_task_values_without_an_executor_input_are_an_error():
    with pytest.raises(PlaceholderError, match=r"\{\{\$.inputs.parameters\['x'\]\}\} needs"):
        resolve_text("{{$.inputs.parameters['x']}}", context=CONTEXT)


@pytest.mark.parametrize(
    "struct",
    [
        {"IfPresent": {"Then": ["x"]}},
        {"IfPresent": ["x"]},
        {"Concat": "x"},
        {"Concat": [{"Unknown": 1}]},
    ],
)
def test_a_malformed_structure_is_an_error(struct):
    with pytest.raises(PlaceholderError, match="malformed Concat/IfPresent"):
        resolve_command([json.dumps(struct)], executor_input(parameters={"a": 1}))


def test_if_present_giving_several_arguments_inside_concat_is_an_error():
    struct = {"Concat": ["x", {"IfPresent": {"InputName": "a", "Then": ["1", "2"]}}]}

    with pytest.raises(PlaceholderError, match="gives 2 arguments where one string"):
        resolve_command([json.dumps(struct)], executor_input(parameters={"a": 1}))
