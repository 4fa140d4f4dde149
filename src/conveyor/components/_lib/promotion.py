"""A promotion run from a pipeline (promote_model): a version through another environment's
gates, and a refusal as an outcome the pipeline branches on.

The promotion goes through `conveyor.client.Client.promote`, from the task's home (the
run's environment) to an environment of `conveyor.toml`, as `conveyor models promote`
does. What the task reports in its `gates` artifact (one JSON file): the promotion as
`conveyor models promote --json` prints it (`source_env`, `model`, `version`, `sha256`,
`target_env`, `target_version`, `alias`, `gates`, `promoted`, `passed`, `dry_run`,
`already`, `target_aliases`), plus `refused` (a gate failed) and `reason` (one sentence).

A refusal is an outcome, not a failure, unless the pipeline asks (`fail_on_refusal`); so
is a version promoted there before (`already`: a pipeline run again). Anything else that
stops the promotion (an unknown environment, a gate naming a metric the version has no
evaluation of) fails the task.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.components._lib.errors import ComponentError
from conveyor.errors import ConveyorError

if TYPE_CHECKING:
    from conveyor.client import Client, Promotion


@dataclass(frozen=True)
class Promoted:
    """A promotion as the component reports it."""

    promoted: bool
    target_version: str
    """The version in the target (`churn@5`): the new one, or the one it already is; ""
    when neither."""
    refused: bool
    """A gate failed (on a dry run too: it would be refused)."""
    document: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    """What the task's log shows: a line per gate, then the verdict."""
    already: bool = False
    """The version was promoted to the target before: nothing moved."""


def client() -> Client:
    """A client of the task's home (as handover.client, without the model libraries that
    module loads)."""
    from conveyor.client import Client

    return Client()


def promote(model_version: str, to_env: str, alias: str = "", dry_run: bool = False) -> Promoted:
    """Promote `model_version` from the task's environment to `to_env`; a refusal comes back
    with every verdict, anything else that stops it as a `ComponentError`."""
    from conveyor.client import PromotionRefused

    if not to_env.strip():
        raise ComponentError(
            "to_env: name the environment of conveyor.toml to promote to (`conveyor env list`)"
        )
    if not model_version.strip():
        reason = "no model version was given (nothing uploaded)"
        document = {
            "promoted": False,
            "already": False,
            "passed": False,
            "refused": False,
            "reason": reason,
        }
        return Promoted(False, "", False, document, [f"NOT PROMOTED: {reason}"])
    with client() as conveyor:
        try:
            done = conveyor.promote(
                model_version, to_env=to_env, alias=alias or None, dry_run=dry_run
            )
        except PromotionRefused as refused:
            done = refused.promotion
        except ConveyorError as exc:  # bad usage, an unknown version or environment
            raise ComponentError(f"cannot promote {model_version} to {to_env}: {exc}") from exc
    return _outcome(done)


def write(promoted: Promoted, path: str) -> None:
    """The gates artifact: the promotion's JSON document."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(promoted.document, indent=2) + "\n")


def stop_on_refusal(promoted: Promoted) -> None:
    """Fail the task when a gate refused the version (`fail_on_refusal`)."""
    if promoted.refused:
        raise ComponentError(
            f"{promoted.document['reason']} (the task fails because fail_on_refusal is set)"
        )


def _outcome(p: Promotion) -> Promoted:
    source = f"{p.source_env} {p.model}@{p.version}"
    there = p.promoted or p.already
    target = f"{p.target_model}@{p.target_version}" if there else ""
    failed = [g for g in p.gates if not g.passed]
    if p.already:
        held = f" [{', '.join(p.target_aliases)}]" if p.target_aliases else ""
        verdict = "ALREADY PROMOTED"
        reason = f"{source} is {p.target_env} {target}{held}; nothing moved"
    elif p.promoted:
        held = f" [{p.alias}]" if p.alias else ""
        verdict = "PROMOTED"
        reason = f"{source} promoted to {p.target_env} as {target}{held} (sha256 {p.sha256[:12]})"
    elif p.dry_run:
        verdict = "DRY RUN"
        would = "would be promoted" if p.passed else "would be refused"
        reason = f"{source} {would} to {p.target_env}; nothing moved"
    else:
        verdict = "NOT PROMOTED"
        reason = f"promotion of {source} to {p.target_env} refused: " + "; ".join(
            f"{g.name}: {g.detail}" for g in failed
        )
    lines = [f"  {'PASS' if g.passed else 'FAIL'} {g.name}: {g.detail}" for g in p.gates]
    if not lines and not p.already:
        lines = [f"  {p.target_env} declares no gates"]
    document = {**p.to_json(), "refused": bool(failed), "reason": reason}
    return Promoted(
        p.promoted, target, bool(failed), document, [*lines, f"{verdict}: {reason}"], p.already
    )
