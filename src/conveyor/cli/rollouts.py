"""`conveyor endpoints rollout|rollouts|pause|resume|abort`: progressive delivery from the
command line; thin calls to the home's `Rollouts` (registered on the endpoints group)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from conveyor.cli._output import JsonOption, out, print_json, print_table, when
from conveyor.errors import UsageError

if TYPE_CHECKING:
    from conveyor.automation.rollout_records import Rollout
    from conveyor.automation.rollouts import Rollouts
    from conveyor.remote.rollouts import RemoteRollouts

WAIT_POLL_SECONDS = 0.5

EndpointArgument = Annotated[str, typer.Argument(help="The endpoint.")]


@contextmanager
def _rollouts() -> Iterator[Rollouts | RemoteRollouts]:
    """The rollouts of the environment, through the client: its home's, or its server's
    over REST when it has a server_url."""
    from conveyor.client import Client

    with Client() as client:
        yield client.home.rollouts


def rollout(
    endpoint: EndpointArgument,
    model: Annotated[
        str, typer.Argument(help="The candidate: MODEL@VERSION (an alias is resolved now).")
    ],
    strategy: Annotated[
        str, typer.Option(help="canary (traffic moves step by step) or shadow (a mirror).")
    ] = "canary",
    steps: Annotated[
        str | None,
        typer.Option(help="Canary: the candidate's percentages, rising to 100 (10,25,50,100)."),
    ] = None,
    interval: Annotated[
        str, typer.Option(help="How long each analysis window lasts: 30s, 5m, 1h.")
    ] = "5m",
    max_error_rate: Annotated[
        str | None,
        typer.Option(help="Largest share of the candidate's requests answered 5xx: 1% or 0.01."),
    ] = "1%",
    max_p99_ms: Annotated[
        float | None, typer.Option(help="Largest 99th percentile latency of the candidate (ms).")
    ] = None,
    min_requests: Annotated[
        int, typer.Option(help="Requests to the candidate an analysis needs (fewer: it waits).")
    ] = 20,
    min_agreement: Annotated[
        str | None,
        typer.Option(help="Shadow: least share of instances predicted as the stable model: 95%."),
    ] = None,
    max_mean_absolute_error: Annotated[
        float | None, typer.Option(help="Shadow: largest mean |candidate - stable| (regression).")
    ] = None,
    failure_limit: Annotated[
        int, typer.Option(help="Failed analyses that roll the candidate back.")
    ] = 2,
    alias: Annotated[
        str | None,
        typer.Option(help="Moved to the candidate at promotion (default: the stable's alias)."),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait", help="Follow the rollout until it ends; exit 1 unless it is promoted."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Roll a model version out to an endpoint: canary steps or a shadow, judged by the
    server's metrics, with automatic rollback.

    The server that serves the endpoint (`conveyor serve`) runs the analysis: every
    interval it judges the candidate's error rate and p99 latency (and, for a shadow, its
    agreement with the stable model); passed, traffic moves to the next step; failed
    --failure-limit times, traffic goes back to the stable model. After the last step the
    alias moves to the candidate, whose version then serves all the traffic.

    Example: conveyor endpoints rollout churn-prod churn@4 --steps 10,25,50,100 --interval 5m --max-error-rate 1% --max-p99-ms 50 --failure-limit 2
    """
    from conveyor.automation.rollout_records import Criteria
    from conveyor.monitoring.specs import parse_duration

    criteria = Criteria(
        max_error_rate=_fraction(max_error_rate, "--max-error-rate"),
        max_p99_ms=max_p99_ms,
        min_requests=min_requests,
        min_agreement=_fraction(min_agreement, "--min-agreement"),
        max_mean_absolute_error=max_mean_absolute_error,
    )
    seconds = parse_duration(interval, "--interval").total_seconds()
    with _rollouts() as rollouts:
        started = rollouts.start(
            endpoint,
            model,
            strategy=strategy,
            steps=_steps(steps),
            interval_seconds=seconds,
            criteria=criteria,
            failure_limit=failure_limit,
            alias=alias,
        )
        if not as_json:
            out.print(
                f"Rollout {started.id} on {endpoint}: {started.candidate} as deployed model "
                f"{started.candidate_deployed_model_id}, {_where(started)}; the server serving "
                f"{endpoint} runs the analysis every {interval}",
                markup=False,
            )
        if wait:
            started = _follow(rollouts, started, quiet=as_json)
    if as_json:
        print_json(started.to_json())
    if wait and started.state.value != "promoted":
        raise typer.Exit(1)


