"""Artifacts of every system type with their metadata, through a nested pipeline; the importer."""

from pathlib import Path
from typing import NamedTuple

from kfp import dsl
from kfp.dsl import (
    HTML,
    Artifact,
    ClassificationMetrics,
    Dataset,
    Input,
    Markdown,
    Metrics,
    Model,
    Output,
    SlicedClassificationMetrics,
)


@dsl.component
def produce_every_type(
    blob: Output[Artifact],
    table: Output[Dataset],
    model: Output[Model],
    scores: Output[Metrics],
    confusion: Output[ClassificationMetrics],
    sliced: Output[SlicedClassificationMetrics],
    page: Output[HTML],
    notes: Output[Markdown],
):
    import os

    with open(blob.path, "w") as f:
        f.write("opaque bytes")
    blob.metadata["origin"] = "generated"

    with open(table.path, "w") as f:
        f.write("x,y\n1,2\n3,4\n")
    table.metadata.update({"rows": 2, "columns": ["x", "y"]})

    # A model is often a folder of files.
    os.makedirs(model.path)
    with open(os.path.join(model.path, "weights.txt"), "w") as f:
        f.write("0.5 -1.25")
    with open(os.path.join(model.path, "config.json"), "w") as f:
        f.write('{"layers": 1}')
    model.framework = "handmade"
    model.metadata["version"] = 3

    scores.log_metric("accuracy", 0.75)
    scores.log_metric("loss", 0.5)

    confusion.log_confusion_matrix(["cat", "dog"], [[3, 1], [0, 4]])
    confusion.log_roc_curve(fpr=[0.0, 0.5], tpr=[0.5, 1.0], threshold=[0.9, 0.1])

    # kfp 2.17's SlicedClassificationMetrics.log_* methods fail (no slice table is set
    # up), so the metadata is written in the documented schema directly.
    sliced.metadata["evaluationSlices"] = [
        {"slice": "indoor", "sliceClassificationMetrics": {"accuracy": 0.8}},
        {"slice": "outdoor", "sliceClassificationMetrics": {"accuracy": 0.6}},
    ]

    with open(page.path, "w") as f:
        f.write("<h1>Report</h1>")
    with open(notes.path, "w") as f:
        f.write("# Notes\n\n- all good\n")
    notes.metadata["audience"] = "team"


@dsl.component
def take_inventory(
    blob: Input[Artifact],
    table: Input[Dataset],
    model: Input[Model],
    scores: Input[Metrics],
    confusion: Input[ClassificationMetrics],
    sliced: Input[SlicedClassificationMetrics],
    page: Input[HTML],
    notes: Input[Markdown],
) -> dict:
    """What a consumer sees of each artifact: class, schema, metadata and contents."""
    import os

    def contents(path):
        if os.path.isdir(path):
            return {
                name: open(os.path.join(path, name)).read() for name in sorted(os.listdir(path))
            }
        return open(path).read() if os.path.exists(path) else None

    received = dict(
        blob=blob,
        table=table,
        model=model,
        scores=scores,
        confusion=confusion,
        sliced=sliced,
        page=page,
        notes=notes,
    )
    return {
        name: {
            "class": type(artifact).__name__,
            "schema": artifact.schema_title,
            "metadata": artifact.metadata,
            "contents": contents(artifact.path),
        }
        for name, artifact in received.items()
    }


class Everything(NamedTuple):
    blob: Artifact
    table: Dataset
    model: Model
    scores: Metrics
    confusion: ClassificationMetrics
    sliced: SlicedClassificationMetrics
    page: HTML
    notes: Markdown


@dsl.pipeline
def every_artifact_type() -> Everything:
    """A pipeline used as a component: its outputs are the artifacts of one of its tasks."""
    made = produce_every_type()
    return Everything(**{name: made.outputs[name] for name in Everything._fields})


class Inventory(NamedTuple):
    inventory: dict
    table: Dataset
    model: Model
    notes: Markdown


@dsl.pipeline
def nested_artifacts() -> Inventory:
    """Artifacts cross a sub-pipeline's boundary into a task, and out as pipeline outputs."""
    made = every_artifact_type()
    inventory = take_inventory(**{name: made.outputs[name] for name in Everything._fields})
    return Inventory(
        inventory=inventory.output,
        table=made.outputs["table"],
        model=made.outputs["model"],
        notes=made.outputs["notes"],
    )


