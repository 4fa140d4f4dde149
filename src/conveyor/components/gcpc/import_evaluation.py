"""`ModelImportEvaluationOp`: a model evaluation's metrics imported as registry evaluations.

The version is the one the `model` input names (`projects/P/locations/L/models/NAME@VERSION`).
The metrics are the JSON file at the URI of the first metrics input given, as GCPC's
launcher picks it: `classification_metrics`, `forecasting_metrics`, `regression_metrics`,
`text_generation_metrics`, `question_answering_metrics`, `summarization_metrics`,
`embedding_metrics`, else `metrics` with `problem_type`. The file of a classification,
forecasting or regression evaluation is Vertex AI's evaluation output,
`{"slicedMetrics": [{"singleOutputSlicingSpec": {...}, "metrics": {"classification": {...}}}]}`:
its first slice is over all data, each other one becomes an evaluation of that slice
(`{"annotationSpec": "setosa"}`, or feature to value for a slicing spec). The file of a
text task is the metrics object itself.

The evaluation over all data holds the metrics as they are (`auPrc`, `rootMeanSquaredError`...,
so promotion gates read them) beside the fields of Vertex AI's ModelEvaluation:
`problemType`, `metricsSchemaUri`, `displayName`, `metadata` (`evaluation_dataset_path`,
`evaluation_dataset_type`, `row_based_metrics_path`, the pipeline job), `modelExplanation`
(the feature attributions of `explanation`, `feature_attributions` or the metrics'
`explanation_gcs_path`), and `dataset`, the dataset paths, which gates compare evaluations
on. Its run is the pipeline's. NaN and infinity are written `"NaN"`, `"Infinity"`, as
Vertex AI's JSON writes them. A model of `publishers/google` is skipped, as GCPC skips it.

Outputs: `evaluation_resource_name` (`projects/P/locations/L/models/NAME@VERSION/evaluations/ID`)
and `gcp_resources` (the `ModelEvaluation`, then each `ModelEvaluationSlice`).
"""

from __future__ import annotations

import base64
import json
import math
import sys
from pathlib import Path
from typing import Any

from conveyor.client import Client
from conveyor.components.gcpc._launcher import (
    API,
    Arguments,
    LauncherError,
    ResourceName,
    given,
    main,
)
from conveyor.components.gcpc._storage import Storage

SCHEMAS = "gs://google-cloud-aiplatform/schema/modelevaluation/"
PROBLEM_TYPES = {
    "classification": "classification_metrics_1.0.0.yaml",
    "regression": "regression_metrics_1.0.0.yaml",
    "forecasting": "forecasting_metrics_1.0.0.yaml",
    "text-generation": "general_text_generation_metrics_1.0.0.yaml",
    "question-answering": "question_answering_metrics_1.0.0.yaml",
    "summarization": "summarization_metrics_1.0.0.yaml",
    "embedding": "embedding_metrics_1.0.0.yaml",
}
"""Each problem type and the schema of its metrics, under `SCHEMAS`, as GCPC names them."""
TYPED_INPUTS = {
    "classification_metrics": "classification",
    "forecasting_metrics": "forecasting",
    "regression_metrics": "regression",
    "text_generation_metrics": "text-generation",
    "question_answering_metrics": "question-answering",
    "summarization_metrics": "summarization",
    "embedding_metrics": "embedding",
}
"""The metrics inputs that say their problem type, in the order GCPC's launcher picks them."""
WHOLE_FILE = {"text-generation", "question-answering", "summarization", "embedding"}
"""Problem types whose file is the metrics object itself, without slices."""
EXPLANATION_KEY = "explanation_gcs_path"

OPTIONS = (
    *(f"--{name}" for name in TYPED_INPUTS),
    "--metrics",
    "--metrics_explanation",
    "--explanation",
    "--feature_attributions",
    "--row_based_metrics",
    "--problem_type",
    "--display_name",
    "--dataset_path",
    "--dataset_paths",
    "--dataset_type",
    "--pipeline_job_id",
    "--pipeline_job_resource_name",
    "--model_name",
    "--evaluation_resource_name",
)


