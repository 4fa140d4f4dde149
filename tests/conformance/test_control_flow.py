"""Conditions, OneOf, nested pipelines, loops of every kind, fan-in of parameters and artifacts."""

# kfp reads typing.List and typing.Optional annotations, not list[...] or X | None.
# ruff: noqa: UP006, UP035, UP045

from typing import List, NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Input, Output


@dsl.component
def say(text: str) -> str:
    return text


@dsl.component
def flip(face: str) -> str:
    """Stands in for a coin flip whose outcome the test chooses."""
    return face


@dsl.component
def is_even(number: int) -> bool:
    return number % 2 == 0


@dsl.pipeline
def grade(score: int) -> str:
    """If / Elif / Else on a parameter of the (sub-)pipeline; OneOf picks the branch that ran."""
    with dsl.If(score >= 90):
        top = say(text="excellent")
    with dsl.Elif(score >= 50):
        middle = say(text="pass")
    with dsl.Else():
        bottom = say(text="fail")
    return dsl.OneOf(top.output, middle.output, bottom.output)


class Grades(NamedTuple):
    high: str
    middle: str
    low: str


@dsl.pipeline
def graded(high: int = 95, middle: int = 60, low: int = 10) -> Grades:
    """The same sub-pipeline three times, each taking a different branch."""
    return Grades(
        high=grade(score=high).output,
        middle=grade(score=middle).output,
        low=grade(score=low).output,
    )


def test_if_elif_else_in_a_sub_pipeline_with_a_oneof_output(run_pipeline):
    result = run_pipeline(
        graded, {"middle": 50}, outputs={"high": "excellent", "middle": "pass", "low": "fail"}
    )
    # In each run of `grade` (grade, grade-2, grade-3), condition-branches-1 holds
    # condition-2 (If), condition-3 (Elif) and condition-4 (Else).
    assert result.states(
        "grade/condition-branches-1/condition-2/say",
        "grade/condition-branches-1/condition-3",
        "grade/condition-branches-1/condition-4",
        "grade-2/condition-branches-1/condition-2",
        "grade-2/condition-branches-1/condition-3/say-2",
        "grade-2/condition-branches-1/condition-4",
        "grade-3/condition-branches-1/condition-2",
        "grade-3/condition-branches-1/condition-3",
        "grade-3/condition-branches-1/condition-4/say-3",
        "grade-3",
    ) == {
        "grade/condition-branches-1/condition-2/say": "SUCCEEDED",
        "grade/condition-branches-1/condition-3": "SKIPPED",
        "grade/condition-branches-1/condition-4": "SKIPPED",
        "grade-2/condition-branches-1/condition-2": "SKIPPED",
        "grade-2/condition-branches-1/condition-3/say-2": "SUCCEEDED",
        "grade-2/condition-branches-1/condition-4": "SKIPPED",
        "grade-3/condition-branches-1/condition-2": "SKIPPED",
        "grade-3/condition-branches-1/condition-3": "SKIPPED",
        "grade-3/condition-branches-1/condition-4/say-3": "SUCCEEDED",
        "grade-3": "SUCCEEDED",
    }
    # Nothing inside a skipped branch ran.
    ran = {info.name for info in result.run.tasks if info.status == "SUCCEEDED"}
    assert "grade/condition-branches-1/condition-3/say-2" not in ran
    assert "grade-3/condition-branches-1/condition-2/say" not in ran


class Calls(NamedTuple):
    coin: str
    parity: str


@dsl.pipeline
def branching(face: str = "heads", number: int = 4) -> Calls:
    """Conditions on task outputs, a string and a boolean; OneOf of each pair of branches."""
    coin = flip(face=face)
    with dsl.If(coin.output == "heads"):
        heads = say(text="called heads")
    with dsl.Else():
        tails = say(text="called tails")
    parity = is_even(number=number)
    with dsl.If(parity.output == True):  # noqa: E712 (a pipeline channel, not a bool)
        even = say(text="even")
    with dsl.Else():
        odd = say(text="odd")
    return Calls(
        coin=dsl.OneOf(heads.output, tails.output), parity=dsl.OneOf(even.output, odd.output)
    )


def test_conditions_on_task_outputs(run_pipeline):
    result = run_pipeline(
        branching, {"face": "tails", "number": 7}, outputs={"coin": "called tails", "parity": "odd"}
    )
    assert result.states(
        "condition-branches-1/condition-2",
        "condition-branches-1/condition-3/say-2",
        "condition-branches-4/condition-5",
        "condition-branches-4/condition-6/say-4",
    ) == {
        "condition-branches-1/condition-2": "SKIPPED",
        "condition-branches-1/condition-3/say-2": "SUCCEEDED",
        "condition-branches-4/condition-5": "SKIPPED",
        "condition-branches-4/condition-6/say-4": "SUCCEEDED",
    }


def test_conditions_on_task_outputs_other_branches(run_pipeline):
    run_pipeline(branching, outputs={"coin": "called heads", "parity": "even"})


@dsl.component
def write_part(label: str, size: int, part: Output[Dataset]):
    import time

    time.sleep(0.3)  # long enough for overlapping iterations to show in the task times
    with open(part.path, "w") as f:
        f.write(label * size)
    part.metadata["size"] = size


@dsl.component
def square(number: int) -> int:
    # int(): kfp.local hands out the items of a list of numbers as floats.
    return int(number * number)


@dsl.component
def add_all(numbers: List[int]) -> int:
    return int(sum(numbers))


@dsl.component
def list_sizes() -> list:
    return [{"label": "a", "size": 2}, {"label": "b", "size": 3}, {"label": "c", "size": 1}]