INVENTORY = {
    "blob": {
        "class": "Artifact",
        "schema": "system.Artifact",
        "metadata": {"origin": "generated"},
        "contents": "opaque bytes",
    },
    "table": {
        "class": "Dataset",
        "schema": "system.Dataset",
        "metadata": {"rows": 2, "columns": ["x", "y"]},
        "contents": "x,y\n1,2\n3,4\n",
    },
    "model": {
        "class": "Model",
        "schema": "system.Model",
        "metadata": {"framework": "handmade", "version": 3},
        "contents": {"config.json": '{"layers": 1}', "weights.txt": "0.5 -1.25"},
    },
    "scores": {
        "class": "Metrics",
        "schema": "system.Metrics",
        "metadata": {"accuracy": 0.75, "loss": 0.5},
        "contents": None,
    },
    "confusion": {
        "class": "ClassificationMetrics",
        "schema": "system.ClassificationMetrics",
        "metadata": {
            "confusionMatrix": {
                "annotationSpecs": [{"displayName": "cat"}, {"displayName": "dog"}],
                "rows": [{"row": [3, 1]}, {"row": [0, 4]}],
            },
            "confidenceMetrics": [
                {"confidenceThreshold": 0.9, "recall": 0.5, "falsePositiveRate": 0.0},
                {"confidenceThreshold": 0.1, "recall": 1.0, "falsePositiveRate": 0.5},
            ],
        },
        "contents": None,
    },
    "sliced": {
        "class": "SlicedClassificationMetrics",
        "schema": "system.SlicedClassificationMetrics",
        "metadata": {
            "evaluationSlices": [
                {"slice": "indoor", "sliceClassificationMetrics": {"accuracy": 0.8}},
                {"slice": "outdoor", "sliceClassificationMetrics": {"accuracy": 0.6}},
            ]
        },
        "contents": None,
    },
    "page": {
        "class": "HTML",
        "schema": "system.HTML",
        "metadata": {},
        "contents": "<h1>Report</h1>",
    },
    "notes": {
        "class": "Markdown",
        "schema": "system.Markdown",
        "metadata": {"audience": "team"},
        "contents": "# Notes\n\n- all good\n",
    },
}


def test_every_artifact_type_keeps_contents_and_metadata(run_pipeline, conveyor_home):
    result = run_pipeline(
        nested_artifacts,
        outputs={
            "inventory": INVENTORY,
            "table": "x,y\n1,2\n3,4\n",
            "model": {"config.json": '{"layers": 1}', "weights.txt": "0.5 -1.25"},
            "notes": "# Notes\n\n- all good\n",
        },
    )
    assert result.states(
        "every-artifact-type", "every-artifact-type/produce-every-type", "take-inventory"
    ) == {
        "every-artifact-type": "SUCCEEDED",
        "every-artifact-type/produce-every-type": "SUCCEEDED",
        "take-inventory": "SUCCEEDED",
    }
    for name in ("table", "model", "notes"):
        assert Path(result.run.outputs[name]).is_relative_to(conveyor_home), name


@dsl.component
def describe_artifact(item: Input[Dataset]) -> dict:
    with open(item.path) as f:
        text = f.read()
    return {"class": type(item).__name__, "metadata": item.metadata, "contents": text}


class Imported(NamedTuple):
    seen: dict
    table: Dataset


@dsl.pipeline
def imported_table(source_uri: str, source_name: str) -> Imported:
    """An importer brings a file made outside the pipeline in, with metadata (one from a parameter)."""
    imported = dsl.importer(
        artifact_uri=source_uri,
        artifact_class=Dataset,
        reimport=False,
        metadata={"source": source_name, "license": "cc-by"},
    )
    seen = describe_artifact(item=imported.output)
    return Imported(seen=seen.output, table=imported.output)


def test_importer_brings_in_a_local_file_with_metadata(run_pipeline, tmp_path):
    source = tmp_path / "survey.csv"
    source.write_text("id,answer\n1,yes\n")
    result = run_pipeline(
        imported_table,
        {"source_uri": str(source), "source_name": "field survey"},
        outputs={
            "seen": {
                "class": "Dataset",
                "metadata": {"source": "field survey", "license": "cc-by"},
                "contents": "id,answer\n1,yes\n",
            },
            "table": "id,answer\n1,yes\n",
        },
    )
    assert result.run.outputs["table"] == str(source)  # imported in place, not copied
    assert result.states("importer", "describe-artifact") == {
        "importer": "SUCCEEDED",
        "describe-artifact": "SUCCEEDED",
    }


@dsl.component
def make_table(rows: int, table: Output[Dataset]):
    with open(table.path, "w") as f:
        f.write("row\n" * rows)
    table.metadata["rows"] = rows


class Picked(NamedTuple):
    table: Dataset
    seen: dict


@dsl.pipeline
def pick_table(big: bool = False) -> Picked:
    """OneOf of artifacts: the output of whichever branch ran, to a task and out of the pipeline."""
    with dsl.If(big == True):  # noqa: E712 (a pipeline channel, not a bool)
        large = make_table(rows=3)
    with dsl.Else():
        small = make_table(rows=1)
    chosen = dsl.OneOf(large.outputs["table"], small.outputs["table"])
    seen = describe_artifact(item=chosen)
    return Picked(table=chosen, seen=seen.output)


def test_oneof_of_artifacts(run_pipeline):
    # kfp.local 2.17.3 reads a DAG's output artifact from exactly one selector and
    # raises "ValueError: Expected 1 artifact in ArtifactSelectorSpec. Got: 2".
    result = run_pipeline(
        pick_table,
        {"big": True},
        outputs={
            "table": "row\nrow\nrow\n",
            "seen": {"class": "Dataset", "metadata": {"rows": 3}, "contents": "row\nrow\nrow\n"},
        },
        kfp_local=False,
    )
    assert result.states(
        "condition-branches-1/condition-2/make-table", "condition-branches-1/condition-3"
    ) == {
        "condition-branches-1/condition-2/make-table": "SUCCEEDED",
        "condition-branches-1/condition-3": "SKIPPED",
    }
