"""Parameters of every type, defaults, optional inputs, NamedTuple and pipeline outputs; task settings."""

# kfp reads typing.List and typing.Optional annotations, not list[...] or X | None.
# ruff: noqa: UP006, UP035, UP045

from typing import NamedTuple, Optional

import pytest
from kfp import dsl

TEAM = {"lead": "ada", "members": ["bob", "eve"], "remote": True}


@dsl.component
def describe(
    text: str,
    count: int,
    ratio: float,
    flag: bool,
    tags: list,
    config: dict,
    note: Optional[str] = None,
    unit: str = "m",
) -> NamedTuple(
    "Described",
    [
        ("summary", str),
        ("count", int),
        ("ratio", float),
        ("flag", bool),
        ("tags", list),
        ("config", dict),
    ],
):
    kinds = " ".join(type(v).__name__ for v in (text, count, ratio, flag, tags, config))
    summary = (
        f"{text}|{count}|{ratio}|{flag}|{'+'.join(tags)}|{sorted(config)}|{note}|{unit}|{kinds}"
    )
    return (summary, count * 2, ratio + 0.25, not flag, [*tags, "z"], {**config, "seen": text})


@dsl.component
def kinds_of(count: int, ratio: float, flag: bool) -> str:
    return " ".join(type(v).__name__ for v in (count, ratio, flag))


class Typed(NamedTuple):
    first: str
    second: str
    count: int
    ratio: float
    flag: bool
    tags: list
    config: dict
    kinds: str


@dsl.pipeline
def typed_chain(
    text: str = "hello",
    count: int = 3,
    ratio: float = 0.5,
    flag: bool = True,
    tags: list = ["a", "b"],
    config: dict = TEAM,
) -> Typed:
    """Pipeline inputs of every type feed a task whose typed outputs feed a second task."""
    first = describe(text=text, count=count, ratio=ratio, flag=flag, tags=tags, config=config)
    second = describe(
        text="second",
        count=first.outputs["count"],
        ratio=first.outputs["ratio"],
        flag=first.outputs["flag"],
        tags=first.outputs["tags"],
        config=first.outputs["config"],
        note="given",
        unit="km",
    )
    kinds = kinds_of(
        count=second.outputs["count"], ratio=second.outputs["ratio"], flag=second.outputs["flag"]
    )
    return Typed(
        first=first.outputs["summary"],
        second=second.outputs["summary"],
        count=second.outputs["count"],
        ratio=second.outputs["ratio"],
        flag=second.outputs["flag"],
        tags=second.outputs["tags"],
        config=second.outputs["config"],
        kinds=kinds.output,
    )


KINDS = "str int float bool list dict"


def test_defaults_flow_through_typed_outputs(run_pipeline):
    result = run_pipeline(
        typed_chain,
        outputs={
            "first": f"hello|3|0.5|True|a+b|['lead', 'members', 'remote']|None|m|{KINDS}",
            "second": f"second|6|0.75|False|a+b+z|['lead', 'members', 'remote', 'seen']|given|km|{KINDS}",
            "count": 12,
            "ratio": 1.0,
            "flag": True,
            "tags": ["a", "b", "z", "z"],
            "config": {**TEAM, "seen": "second"},
            "kinds": "int float bool",
        },
    )
    outputs = result.run.outputs
    assert [type(outputs[name]) for name in ("count", "ratio", "flag")] == [int, float, bool]
    assert result.states("describe", "describe-2", "kinds-of") == {
        "describe": "SUCCEEDED",
        "describe-2": "SUCCEEDED",
        "kinds-of": "SUCCEEDED",
    }


def test_arguments_override_defaults(run_pipeline):
    run_pipeline(
        typed_chain,
        {
            "text": "bye",
            "count": 10,
            "ratio": 2.5,
            "flag": False,
            "tags": [],
            "config": {"lead": "kim"},
        },
        outputs={
            "first": f"bye|10|2.5|False||['lead']|None|m|{KINDS}",
            "second": f"second|20|2.75|True|z|['lead', 'seen']|given|km|{KINDS}",
            "count": 40,
            "ratio": 3.0,
            "flag": False,
            "tags": ["z", "z"],
            "config": {"lead": "kim", "seen": "second"},
            "kinds": "int float bool",
        },
    )


@dsl.component
def greet(name: str, title: Optional[str] = None) -> str:
    return f"{title} {name}" if title is not None else f"{name} (no title)"


@dsl.pipeline
def optional_title(name: str = "Lovelace", title: Optional[str] = None) -> str:
    return greet(name=name, title=title).output


def test_optional_pipeline_input_given(run_pipeline):
    run_pipeline(optional_title, {"title": "Countess"}, outputs={"Output": "Countess Lovelace"})


def test_optional_pipeline_input_left_out(run_pipeline):
    # kfp.local 2.17.3 cannot run a pipeline whose optional input has no default and no
    # argument: join_user_inputs_and_defaults raises "ValueError: Unknown value type".
    run_pipeline(optional_title, outputs={"Output": "Lovelace (no title)"}, kfp_local=False)


@dsl.component
def leave_marker(path: str, text: str):
    with open(path, "w") as f:
        f.write(text)


@dsl.component
def take_marker(path: str) -> str:
    import os

    with open(path) as f:
        text = f.read()
    os.remove(path)
    return text


@dsl.component
def read_env(name: str) -> str:
    import os

    return os.environ.get(name, "<unset>")


class Settings(NamedTuple):
    marker: str
    with_env: str
    without_env: str


@dsl.pipeline
def task_settings(marker_path: str) -> Settings:
    """`.after()` orders tasks with no data between them; env variables stay with their task."""
    writer = leave_marker(path=marker_path, text="left by the first task")
    writer.set_caching_options(enable_caching=False)
    reader = take_marker(path=marker_path).after(writer)
    reader.set_caching_options(enable_caching=True)
    with_env = read_env(name="CONFORMANCE_GREETING")
    with_env.set_env_variable(name="CONFORMANCE_GREETING", value="bonjour")
    # Runs after the task that had the variable, maybe in the same worker: must not see it.
    without_env = read_env(name="CONFORMANCE_GREETING").after(with_env)
    return Settings(marker=reader.output, with_env=with_env.output, without_env=without_env.output)


@pytest.mark.parametrize("parallelism", [1, 4])
def test_after_orders_tasks_and_env_stays_with_its_task(run_pipeline, tmp_path, parallelism):
    def arguments(runner):
        return {"marker_path": str(tmp_path / f"{runner}.marker")}

    run_pipeline(
        task_settings,
        arguments,
        outputs={
            "marker": "left by the first task",
            "with_env": "bonjour",
            "without_env": "<unset>",
        },
        kfp_local=parallelism == 1,  # kfp.local has no parallelism setting; compare once
        parallelism=parallelism,
    )
    assert not (tmp_path / "conveyor.marker").exists()
    assert not (tmp_path / "kfp.local.marker").exists()