@dsl.component
def join_parts(parts: Input[List[Dataset]], joined: Output[Dataset]) -> list:
    with open(joined.path, "w") as f:
        for part in parts:
            with open(part.path) as piece:
                f.write(piece.read() + "\n")
    return [part.metadata["size"] for part in parts]


@dsl.component
def count_parts(parts: List[Dataset]) -> int:
    return len(parts)


@dsl.component
def mark(folder: str, letter: str, digit: int):
    import os

    with open(os.path.join(folder, f"{letter}{digit}"), "w") as f:
        f.write("")


class FanIn(NamedTuple):
    sum_of_squares: int
    sizes: list
    count: int
    joined: Dataset
    parts: List[Dataset]


@dsl.pipeline
def fan_out_fan_in(numbers: list = [1, 2, 3], marks: str = "") -> FanIn:
    """Loops over a parameter, a task output and a constant of dicts (item.field), nested."""
    with dsl.ParallelFor(numbers) as number:
        squared = square(number=number)
        with dsl.If(squared.output > 5):
            mark(folder=marks, letter="big", digit=number)
    total = add_all(numbers=dsl.Collected(squared.output))

    sizes = list_sizes()
    with dsl.ParallelFor(sizes.output, parallelism=1) as item:
        # A field called "name" would clash with the loop channel's own `.name`.
        part = write_part(label=item.label, size=item.size)
    joined = join_parts(parts=dsl.Collected(part.outputs["part"]))
    counted = count_parts(parts=dsl.Collected(part.outputs["part"]))

    with dsl.ParallelFor([1, 2]) as digit:
        # (kfp 2.17 cannot compile an outer loop's item.field used in an inner loop.)
        with dsl.ParallelFor([{"letter": "x"}, {"letter": "y"}]) as row:
            mark(folder=marks, letter=row.letter, digit=digit)

    return FanIn(
        sum_of_squares=total.output,
        sizes=joined.outputs["Output"],
        count=counted.output,
        joined=joined.outputs["joined"],
        parts=dsl.Collected(part.outputs["part"]),
    )


def test_loops_fan_out_and_collected_fans_in(run_pipeline, tmp_path):
    def arguments(runner):
        folder = tmp_path / runner
        folder.mkdir()
        return {"numbers": [2, 3, 4], "marks": str(folder)}

    # Conveyor may run 4 tasks at once; the loop over sizes must still run one at a time.
    result = run_pipeline(
        fan_out_fan_in,
        arguments,
        outputs={
            "sum_of_squares": 29,
            "sizes": [2, 3, 1],
            "count": 3,
            "joined": "aa\nbbb\nc\n",
            "parts": ["aa", "bbb", "c"],
        },
        parallelism=4,
    )
    for runner in result.runners:
        marked = sorted(p.name for p in (tmp_path / runner).iterdir())
        assert marked == ["big3", "big4", "x1", "x2", "y1", "y2"], runner

    run = result.run
    names = {info.name for info in run.tasks}
    # Iterations are named loop[index]; each loop is numbered by the compiler.
    squares = sorted(n for n in names if n.endswith("/square"))
    assert len(squares) == 3 and squares[0].endswith("[0]/square")
    nested = sorted(n for n in names if n.endswith("/mark-2"))
    assert len(nested) == 4 and all(n.count("[") == 2 for n in nested)
    assert all(run.task(n).status == "SUCCEEDED" for n in squares + nested)
    assert result.most_at_once(r".*\]/write-part") == 1


def test_loop_over_an_empty_list_collects_nothing(run_pipeline, tmp_path):
    # kfp.local 2.17.3 cannot fan in over zero iterations: it stores no output for the
    # loop and raises "ValueError: Tried to get output ... from task 'for-loop-1', but
    # task 'for-loop-1' not found".
    folder = tmp_path / "marks"
    folder.mkdir()
    result = run_pipeline(
        fan_out_fan_in,
        {"numbers": [], "marks": str(folder)},
        outputs={
            "sum_of_squares": 0,
            "sizes": [2, 3, 1],
            "count": 3,
            "joined": "aa\nbbb\nc\n",
            "parts": ["aa", "bbb", "c"],
        },
        kfp_local=False,
    )
    assert not any(info.name.endswith("/square") for info in result.run.tasks)


@dsl.component
def scale(number: int, factor: int) -> int:
    return int(number * factor)


@dsl.pipeline
def scale_all(numbers: list, factor: int) -> List[int]:
    """A sub-pipeline whose output is a fan-in over its own loop."""
    with dsl.ParallelFor(numbers) as number:
        scaled = scale(number=number, factor=factor)
    return dsl.Collected(scaled.output)


@dsl.pipeline
def loop_of_subpipelines(rows: list = [[1, 2], [3]]) -> List[List[int]]:
    """A loop whose body is a sub-pipeline, collected again: a list of lists."""
    with dsl.ParallelFor(rows) as row:
        scaled = scale_all(numbers=row, factor=10)
    return dsl.Collected(scaled.output)


def test_collected_inside_and_across_sub_pipelines(run_pipeline):
    result = run_pipeline(loop_of_subpipelines, outputs={"Output": [[10, 20], [30]]})
    assert result.states(
        "for-loop-1[0]/scale-all", "for-loop-1[1]/scale-all/for-loop-1[0]/scale"
    ) == {
        "for-loop-1[0]/scale-all": "SUCCEEDED",
        "for-loop-1[1]/scale-all/for-loop-1[0]/scale": "SUCCEEDED",
    }