def rollouts(endpoint: EndpointArgument, as_json: JsonOption = False) -> None:
    """List an endpoint's rollouts, newest first.

    Example: conveyor endpoints rollouts churn-prod
    """
    with _rollouts() as found_rollouts:
        found = found_rollouts.list(endpoint)
    if as_json:
        print_json([r.to_json() for r in found])
        return
    if not found:
        out.print(f"No rollouts on {endpoint} yet.", markup=False)
        return
    table = Table(
        "ID", "CANDIDATE", "STRATEGY", "STATE", "STEP", "WEIGHT", "STARTED (UTC)", box=None
    )
    for r in found:
        table.add_row(
            str(r.id),
            r.candidate,
            r.strategy.value,
            r.state.value,
            f"{r.step + 1}/{len(r.steps)}",
            f"{r.weight}%",
            when(r.created_at),
        )
    print_table(table)
    latest = found[0]
    if latest.message:
        out.print(f"Rollout {latest.id}: {latest.message}", markup=False)


def pause(endpoint: EndpointArgument, as_json: JsonOption = False) -> None:
    """Pause the endpoint's rollout: no more analyses; the traffic stays where it is.

    Example: conveyor endpoints pause churn-prod
    """
    with _rollouts() as found:
        _done(found.pause(endpoint), as_json)


def resume(endpoint: EndpointArgument, as_json: JsonOption = False) -> None:
    """Resume the endpoint's paused rollout, from a new analysis window at its step.

    Example: conveyor endpoints resume churn-prod
    """
    with _rollouts() as found:
        _done(found.resume(endpoint), as_json)


def abort(
    endpoint: EndpointArgument,
    reason: Annotated[str | None, typer.Option(help="Why, for the model's history.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Abort the endpoint's rollout: all traffic back to the stable model, the candidate
    undeployed, the alias left where it is.

    Example: conveyor endpoints abort churn-prod --reason "latency spikes in the EU"
    """
    with _rollouts() as found:
        _done(found.abort(endpoint, reason=reason), as_json)


def describe(rollout: Rollout) -> str:
    """One line about a rollout, for `conveyor endpoints show`."""
    return (
        f"rollout {rollout.id} ({rollout.strategy.value}) of {rollout.candidate}: "
        f"{rollout.state.value}, {_where(rollout)}; {rollout.message or ''}"
    ).rstrip("; ")


# Helpers


def _done(rollout: Rollout, as_json: bool) -> None:
    if as_json:
        print_json(rollout.to_json())
    else:
        out.print(describe(rollout), markup=False)


def _where(rollout: Rollout) -> str:
    if rollout.strategy.value == "shadow":
        return "mirroring the stable model's traffic"
    return f"step {rollout.step + 1} of {len(rollout.steps)} at {rollout.weight}%"


def _follow(rollouts: Rollouts | RemoteRollouts, rollout: Rollout, *, quiet: bool) -> Rollout:
    """Print each new analysis until the rollout ends; the rollout as it ended."""
    shown = len(rollout.analyses)
    while True:
        rollout = rollouts.get(rollout.id, endpoint=rollout.endpoint)
        for analysis in rollout.analyses[shown:]:
            if not quiet:
                out.print(
                    f"  step {analysis['step'] + 1} at {analysis['weight']}%: "
                    f"{analysis['message']}",
                    markup=False,
                )
        shown = len(rollout.analyses)
        if not rollout.active:
            if not quiet:
                out.print(
                    f"Rollout {rollout.id} {rollout.state.value}: {rollout.message}", markup=False
                )
            return rollout
        time.sleep(WAIT_POLL_SECONDS)


def _steps(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(
            f"--steps takes whole percentages separated by commas, e.g. 10,25,50,100; got {text!r}"
        ) from None


def _fraction(text: str | None, option: str) -> float | None:
    """`1%` or `0.01` as 0.01; `none` to not check."""
    if text is None or text.strip().lower() == "none":
        return None
    value = text.strip()
    try:
        number = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise UsageError(
            f"{option} takes a percentage (1%) or a fraction (0.01), got {text!r}"
        ) from None
    return number