def run(args: Arguments) -> None:
    model_name = given(args.extra.get("model_name"))
    if "publishers/google" in model_name:
        _write(args, None, [])
        print(f"{model_name} is Google's model: no evaluation imported, as on Vertex AI")
        return
    model = ResourceName.parse(model_name, "models")
    uri, problem_type = _metrics_input(args)
    with Client() as client:
        storage = Storage.of(client)
        overall, slices = _read_metrics(storage, uri, problem_type)
        attributions = _attributions(storage, args)
        overall = _json({**_fields(args, problem_type, attributions), **overall})
        sliced = [(slice, _json(metrics)) for slice, metrics in slices]
        by_class = dict(attributions[1:])
        for slice, metrics in sliced:
            if set(slice) == {"annotationSpec"} and slice["annotationSpec"] in by_class:
                metrics["modelExplanation"] = _explanation(by_class[slice["annotationSpec"]])
        version = client.get_model_version(model.id)
        run_id = given(args.extra.get("pipeline_job_id")) or None  # Conveyor's run id
        added = client.add_model_evaluation(version.reference, overall, run_id=run_id)
        slice_ids = [
            client.add_model_evaluation(version.reference, m, slice=s, run_id=run_id).id
            for s, m in sliced
        ]
    parent = ResourceName(model.project, model.location, "models", version.reference)
    name = f"{parent}/evaluations/{added.id}"
    _write(args, parent, [name, *(f"{name}/slices/{id}" for id in slice_ids)])
    print(
        f"imported the {problem_type} evaluation of {uri} ({len(slice_ids)} slices) into "
        f"{version.reference}: {name}"
    )


def _metrics_input(args: Arguments) -> tuple[str, str]:
    """The URI of the metrics file and its problem type, as GCPC's launcher picks them."""
    for option, problem_type in TYPED_INPUTS.items():
        uri = given(args.extra.get(option))
        if uri:
            return uri, problem_type
    uri = given(args.extra.get("metrics"))
    if not uri:
        raise LauncherError(
            "ModelImportEvaluationOp has no metrics: give classification_metrics, "
            "regression_metrics, forecasting_metrics (or a text task's metrics), or metrics "
            "with problem_type"
        )
    problem_type = given(args.extra.get("problem_type"))
    if problem_type not in PROBLEM_TYPES:
        raise LauncherError(
            f"ModelImportEvaluationOp: problem_type {problem_type!r} is not one Vertex AI "
            f"imports; with metrics, give one of {', '.join(PROBLEM_TYPES)}"
        )
    return uri, problem_type


def _read_metrics(
    storage: Storage, uri: str, problem_type: str
) -> tuple[dict[str, Any], list[tuple[dict[str, Any], dict[str, Any]]]]:
    """The metrics over all data, and each other slice's (registry slice, metrics)."""
    document = _load(storage, uri, f"the {problem_type} metrics")
    if problem_type in WHOLE_FILE:
        if not isinstance(document, dict) or not document:
            raise LauncherError(f"the {problem_type} metrics {uri} are not a JSON object")
        return document, []
    found = document.get("slicedMetrics") if isinstance(document, dict) else None
    if not isinstance(found, list) or not found:
        raise LauncherError(
            f"the {problem_type} metrics {uri} have no slicedMetrics: expected Vertex AI's "
            f'evaluation output, {{"slicedMetrics": [{{"singleOutputSlicingSpec": {{}}, '
            f'"metrics": {{"{problem_type}": {{...}}}}}}, ...]}}, the slice over all data first'
        )
    sliced = []
    for index, entry in enumerate(found):
        metrics = entry.get("metrics") if isinstance(entry, dict) else None
        inner = next(iter(metrics.values()), None) if isinstance(metrics, dict) else None
        if not isinstance(inner, dict) or not inner:
            raise LauncherError(
                f"slicedMetrics[{index}] of {uri} has no metrics: expected "
                f'{{"metrics": {{"{problem_type}": {{...}}}}}}'
            )
        try:
            sliced.append((_slice(entry.get("singleOutputSlicingSpec") or {}), dict(inner)))
        except (ValueError, TypeError, AttributeError) as exc:
            raise LauncherError(
                f"slicedMetrics[{index}] of {uri} has a singleOutputSlicingSpec that is not "
                f'Vertex AI\'s ({exc!r}): expected {{}}, {{"bytesValue": ...}}, '
                '{"dimension": "annotationSpec", "value": ...} or {"dimension": "slice", ...}'
            ) from None
    return sliced[0][1], sliced[1:]


def _load(storage: Storage, uri: str, what: str) -> Any:
    try:
        with storage.open(uri) as file:
            return json.loads(file.read())
    except OSError as exc:
        raise LauncherError(f"cannot read {what} at {uri}: {exc}") from None
    except ValueError as exc:
        raise LauncherError(f"{uri} ({what}) is not valid JSON ({exc})") from None


def _attributions(storage: Storage, args: Arguments) -> list[tuple[str, Any]]:
    """The feature attributions (annotation spec value, attributions) of the explanation
    file GCPC's launcher picks, over all data first; none without one."""
    uri = given(args.extra.get("feature_attributions"))
    if not uri and given(args.extra.get("explanation")):
        uri = _explanation_path(args.extra["explanation"], "explanation")
        if not uri:
            raise LauncherError(
                f"ModelImportEvaluationOp: the explanation input has no {EXPLANATION_KEY} in its "
                "metadata; give the artifact the explanation component wrote"
            )
    if not uri:
        uri = _explanation_path(args.extra.get("metrics_explanation"), "metrics")
    if not uri:
        return []
    document = _load(storage, uri, "the explanation")
    try:
        found = document["explanation"]["attributions"]
        return [(a.get("value", ""), a["featureAttributions"]) for a in found]
    except (KeyError, TypeError, AttributeError):
        raise LauncherError(
            f"the explanation at {uri} has no attributions: expected "
            '{"explanation": {"attributions": [{"featureAttributions": {...}}, ...]}}'
        ) from None


