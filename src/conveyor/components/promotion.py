"""The promotion component: a registered version to another environment, through its gates.

The gates judge what KFP's cache knows nothing of (approvals, the target's production
version): turn caching off (`task.set_caching_options(False)`), or a cached run answers
with an old verdict.
"""

from typing import NamedTuple

from kfp.dsl import Artifact, Output

from conveyor.components._component import component


@component
def promote_model(
    model_version: str,
    to_env: str,
    gates: Output[Artifact],
    alias: str = "",
    dry_run: bool = False,
    fail_on_refusal: bool = False,
) -> NamedTuple(
    "Outputs", [("promoted", bool), ("target_version", str), ("already_promoted", bool)]
):
    """Promote a registered version from the run's environment to another environment of
    conveyor.toml, through that environment's gates, as `conveyor models promote` does: the
    files copied and checked by sha256, the origin kept. A refusal is an outcome the
    pipeline branches on, not a failure, unless fail_on_refusal; so is a version promoted
    there before (a pipeline run again): nothing moves, the gates are not judged again.

    Args:
        model_version: The version in the run's environment (`churn@2`, `churn@candidate`),
            e.g. upload_model's `model_version`. Empty: nothing is promoted (an upload
            that was skipped).
        to_env: The environment of conveyor.toml to promote it to (`staging`, `prod`).
        gates: JSON: the promotion (source and target versions, promoted, already, passed)
            with each gate's verdict and figures, and the reason.
        alias: An alias to put on the new version in the target, e.g. "production".
        dry_run: Judge the gates only; copy and record nothing.
        fail_on_refusal: Fail the task when a gate refuses the version (a dry run too).

    Returns:
        promoted: Whether a version was registered in the target; branch on it with
            `dsl.If(task.outputs["promoted"] == True)`.
        target_version: The version's reference in the target (`churn@5`): the new one,
            or the one it already is there; "" when neither.
        already_promoted: Whether the version was promoted to the target before (then
            promoted is False and nothing moved).
    """
    from conveyor.components._lib import promotion

    promoted = promotion.promote(model_version, to_env, alias, dry_run)
    promotion.write(promoted, gates.path)
    gates.metadata.update(
        {
            "promoted": promoted.promoted,
            "already_promoted": promoted.already,
            "refused": promoted.refused,
            "target_version": promoted.target_version,
            "reason": promoted.document["reason"],
        }
    )
    print("\n".join(promoted.lines))
    if fail_on_refusal:
        promotion.stop_on_refusal(promoted)
    return (promoted.promoted, promoted.target_version, promoted.already)
