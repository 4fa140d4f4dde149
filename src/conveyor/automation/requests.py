"""What a schedule or a trigger fires: a pipeline run or a model monitoring job, checked when
it is written and resolved when it fires.

One request resource for both, as Vertex AI's `Schedule` holds either a
`CreatePipelineJobRequest` or a `CreateModelMonitoringJobRequest`:

    {"pipeline_job": {"pipeline": "churn-train@prod", "parameters": {"epochs": 3},
                      "enable_caching": None}}
    {"model_monitoring_job": {"monitor": "churn-drift"}}

A pipeline reference (`NAME`, `NAME@VERSION`, `NAME@TAG`, `NAME@latest`) is kept as written
and resolved again at every fire, so a schedule on `churn-train@prod` follows the tag; the
parameters are checked against the version it names now, and again at the fire.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from conveyor.automation.errors import AutomationUsageError
from conveyor.errors import UsageError
from conveyor.pipelines import validate

if TYPE_CHECKING:
    from conveyor.automation.pipelines import PipelineRegistry
    from conveyor.monitoring.monitors import Monitors

PIPELINE_JOB = "pipeline_job"
MONITORING_JOB = "model_monitoring_job"
_PIPELINE_KEYS = {"pipeline", "parameters", "enable_caching"}


def pipeline_job(
    pipeline: str, parameters: Mapping[str, Any] | None = None, enable_caching: bool | None = None
) -> dict[str, Any]:
    """The request to run `pipeline` (a registered reference) with `parameters`."""
    return {
        PIPELINE_JOB: {
            "pipeline": pipeline,
            "parameters": dict(parameters or {}),
            "enable_caching": enable_caching,
        }
    }


def monitoring_job(monitor: str) -> dict[str, Any]:
    """The request to run a job of `monitor`."""
    return {MONITORING_JOB: {"monitor": monitor}}


def check(
    request: Any,
    pipelines: PipelineRegistry,
    monitors: Monitors | None,
    *,
    field: str = "request",
    extra_parameters: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """`request` as stored, once everything knowable now holds: the pipeline version exists
    and takes the parameters (`extra_parameters` are those an event will give at the fire),
    or the monitor exists. `AutomationUsageError` naming the field otherwise."""
    if not isinstance(request, Mapping) or len(request) != 1:
        raise AutomationUsageError(
            f"{field}: give exactly one of {PIPELINE_JOB!r} or {MONITORING_JOB!r}"
        )
    ((kind, body),) = request.items()
    where = f"{field}.{kind}"
    if not isinstance(body, Mapping):
        raise AutomationUsageError(f"{where}: must be an object")
    if kind == MONITORING_JOB:
        if monitors is None:
            raise AutomationUsageError(f"{where}: this home has no monitors")
        unknown = sorted(set(body) - {"monitor"})
        if unknown or not isinstance(body.get("monitor"), str):
            raise AutomationUsageError(f"{where}: takes one field, 'monitor' (a monitor's name)")
        monitors.get(body["monitor"])  # MonitorNotFound (404) names it
        return monitoring_job(body["monitor"])
    if kind != PIPELINE_JOB:
        raise AutomationUsageError(
            f"{field}: {kind!r} is not a request; give {PIPELINE_JOB!r} or {MONITORING_JOB!r}"
        )
    unknown = sorted(set(body) - _PIPELINE_KEYS)
    if unknown:
        raise AutomationUsageError(f"{where}: unknown field {unknown[0]!r}")
    reference = body.get("pipeline")
    if not isinstance(reference, str) or not reference:
        raise AutomationUsageError(
            f"{where}.pipeline: a registered pipeline (NAME@TAG) is required"
        )
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        raise AutomationUsageError(f"{where}.parameters: must be an object of name to value")
    caching = body.get("enable_caching")
    if caching is not None and not isinstance(caching, bool):
        raise AutomationUsageError(f"{where}.enable_caching: must be true, false or null")
    version = pipelines.resolve(reference)  # PipelineNotFound (404) names it
    check_parameters(
        pipelines, version.reference, parameters, f"{where}.parameters", extra_parameters
    )
    return pipeline_job(reference, parameters, caching)


def check_parameters(
    pipelines: PipelineRegistry,
    reference: str,
    parameters: Mapping[str, Any],
    field: str,
    extra: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The run's parameters bound to the version `reference` names (defaults applied); an
    `AutomationUsageError` naming `field` when they do not fit. Names in `extra` stand for
    values an event gives later."""
    spec = pipelines.spec(reference)
    declared = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    missing_extra = sorted(extra - set(declared))
    if missing_extra:
        raise AutomationUsageError(
            f"{field}: {reference} has no parameter {missing_extra[0]!r} to receive the event"
        )
    given = dict(parameters)
    for name in extra:  # a stand-in of the right kind, for the check only
        given.setdefault(name, _stand_in(declared[name].get("parameterType", "STRING")))
    try:
        return validate.bind_arguments(spec, given, as_text=False)
    except UsageError as error:
        raise AutomationUsageError(f"{field}: {error}") from None


def typed(
    pipelines: PipelineRegistry, reference: str, texts: Mapping[str, str], field: str
) -> dict[str, Any]:
    """Parameters given as text (`-p epochs=3` on the command line) as the values of the
    types the version `reference` names declares."""
    spec = pipelines.spec(reference)
    try:
        bound = validate.bind_arguments(spec, dict(texts), as_text=True)
    except UsageError as error:
        raise AutomationUsageError(f"{field}: {error}") from None
    return {name: bound[name] for name in texts}


def _stand_in(parameter_type: str) -> Any:
    return {
        "NUMBER_INTEGER": 0,
        "NUMBER_DOUBLE": 0.0,
        "BOOLEAN": False,
        "LIST": [],
        "STRUCT": {},
    }.get(parameter_type, "")


def pipeline_of(request: Mapping[str, Any]) -> str | None:
    """The pipeline reference a request runs, None for a monitoring job."""
    body = request.get(PIPELINE_JOB)
    return body["pipeline"] if body else None


def describe(request: Mapping[str, Any]) -> str:
    """One line for tables: `run churn-train@prod` or `monitor churn-drift`."""
    body = request.get(PIPELINE_JOB)
    if body:
        return f"run {body['pipeline']}"
    return f"monitor {request[MONITORING_JOB]['monitor']}"
