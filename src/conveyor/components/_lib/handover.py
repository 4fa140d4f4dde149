"""Hand-over to the production side: fetch the production version, upload, deploy.

Everything here goes through `conveyor.client.Client`, opened on the Conveyor
home of the task (`CONVEYOR_HOME`, which the workers inherit from the run).

How a model folder (models.py) is registered:

    framework     model_info.json's `framework` (sklearn, xgboost, lightgbm)
    input schema  schema.json, in model order
    trusted       only when skops needs trust to load model.skops, and then only for
                  types of scikit-learn, XGBoost, LightGBM, NumPy and SciPy (what the
                  training components could have saved); anything else is refused

An evaluation document (metrics.py) becomes registry evaluations: the overall
metrics, and one evaluation per slice (slices of missing values, which the
registry cannot name, are left out).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.components._lib import files, models
from conveyor.components._lib.errors import ComponentError

if TYPE_CHECKING:
    from conveyor.client import Client

PRODUCTION = "production"


def client() -> Client:
    """A client of the task's home (the settings the run gave the task); use it in a `with`
    block, which gives its connections back."""
    from conveyor.client import Client

    return Client()


# Registration settings


@dataclass(frozen=True)
class Registration:
    """How a model folder is registered and loaded by the serving runtime."""

    framework: str
    input_schema: list[dict[str, Any]]
    trusted: bool
    trusted_types: list[str]
    info: dict[str, Any]


def registration(folder: str | Path) -> Registration:
    """The framework, input schema and trust a model folder is registered with."""
    folder = Path(folder)
    if not models.exists(folder):
        raise ComponentError(
            f"{folder} holds no model file ({', '.join(models.MODEL_FILES.values())}): give "
            "the model output of train_model or tune_model"
        )
    info_file, schema_file = folder / models.INFO_FILE, folder / models.SCHEMA_FILE
    for needed in (info_file, schema_file):
        if not needed.exists():
            raise ComponentError(
                f"the model at {folder} has no {needed.name}: train it with train_model or "
                "tune_model, which write it"
            )
    info = files.read_json(info_file, "model info")
    framework = info.get("framework")
    if framework not in models.MODEL_FILES:
        raise ComponentError(f"the model at {folder} has unknown framework {framework!r}")
    schema = files.read_json(schema_file, "model schema")
    if isinstance(schema, dict) and "features" in schema:
        schema = schema["features"]
    untrusted: list[str] = []
    if framework == "sklearn":
        import skops.io as sio

        try:
            untrusted = sorted(sio.get_untrusted_types(file=folder / models.SKOPS))
        except Exception as exc:  # a damaged file: zipfile, JSON and skops errors alike
            raise ComponentError(
                f"{folder / models.SKOPS} cannot be read as a skops file: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        refused = [t for t in untrusted if t.split(".")[0] not in models.TRUSTED_MODULES]
        if refused:
            raise ComponentError(
                f"{folder / models.SKOPS} holds types from outside scikit-learn, XGBoost and "
                f"LightGBM: {', '.join(refused)}; such a model is not marked trusted "
                "automatically: review it and register it with `conveyor models upload "
                "--trusted`"
            )
    return Registration(framework, schema, bool(untrusted), untrusted, info)


# The production version


@dataclass
class Fetched:
    found: bool
    reference: str
    metadata: dict[str, Any] = field(default_factory=dict)
    message: str = ""


def fetch(model_name: str, alias: str, model_path: str, evaluation_path: str) -> Fetched:
    """Copy the version holding `alias` into `model_path` and its evaluation into
    `evaluation_path`; when no version holds it, an empty folder and an empty file."""
    with client() as conveyor:
        found = conveyor.find_model_version(f"{model_name}@{alias}")
        evaluation = Path(evaluation_path)
        evaluation.parent.mkdir(parents=True, exist_ok=True)
        if found is None:
            Path(model_path).mkdir(parents=True, exist_ok=True)
            evaluation.write_text("")
            return Fetched(
                False,
                "",
                {"found": False, "model_name": model_name, "alias": alias},
                f"no version of {model_name!r} holds {alias!r}: an empty Model (no baseline; the "
                "first model is blessed on value thresholds alone)",
            )
        version = conveyor.copy_model(found.reference, model_path)
        document = evaluation_document(conveyor.list_model_evaluations(version.reference))
        if document is None:
            evaluation.write_text("")
        else:
            files.write_json({**document, "model": version.reference}, evaluation)
        info_file = Path(model_path) / models.INFO_FILE
        info = files.read_json(info_file, "model info") if info_file.exists() else {}
        metadata = {
            **info,
            "found": True,
            "model_name": model_name,
            "alias": alias,
            "registered_version": version.reference,
            "version_id": version.version_id,
            "registered_uri": version.artifact_uri,
            "sha256": version.sha256,
        }
        evaluated = "with its evaluation" if document else "without a recorded evaluation"
        return Fetched(
            True, version.reference, metadata, f"{alias}: {version.reference}, {evaluated}"
        )


def evaluation_document(evaluations: list[Any]) -> dict[str, Any] | None:
    """The newest overall metrics and the newest metrics of each slice, as an evaluation
    document (`{"metrics": ..., "slices": [...]}`); None when there are no overall ones."""
    overall = [e for e in evaluations if not e.slice]
    if not overall:
        return None
    slices: dict[str, dict[str, Any]] = {}
    for e in evaluations:
        if e.slice:
            slices[repr(sorted(e.slice.items()))] = {"slice": e.slice, "metrics": e.metrics}
    return {"metrics": overall[-1].metrics, "slices": list(slices.values())}


# Upload


@dataclass
class Uploaded:
    reference: str
    version_id: int
    message: str


def upload(
    model_path: str,
    model_uri: str,
    model_name: str,
    *,
    aliases: list[str] | None,
    labels: dict[str, Any] | None,
    description: str,
    evaluation_path: str | None,
    run_id: str,
) -> Uploaded:
    """Register a blessed model folder as the next version of `model_name`, with its
    evaluation attached."""
    settings = registration(model_path)
    document = None
    if evaluation_path is not None and _has_content(Path(evaluation_path)):
        document = files.read_json(evaluation_path, "evaluation")
    info = settings.info
    described = description or (
        f"{info.get('estimator', 'model')} trained on {info.get('training_rows', '?')} rows"
    )
    comment = f"blessed; uploaded by run {run_id}" if run_id else "blessed"
    with client() as conveyor:
        version = conveyor.upload_model(
            model_name,
            model_uri,
            framework=settings.framework,
            description=described,
            labels={str(k): str(v) for k, v in (labels or {}).items()},
            input_schema=settings.input_schema,
            aliases=list(aliases or []),
            trusted=settings.trusted,
            run_id=run_id or None,
            comment=comment,
        )
        attached = 0
        if document is not None:
            evaluated_by = run_id or version.run_id
            for metrics, slice in evaluations_of(document):
                conveyor.add_model_evaluation(
                    version.reference, metrics, slice=slice, run_id=evaluated_by
                )
                attached += 1
        held = ", ".join(sorted(conveyor.get_model_version(version.reference).aliases))
        trust = (
            f"; trusted for {len(settings.trusted_types)} skops types" if settings.trusted else ""
        )
        message = f"UPLOADED {version.reference} (aliases: {held or 'none'}; {attached} evaluations{trust})"
        return Uploaded(version.reference, version.version_id, message)


def evaluations_of(document: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """The (metrics, slice) pairs an evaluation document holds: overall first."""
    found: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    metrics = {k: v for k, v in (document.get("metrics") or {}).items() if v is not None}
    if metrics:
        found.append((metrics, None))
    for entry in document.get("slices") or []:
        slice = entry.get("slice") or {}
        values = {k: v for k, v in (entry.get("metrics") or {}).items() if v is not None}
        if slice and values and all(v is not None for v in slice.values()):
            found.append((values, dict(slice)))
    return found


def _has_content(path: Path) -> bool:
    if path.is_dir():
        return any(path.glob("*.json"))
    return path.is_file() and path.stat().st_size > 0


# Deployment


@dataclass
class Deployed:
    deployed_model_id: str
    serving: str
    message: str


STRATEGIES = ("direct", "canary", "shadow")


@dataclass
class RolloutOptions:
    """How a rollout judges the candidate (docs/delivery.md); 0 leaves a check out."""

    steps: list[int] | None
    interval_seconds: float
    max_error_rate: float
    max_p99_ms: float
    min_requests: int
    min_agreement: float
    failure_limit: int

    def criteria(self) -> dict[str, Any]:
        return {
            "max_error_rate": self.max_error_rate,
            "max_p99_ms": self.max_p99_ms or None,
            "min_requests": self.min_requests,
            "min_agreement": self.min_agreement or None,
        }


def deploy(
    endpoint: str,
    model: str,
    *,
    follow_alias: str,
    traffic_percentage: int,
    traffic_split: dict[str, Any] | None,
    pin: bool,
    create_endpoint: bool,
    endpoint_description: str,
    strategy: str = "direct",
    rollout: RolloutOptions | None = None,
) -> Deployed:
    """Deploy a model reference to an endpoint (made when missing), or keep the deployment
    already serving the same thing; apply the traffic asked for. With a `canary` or
    `shadow` strategy, start a rollout of the version from the endpoint's stable model
    instead, when there is one to start from."""
    if strategy not in STRATEGIES:
        raise ComponentError(f"strategy {strategy!r} is not one of: {', '.join(STRATEGIES)}")
    if not model:
        return Deployed("", "", "NOT DEPLOYED: no model version was given (nothing uploaded)")
    if strategy != "direct":
        assert rollout is not None
        with client() as conveyor:
            started = _roll_out(conveyor, endpoint, model, strategy, follow_alias, rollout)
        if started is not None:
            return started
    with client() as conveyor:
        reference = model
        notes = []
        if follow_alias:
            name = model.partition("@")[0]
            target = conveyor.get_model_version(model)
            holder = conveyor.find_model_version(f"{name}@{follow_alias}")
            if holder is None:
                raise ComponentError(
                    f"no version of {name!r} holds alias {follow_alias!r}, which the deployment "
                    f"should follow; upload {model} with aliases=[{follow_alias!r}]"
                )
            if holder.version_id != target.version_id:
                notes.append(f"{follow_alias} is on {holder.reference} now, not {target.reference}")
            reference = f"{name}@{follow_alias}"
        split = _whole_numbers(traffic_split)
        percentage = None if traffic_percentage < 0 else int(traffic_percentage)
        found = conveyor.find_endpoint(endpoint)
        if found is None:
            if not create_endpoint:
                raise ComponentError(
                    f"there is no endpoint {endpoint!r}; create it (`conveyor endpoints create "
                    f"{endpoint}`) or let the component create it (create_endpoint=True)"
                )
            found = conveyor.create_endpoint(endpoint, description=endpoint_description or None)
            notes.append(f"created endpoint {endpoint}")
        existing = _same_deployment(conveyor, found, reference, pin)
        if existing is None:
            deployed = conveyor.deploy(
                endpoint, reference, traffic_percentage=percentage, traffic_split=split, pin=pin
            )
            deployed_id, verb = deployed.id, "DEPLOYED"
        else:
            deployed_id, verb = existing.id, "ALREADY DEPLOYED"
            if split is not None:
                split = {existing.id if k == "0" else k: v for k, v in split.items()}
                conveyor.set_traffic(endpoint, split)
            elif percentage is not None:
                conveyor.set_traffic(
                    endpoint, deployed_model_id=existing.id, traffic_percentage=percentage
                )
        now = conveyor.get_endpoint(endpoint)
        record = now.deployed_model(deployed_id)
        assert record is not None
        serving = f"{record.model}@{record.version_id}" if record.version_id else ""
        how = f"following {record.alias}" if record.alias else "pinned"
        text = (
            f"{verb} {record.reference} to endpoint {endpoint} as deployed model {deployed_id} "
            f"({how}; serving {serving or 'nothing: the alias is gone'}); traffic "
            + ", ".join(f"{k}: {v}%" for k, v in now.traffic_split.items())
        )
        if notes:
            text += " [" + "; ".join(notes) + "]"
        return Deployed(deployed_id, serving, text)


def _roll_out(
    conveyor: Client,
    endpoint: str,
    model: str,
    strategy: str,
    alias: str,
    options: RolloutOptions,
) -> Deployed | None:
    """Start a rollout of `model` on `endpoint`; None when there is no stable model to
    start from (nothing deployed yet: the version goes to `alias` and is deployed as
    usual)."""
    target = conveyor.get_model_version(model)
    pinned = f"{target.model}@{target.version_id}"
    found = conveyor.find_endpoint(endpoint)
    serving = [d for d in found.deployed_models if d.traffic_percentage] if found else []
    if not serving:
        if alias:
            conveyor.home.registry.set_alias(
                target.model, alias, target.version_id, comment="first deployment: no rollout"
            )
        return None
    current = conveyor.current_rollout(endpoint)
    if current is not None and current.candidate == pinned:
        return Deployed(
            current.candidate_deployed_model_id or "",
            pinned,
            f"ROLLOUT {current.id} OF {pinned} ALREADY IN PROGRESS on endpoint {endpoint} "
            f"({current.state.value}): not started again",
        )
    if any(d.version_id == target.version_id and d.model == target.model for d in serving):
        return Deployed(
            serving[0].id, pinned, f"ALREADY DEPLOYED {pinned} on endpoint {endpoint}: no rollout"
        )
    started = conveyor.start_rollout(
        endpoint,
        pinned,
        strategy=strategy,
        steps=(options.steps or [10, 50, 100]) if strategy == "canary" else None,
        interval_seconds=options.interval_seconds,
        criteria=options.criteria(),
        failure_limit=options.failure_limit,
        alias=alias or None,
    )
    where = (
        f"step 1 of {len(started.steps)} at {started.weight}%"
        if strategy == "canary"
        else "mirroring the stable model's traffic"
    )
    message = (
        f"ROLLOUT {started.id} STARTED: {pinned} ({strategy}) on endpoint {endpoint} as "
        f"deployed model {started.candidate_deployed_model_id}, {where}; the server serving "
        f"{endpoint} judges it every {options.interval_seconds:g}s"
        + (f" and moves {alias} to it when promoted" if alias else "")
    )
    return Deployed(started.candidate_deployed_model_id or "", pinned, message)


def _same_deployment(conveyor: Client, endpoint: Any, reference: str, pin: bool) -> Any:
    """The deployed model of `endpoint` that already serves what `reference` names."""
    name, _, selector = reference.partition("@")
    alias: str | None = None
    version: int | None = None
    if selector.isdigit():
        version = int(selector)
    elif pin:
        version = conveyor.get_model_version(reference).version_id
    else:
        alias = selector or "default"
    for d in endpoint.deployed_models:
        if d.model != name:
            continue
        if alias is not None and d.alias == alias:
            return d
        if version is not None and d.alias is None and d.deployed_version == version:
            return d
    return None


def _whole_numbers(split: dict[str, Any] | None) -> dict[str, int] | None:
    """A traffic split from a KFP dict parameter, whose numbers arrive as floats."""
    if split is None:
        return None
    whole = {}
    for key, value in split.items():
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        whole[str(key)] = value
    return whole
