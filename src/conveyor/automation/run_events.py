"""Finished runs as trigger events: the runs of a pipeline that ended in given states, with the
values they give the next pipeline, for the `run_finished` triggers.

Settings: `{"pipeline": "churn-prep", "states": ["SUCCEEDED"], "parameters": {"data":
"prepared"}}`. `pipeline` is the name runs record (the spec's `pipelineInfo.name`, what
`conveyor runs list` shows); each run of it that ended in one of `states` is one event,
keyed `run:<run id>`. `parameters` maps each parameter of the pipeline the trigger runs to
a value of the finished run, by name:

- `NAME`: an output of the pipeline (the value of an output parameter; an output
  artifact's URI), else a parameter the run was given;
- `TASK/NAME`: an output parameter (or artifact URI) of one of its top-level tasks.

The store keeps no pipeline outputs of a run: they are read back here from its spec's
`dag.outputs` and the executions of the tasks that produced them, as the engine reads them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from conveyor.automation.errors import AutomationUsageError
from conveyor.automation.trigger_records import TriggerEvent
from conveyor.store.metadata import MetadataStore, RunDetail, RunRecord, RunStatus

ENDED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
_KEYS = {"pipeline", "states", "parameters"}


def check(event: Any, field: str = "event") -> dict[str, Any]:
    """The settings as stored (`states` defaults to SUCCEEDED); `AutomationUsageError`
    naming the field otherwise. Whether the pipeline run takes the mapped parameters is
    the request's check."""
    if not isinstance(event, dict) or set(event) - _KEYS:
        raise AutomationUsageError(
            f"{field}: a run_finished trigger takes 'pipeline', and optionally 'states' and "
            "'parameters'"
        )
    pipeline = event.get("pipeline")
    if not isinstance(pipeline, str) or not pipeline.strip():
        raise AutomationUsageError(
            f"{field}.pipeline: name the pipeline whose runs to follow, as runs record it "
            "(`conveyor runs list` shows the names)"
        )
    states = event.get("states") or [RunStatus.SUCCEEDED.value]
    ended = [s.value for s in ENDED]
    if not isinstance(states, list) or not all(s in ended for s in states):
        raise AutomationUsageError(f"{field}.states: a list among {', '.join(ended)}")
    mapping = event.get("parameters") or {}
    if not isinstance(mapping, dict) or not all(
        isinstance(v, str) and v.strip() for v in mapping.values()
    ):
        raise AutomationUsageError(
            f"{field}.parameters: map each parameter of the pipeline to run to an output "
            'of the finished run, such as {"data": "prepared"}'
        )
    return {"pipeline": pipeline, "states": sorted(set(states)), "parameters": mapping}


def scan(
    event: dict[str, Any], store: MetadataStore, since: datetime, after: datetime
) -> list[RunRecord]:
    """The runs of the pipeline started since `since` that ended after `after` in one of
    the states, by end time."""
    runs = [
        run
        for run in store.list_runs(pipeline=event["pipeline"], since=since)
        if run.status.value in event["states"] and run.ended_at and run.ended_at >= after
    ]
    return sorted(runs, key=lambda run: run.ended_at or after)


def occurrence(run: RunRecord) -> str:
    return f"run:{run.run_id}"


def to_event(event: dict[str, Any], run: RunDetail) -> TriggerEvent:
    """The event of a finished run: the values it gives, or why it cannot give them."""
    details = {"pipeline": run.pipeline_name, "run_id": run.run_id, "state": run.status.value}
    found = values(run)
    parameters, missing = {}, []
    for name, source in event["parameters"].items():
        if source in found:
            parameters[name] = found[source]
        elif source in run.parameters:
            parameters[name] = run.parameters[source]
        else:
            missing.append(source)
    if missing:
        known = sorted({*found, *run.parameters})
        failure = (
            f"run {run.run_id} has no output or parameter {missing[0]!r} to map "
            f"(it has: {', '.join(known) or 'none'})"
        )
        return TriggerEvent(occurrence(run), details, failure=failure)
    return TriggerEvent(occurrence(run), details, parameters)


def values(run: RunDetail) -> dict[str, Any]:
    """What a run produced, by name: its pipeline outputs (`NAME`) and its top-level
    tasks' outputs (`TASK/NAME`); an artifact by its URI (a list of them for a list)."""
    tasks = {e.task_key: e for e in run.executions}
    found: dict[str, Any] = {}
    for execution in tasks.values():
        if "/" in execution.task_key:
            continue  # inside a loop or a condition: reached through its DAG's outputs
        for name, value in execution.output_parameters.items():
            found[f"{execution.task_key}/{name}"] = value
        for name, artifacts in execution.outputs.items():
            found[f"{execution.task_key}/{name}"] = _uris(artifacts)
    root = (run.spec or {}).get("root", {})
    outputs = root.get("dag", {}).get("outputs", {})
    for name, source in outputs.get("parameters", {}).items():
        selectors = (
            [source["valueFromParameter"]]
            if "valueFromParameter" in source
            else source.get("valueFromOneof", {}).get("parameterSelectors", [])
        )
        for ref in selectors:
            produced = tasks.get(ref["producerSubtask"])
            if produced is not None and ref["outputParameterKey"] in produced.output_parameters:
                found[name] = produced.output_parameters[ref["outputParameterKey"]]
                break
    listed = root.get("outputDefinitions", {}).get("artifacts", {})
    for name, source in outputs.get("artifacts", {}).items():
        for ref in source.get("artifactSelectors", []):
            produced = tasks.get(ref["producerSubtask"])
            artifacts = produced.outputs.get(ref["outputArtifactKey"]) if produced else None
            if artifacts:
                uris = [a.uri for a in artifacts]
                found[name] = uris if listed.get(name, {}).get("isArtifactList") else uris[0]
                break
    return found


def _uris(artifacts: list[Any]) -> str | list[str]:
    uris = [a.uri for a in artifacts]
    return uris[0] if len(uris) == 1 else uris
