"""Hand-over components: the production model as a baseline, upload to the registry, deploy.

They read and change Conveyor's registry and endpoints, which KFP's cache knows
nothing of: turn caching off (`task.set_caching_options(False)`) for
`get_production_model`, whose alias may have moved since an earlier run, and for
`deploy_model`, whose endpoint may have changed. `upload_model` may stay cached: a
cache hit means the same model was uploaded before.
"""
# ruff: noqa: UP045 (kfp 2.17 reads Optional[...], not X | None, in component signatures)

from typing import NamedTuple, Optional

from kfp.dsl import Artifact, Input, Model, Output

from conveyor.components._component import component


@component
def get_production_model(
    model_name: str,
    model: Output[Model],
    evaluation: Output[Artifact],
    alias: str = "production",
) -> NamedTuple("Outputs", [("found", bool), ("model_version", str)]):
    """Fetch the registered version holding an alias, as a baseline for validate_model.

    Args:
        model_name: The registered model.
        model: The version's files (checked against the sha256s recorded at upload); an
            empty folder when no version holds the alias, which validate_model reads as
            "no baseline" (the first model).
        evaluation: The version's recorded evaluation (overall metrics and slices) as an
            evaluation document; an empty file when none was recorded.
        alias: The alias to follow.

    Returns:
        found: Whether a version holds the alias.
        model_version: Its reference (`churn@3`), or "" when none.
    """
    from conveyor.components._lib import handover

    fetched = handover.fetch(model_name, alias, model.path, evaluation.path)
    model.metadata.update(fetched.metadata)
    print(fetched.message)
    return (fetched.found, fetched.reference)


@component
def upload_model(
    model: Input[Model],
    blessed: bool,
    model_name: str,
    aliases: Optional[list] = None,
    labels: Optional[dict] = None,
    description: str = "",
    evaluation: Input[Artifact] = None,
    run_id: str = "",
) -> NamedTuple("Outputs", [("model_version", str), ("version_id", int), ("uploaded", bool)]):
    """Register a blessed model as the next version of a registry model (TFX's Pusher).
    An unblessed model is never uploaded: the task then uploads nothing and says so.

    Args:
        model: The model folder (train_model or tune_model).
        blessed: validate_model's `blessed`: False skips the upload.
        model_name: The registered model (created by its first upload).
        aliases: Aliases to move to the new version, e.g. ["production"].
        labels: Labels of the version (Vertex AI's label rules).
        description: The version's description; default: the estimator and training rows.
        evaluation: evaluate_model's evaluation, attached to the version: overall metrics,
            and one evaluation per slice.
        run_id: The uploading run, recorded with the version and its evaluations (pass
            `dsl.PIPELINE_JOB_NAME_PLACEHOLDER`); empty: the run that wrote the model.

    Returns:
        model_version: The new version's reference (`churn@3`); "" when not uploaded.
        version_id: Its number; 0 when not uploaded.
        uploaded: Whether a version was registered.
    """
    from conveyor.components._lib import handover

    if not blessed:
        print("NOT UPLOADED: the model is not blessed; an unblessed model is never uploaded")
        return ("", 0, False)
    uploaded = handover.upload(
        model.path,
        model.uri,
        model_name,
        aliases=aliases,
        labels=labels,
        description=description,
        evaluation_path=evaluation.path if evaluation is not None else None,
        run_id=run_id,
    )
    print(uploaded.message)
    return (uploaded.reference, uploaded.version_id, True)


@component
def deploy_model(
    endpoint: str,
    model: str,
    follow_alias: str = "",
    traffic_percentage: int = -1,
    traffic_split: Optional[dict] = None,
    pin: bool = False,
    create_endpoint: bool = True,
    endpoint_description: str = "",
    strategy: str = "direct",
    rollout_steps: Optional[list] = None,
    rollout_interval_seconds: float = 300.0,
    max_error_rate: float = 0.01,
    max_p99_ms: float = 0.0,
    min_requests: int = 20,
    min_agreement: float = 0.0,
    failure_limit: int = 2,
) -> NamedTuple("Outputs", [("deployed_model_id", str), ("model_version", str)]):
    """Deploy a registered version to an endpoint, with a traffic split (Vertex AI's
    deployment). A deployment already serving the same thing is kept, not doubled.

    Args:
        endpoint: The endpoint's name (created when missing, see create_endpoint).
        model: `churn@3` (pinned to version 3), `churn@production` or `churn` (follow the
            alias, or `default`), e.g. upload_model's `model_version`. Empty: nothing is
            deployed (an upload that was skipped).
        follow_alias: Deploy the model's alias instead of the version `model` names: the
            endpoint then follows the alias as it moves to later versions.
        traffic_percentage: The new deployment's share, the others scaled to the rest;
            -1: 100 when nothing takes traffic yet, else 0 (Vertex AI's default).
        traffic_split: The whole split instead, deployed model id to percent, "0" for the
            new deployment: {"0": 10, "1": 90}.
        pin: Resolve the alias now and pin the version it names.
        create_endpoint: Create the endpoint when it does not exist; else fail.
        endpoint_description: The description of an endpoint created here.
        strategy: `direct` (deploy now), or `canary` / `shadow`: start a rollout of the
            version from the endpoint's stable model, judged by the server that serves it
            and rolled back on failures; `follow_alias` moves to it when it is promoted
            (docs/delivery.md). With nothing deployed yet there is nothing to compare
            with: the version takes `follow_alias` and is deployed directly.
        rollout_steps: A canary's traffic percentages, rising to 100 (default 10, 50, 100).
        rollout_interval_seconds: How long each analysis window lasts.
        max_error_rate: Largest share of the candidate's requests answered 5xx.
        max_p99_ms: Largest 99th percentile latency of the candidate; 0: not checked.
        min_requests: Requests to the candidate an analysis needs.
        min_agreement: A shadow's least share of predictions equal to the stable model's;
            0: not checked.
        failure_limit: Failed analyses that roll the candidate back.

    Returns:
        deployed_model_id: The deployed model's id ("" when nothing was deployed).
        model_version: The version it serves now (`churn@3`); for a rollout, the candidate.
    """
    from conveyor.components._lib import handover

    deployed = handover.deploy(
        endpoint,
        model,
        follow_alias=follow_alias,
        traffic_percentage=traffic_percentage,
        traffic_split=traffic_split,
        pin=pin,
        create_endpoint=create_endpoint,
        endpoint_description=endpoint_description,
        strategy=strategy,
        rollout=handover.RolloutOptions(
            steps=[int(s) for s in rollout_steps] if rollout_steps else None,
            interval_seconds=rollout_interval_seconds,
            max_error_rate=max_error_rate,
            max_p99_ms=max_p99_ms,
            min_requests=min_requests,
            min_agreement=min_agreement,
            failure_limit=failure_limit,
        ),
    )
    print(deployed.message)
    return (deployed.deployed_model_id, deployed.serving)