def _explanation_path(text: str | None, input_name: str) -> str:
    """The `explanation_gcs_path` of an input's metadata (given as JSON, gcpc.local_container)."""
    if not given(text):
        return ""
    try:
        metadata = json.loads(text or "")
    except ValueError:
        raise LauncherError(
            f"the metadata of the {input_name} input is not JSON: {text!r}"
        ) from None
    return str(metadata.get(EXPLANATION_KEY) or "") if isinstance(metadata, dict) else ""


def _explanation(attributions: Any) -> dict[str, Any]:
    return {"meanAttributions": [{"featureAttributions": attributions}]}


def _fields(
    args: Arguments, problem_type: str, attributions: list[tuple[str, Any]]
) -> dict[str, Any]:
    """The fields of Vertex AI's ModelEvaluation beside its metrics, as GCPC fills them."""
    paths = _dataset_paths(args)
    metadata = {
        "pipeline_job_id": given(args.extra.get("pipeline_job_id")),
        "pipeline_job_resource_name": given(args.extra.get("pipeline_job_resource_name")),
        "evaluation_dataset_type": given(args.extra.get("dataset_type")),
        "evaluation_dataset_path": paths,
        "row_based_metrics_path": given(args.extra.get("row_based_metrics")),
    }
    fields = {
        "problemType": problem_type,
        "metricsSchemaUri": SCHEMAS + PROBLEM_TYPES[problem_type],
        "displayName": given(args.extra.get("display_name")),
        "metadata": {key: value for key, value in metadata.items() if value},
        "modelExplanation": _explanation(attributions[0][1]) if attributions else None,
        "dataset": ", ".join(paths),
    }
    return {key: value for key, value in fields.items() if value}


def _dataset_paths(args: Arguments) -> list[str]:
    """`dataset_paths` (a JSON list of strings, else none) then `dataset_path`, as GCPC reads them."""
    try:
        paths = json.loads(args.extra.get("dataset_paths") or "[]")
    except ValueError:
        paths = []
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        paths = []
    one = given(args.extra.get("dataset_path"))
    return [*paths, one] if one else paths


def _slice(spec: dict[str, Any]) -> dict[str, Any]:
    """A registry slice for a slicing spec of Vertex AI's evaluation output: the annotation
    spec (class) it is of, `{"annotationSpec": "setosa"}`, or each feature of a slicing
    spec to its value (`*` for all values, `[low, high)` for a range)."""
    if spec.get("dimension") == "slice":
        configs = (spec.get("slicingSpec") or {}).get("configs") or {}
        features = {name: _config_value(config) for name, config in configs.items()}
        return features or {"slice": str(spec.get("value", ""))}
    if spec.get("dimension") == "annotationSpec" and "value" in spec:
        return {"annotationSpec": str(spec["value"])}
    value = ""
    if "bytesValue" in spec:
        value = base64.b64decode(spec["bytesValue"]).decode("utf-8")
    elif "floatValue" in spec:
        value = str(spec["floatValue"])
    elif "int64Value" in spec:
        value = str(spec["int64Value"])
    return {"annotationSpec": value}


def _config_value(config: Any) -> str | float:
    if not isinstance(config, dict):
        return str(config)
    if config.get("allValues"):
        return "*"
    if "range" in config:
        bounds = config["range"] or {}
        return f"[{bounds.get('low', '-inf')}, {bounds.get('high', 'inf')})"
    value = config.get("value") or {}
    if "stringValue" in value:
        return str(value["stringValue"])
    number = value.get("floatValue")
    if isinstance(number, int | float) and math.isfinite(number):
        return float(number)
    return json.dumps(value)


def _json(value: Any) -> Any:
    """`value` with NaN and infinities as Vertex AI's JSON writes them (`"NaN"`, `"Infinity"`)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json(item) for item in value]
    return value


def _write(args: Arguments, model: ResourceName | None, names: list[str]) -> None:
    """`evaluation_resource_name` (the first of `names`, the evaluation over all data) and
    `gcp_resources` (the evaluation, then its slices), as GCPC writes them."""
    api = API.format(location=model.location) if model else ""
    resources = [
        {"resourceType": "ModelEvaluationSlice" if i else "ModelEvaluation", "resourceUri": api + n}
        for i, n in enumerate(names)
    ]
    outputs = {
        args.extra.get("evaluation_resource_name"): names[0] if names else "",
        args.gcp_resources: json.dumps({"resources": resources} if resources else {}, indent=2),
    }
    for path, text in outputs.items():
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text)


if __name__ == "__main__":
    sys.exit(main(run, OPTIONS))
