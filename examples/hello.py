"""A first pipeline: fan out over words, count their letters, fan in, and branch.

Run it with `conveyor run examples/hello.py:hello_pipeline -p name=World`.
"""

from kfp import dsl
from kfp.dsl import Dataset, Input, Output


@dsl.component
def split_words(sentence: str) -> list:
    return sentence.split()


@dsl.component
def count_letters(word: str) -> int:
    return sum(ch.isalpha() for ch in word)


@dsl.component
def write_report(name: str, counts: list, report: Output[Dataset]) -> int:
    total = int(sum(counts))  # kfp.local collects the counts as floats
    with open(report.path, "w") as f:
        f.write(f"Hello, {name}! Your sentence has {total} letters: {counts}\n")
    report.metadata["total"] = total
    return total


@dsl.component
def shout(report: Input[Dataset]) -> str:
    with open(report.path) as f:
        text = f.read().strip()
    print(text.upper())
    return text.upper()


@dsl.component
def whisper(report: Input[Dataset]) -> str:
    with open(report.path) as f:
        text = f.read().strip()
    print(text.lower())
    return text.lower()


@dsl.pipeline(name="hello-pipeline")
def hello_pipeline(
    name: str = "World", sentence: str = "pipelines run here as they run on Vertex AI"
) -> str:
    words = split_words(sentence=sentence)
    with dsl.ParallelFor(words.output) as word:
        counted = count_letters(word=word)
    report = write_report(name=name, counts=dsl.Collected(counted.output))
    with dsl.If(report.outputs["Output"] > 30):
        loud = shout(report=report.outputs["report"])
    with dsl.Else():
        quiet = whisper(report=report.outputs["report"])
    return dsl.OneOf(loud.output, quiet.output)
