"""Container components: @dsl.container_component and YAML components, with every placeholder kind.

Conveyor only: kfp.local's SubprocessRunner refuses container components ("only
supports running Lightweight Python Components"), and its DockerRunner needs a
running docker daemon and the `docker` package. The commands use only `sh` and
coreutils, so they behave the same in an alpine image and as local processes.
"""

# kfp reads typing.List and typing.Optional annotations, not list[...] or X | None.
# ruff: noqa: UP006, UP035, UP045

from typing import NamedTuple, Optional

from kfp import components, dsl
from kfp.dsl import Artifact, Input, Output


@dsl.container_component
def shout(message: str, loud: Output[Artifact], length: dsl.OutputPath(int)):
    return dsl.ContainerSpec(
        image="alpine:3.19",
        command=[
            "sh",
            "-c",
            'mkdir -p "$(dirname "$1")" "$(dirname "$2")"\n'
            'echo "$0!" > "$1"\n'
            'printf "%s" "${#0}" > "$2"\n',
        ],
        args=[message, loud.path, length],
    )


@dsl.container_component
def introduce(name: str, greeting: dsl.OutputPath(str), title: Optional[str] = None):
    return dsl.ContainerSpec(
        image="alpine:3.19",
        command=["sh", "-c", 'out="$0"; mkdir -p "$(dirname "$out")"; printf "%s" "$*" > "$out"'],
        args=[
            greeting,
            dsl.ConcatPlaceholder(["name=", name]),
            dsl.IfPresentPlaceholder(
                input_name="title",
                then=[dsl.ConcatPlaceholder(["title=", title])],
                else_=["untitled"],
            ),
        ],
    )


COUNT_WORDS = """
name: Count words
description: Counts the words of a document; notes its label and separator.
inputs:
- {name: label, type: String}
- {name: document, type: Artifact}
- {name: separator, type: String, optional: true}
outputs:
- {name: words, type: Integer}
- {name: summary, type: Artifact}
implementation:
  container:
    image: alpine:3.19
    command:
    - sh
    - -c
    - |
      set -e
      label="$0"; document="$1"; words="$2"; summary="$3"; executor_input="$4"; shift 4
      mkdir -p "$(dirname "$words")" "$(dirname "$summary")"
      wc -w < "$document" | tr -d ' ' | tr -d '\\n' > "$words"
      case "$executor_input" in *'"parameterValues"'*) seen=yes;; *) seen=no;; esac
      printf '%s %s executor-input:%s\\n' "$label" "$*" "$seen" > "$summary"
    - {concat: ["label:", {inputValue: label}]}
    - {inputPath: document}
    - {outputPath: words}
    - {outputPath: summary}
    - {executorInput: null}
    - if:
        cond: {isPresent: separator}
        then: [{concat: ["sep=", {inputValue: separator}]}]
        else: [no-separator]
"""

count_words = components.load_component_from_text(COUNT_WORDS)


@dsl.component
def read_back(loud: Input[Artifact], length: int, words: int) -> str:
    with open(loud.path) as f:
        return f"{f.read().strip()} ({length} letters, {words} words)"


class Shouted(NamedTuple):
    loud: Artifact
    length: int
    titled: str
    untitled: str
    words: int
    summary: Artifact
    plain_summary: Artifact
    read_back: str


@dsl.pipeline
def container_steps(message: str = "hello there") -> Shouted:
    """Container components feed each other and a Python component."""
    loud = shout(message=message)
    titled = introduce(name="Ada", title="Countess")
    untitled = introduce(name="Alan")
    counted = count_words(
        label=titled.outputs["greeting"], document=loud.outputs["loud"], separator="|"
    )
    plain = count_words(label="plain", document=loud.outputs["loud"])
    back = read_back(
        loud=loud.outputs["loud"], length=loud.outputs["length"], words=counted.outputs["words"]
    )
    return Shouted(
        loud=loud.outputs["loud"],
        length=loud.outputs["length"],
        titled=titled.outputs["greeting"],
        untitled=untitled.outputs["greeting"],
        words=counted.outputs["words"],
        summary=counted.outputs["summary"],
        plain_summary=plain.outputs["summary"],
        read_back=back.output,
    )


def test_container_components_resolve_every_placeholder(run_pipeline):
    result = run_pipeline(
        container_steps,
        outputs={
            "loud": "hello there!\n",
            "length": 11,
            "titled": "name=Ada title=Countess",
            "untitled": "name=Alan untitled",
            "words": 2,
            "summary": "label:name=Ada title=Countess sep=| executor-input:yes\n",
            "plain_summary": "label:plain no-separator executor-input:yes\n",
            "read_back": "hello there! (11 letters, 2 words)",
        },
        kfp_local=False,
    )
    assert type(result.run.outputs["length"]) is int
    assert all(info.status == "SUCCEEDED" for info in result.run.tasks)
    assert len(result.run.tasks) == 6


@dsl.container_component
def exit_with(code: int):
    return dsl.ContainerSpec(
        image="alpine:3.19",
        command=["sh", "-c", 'echo "giving up with $0" >&2; exit "$0"'],
        args=[code],
    )


@dsl.pipeline
def failing_container(code: int = 3):
    exit_with(code=code)


def test_a_container_that_exits_non_zero_fails_the_run(run_pipeline):
    result = run_pipeline(
        failing_container, status="FAILED", failed_task="exit-with", kfp_local=False
    )
    assert result.run.task("exit-with").status == "FAILED"
    assert "giving up with 3" in result.run.error
