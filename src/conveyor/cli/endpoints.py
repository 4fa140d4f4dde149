"""`conveyor endpoints`: prediction endpoints from the command line; thin calls to `Endpoints`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from conveyor.cli import rollouts
from conveyor.cli._output import JsonOption, out, print_json, print_table, when
from conveyor.cli._params import LabelOption, parse_labels
from conveyor.errors import UsageError

if TYPE_CHECKING:
    from conveyor.remote.endpoints import RemoteEndpoints
    from conveyor.serving.endpoints import Endpoints
    from conveyor.serving.records import DeployedModel, Endpoint

app = typer.Typer(
    name="endpoints",
    help="Prediction endpoints: create them, deploy model versions with a traffic split.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: rich's renderer alone takes ~0.2 s to import
)

SplitOption = Annotated[
    list[str],
    typer.Option(
        "--traffic-split",
        "-s",
        help="The whole split, one ID=PERCENT per deployed model (0 is the new one).",
    ),
]


@contextmanager
def _endpoints() -> Iterator[Endpoints | RemoteEndpoints]:
    """The endpoints of the environment, through the client: its home's, or its server's
    over REST when it has a server_url (imported when used: `conveyor --help` stays
    quick)."""
    from conveyor.client import Client

    with Client() as client:
        yield client.home.endpoints


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="The endpoint's name: lowercase, digits and '-'.")],
    description: Annotated[str | None, typer.Option(help="What the endpoint serves.")] = None,
    label: LabelOption = [],  # noqa: B006 (typer reads the default)
    log_sample_rate: Annotated[
        float | None,
        typer.Option(help="Share of requests written to the prediction log, 0 to 1."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an endpoint; it serves nothing until a model is deployed to it.

    Example: conveyor endpoints create churn-prod --description "churn scores" --label team=growth --log-sample-rate 0.1
    """
    labels = parse_labels(label)
    with _endpoints() as endpoints:
        endpoint = endpoints.create(
            name, description=description, labels=labels, log_sample_rate=log_sample_rate
        )
    if as_json:
        print_json(endpoint.to_json())
    else:
        out.print(f"Created endpoint {endpoint.name}", markup=False)


@app.command("list")
def list_endpoints(as_json: JsonOption = False) -> None:
    """List the endpoints with what they serve and their traffic split.

    Example: conveyor endpoints list --json
    """
    with _endpoints() as endpoints:
        found = endpoints.list()
    if as_json:
        print_json([e.to_json() for e in found])
        return
    if not found:
        out.print("No endpoints yet: `conveyor endpoints create NAME` makes one.")
        return
    table = Table("NAME", "SERVES (DEPLOYED MODEL: MODEL, TRAFFIC)", "UPDATED (UTC)", box=None)
    for e in found:
        serves = ", ".join(
            f"{d.id}: {_serves(d)} {d.traffic_percentage}%" for d in e.deployed_models
        )
        table.add_row(e.name, serves or "-", when(e.updated_at))
    print_table(table)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="The endpoint.")],
    as_json: JsonOption = False,
) -> None:
    """Show an endpoint, its deployed models, its traffic split and its rollout.

    Example: conveyor endpoints show churn-prod
    """
    from conveyor.client import Client

    with Client() as client:
        endpoint = client.home.endpoints.get(name)
        current = client.home.rollouts.current(name)
    if as_json:
        print_json({**endpoint.to_json(), "rollout": current and current.to_json()})
        return
    _show(endpoint)
    if current is not None:
        out.print(f"  {rollouts.describe(current)}", markup=False)


@app.command()
def deploy(
    endpoint: Annotated[str, typer.Argument(help="The endpoint.")],
    model: Annotated[
        str,
        typer.Argument(
            help="MODEL@VERSION (pinned), MODEL@ALIAS or MODEL (follows the alias, or default)."
        ),
    ],
    traffic_percentage: Annotated[
        int | None,
        typer.Option(
            help="The new model's share; the others are scaled down to share the rest "
            "(default: 100 for the first model, else 0)."
        ),
    ] = None,
    traffic_split: SplitOption = [],  # noqa: B006 (typer reads the default)
    pin: Annotated[
        bool, typer.Option("--pin", help="Serve the version the alias names now; do not follow it.")
    ] = False,
    shadow_of: Annotated[
        str | None,
        typer.Option(
            "--shadow-of",
            metavar="ID",
            help="Deploy as a shadow of deployed model ID: no traffic, a copy of ID's "
            "requests, answers logged and compared, never returned.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Deploy a model version to an endpoint, with a share of its traffic.

    A version named by alias follows the alias: a running server switches to the version
    the alias moves to. The version must load (checksums, trust) to be deployed.

    Example: conveyor endpoints deploy churn-prod churn@production --traffic-percentage 10
    """
    split = _split(traffic_split)
    with _endpoints() as endpoints:
        deployed = endpoints.deploy(
            endpoint,
            model,
            traffic_percentage=traffic_percentage,
            traffic_split=split,
            pin=pin,
            shadow_of=shadow_of,
        )
        after = endpoints.get(endpoint)
    if as_json:
        print_json({**deployed.to_json(), "traffic_split": after.traffic_split})
        return
    mirrors = f", a shadow of {deployed.shadow_of}" if deployed.shadow_of else ""
    out.print(
        f"Deployed {_serves(deployed)} to {endpoint} as deployed model {deployed.id}{mirrors}; "
        f"traffic: {_split_text(after.traffic_split)}",
        markup=False,
    )


@app.command()
def undeploy(
    endpoint: Annotated[str, typer.Argument(help="The endpoint.")],
    deployed_model_id: Annotated[
        str, typer.Argument(help="The deployed model's id (`conveyor endpoints show`).")
    ],
    traffic_split: SplitOption = [],  # noqa: B006 (typer reads the default)
    as_json: JsonOption = False,
) -> None:
    """Stop serving a deployed model; its traffic goes to the others in proportion.

    Example: conveyor endpoints undeploy churn-prod 1
    """
    split = _split(traffic_split)
    with _endpoints() as endpoints:
        after = endpoints.undeploy(endpoint, deployed_model_id, traffic_split=split)
    if as_json:
        print_json(after.to_json())
    else:
        out.print(
            f"Undeployed {deployed_model_id} from {endpoint}; traffic: "
            f"{_split_text(after.traffic_split)}",
            markup=False,
        )


@app.command()
def traffic(
    endpoint: Annotated[str, typer.Argument(help="The endpoint.")],
    split: Annotated[list[str], typer.Argument(help="ID=PERCENT for each deployed model.")],
    as_json: JsonOption = False,
) -> None:
    """Set an endpoint's traffic split; the percentages must add up to 100.

    Example: conveyor endpoints traffic churn-prod 1=50 2=50
    """
    wanted = _split(split)
    with _endpoints() as endpoints:
        after = endpoints.set_traffic(endpoint, wanted or {})
    if as_json:
        print_json(after.to_json())
    else:
        out.print(f"{endpoint} traffic: {_split_text(after.traffic_split)}", markup=False)


@app.command()
def delete(
    name: Annotated[str, typer.Argument(help="The endpoint; nothing may be deployed to it.")],
    as_json: JsonOption = False,
) -> None:
    """Delete an endpoint that serves nothing.

    Example: conveyor endpoints delete churn-staging
    """
    with _endpoints() as endpoints:
        endpoints.delete(name)
    if as_json:
        print_json({"deleted": name})
    else:
        out.print(f"Deleted endpoint {name}", markup=False)


# Helpers


def _pairs(values: list[str], option: str, form: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{option} takes {form}, got {item!r}")
        found[key] = value
    return found


def _split(values: list[str]) -> dict[str, int] | None:
    if not values:
        return None
    split: dict[str, int] = {}
    for key, value in _pairs(values, "the traffic split", "ID=PERCENT").items():
        if not value.strip().isdigit():
            raise UsageError(
                f"the traffic split takes ID=PERCENT with a whole number, got {key}={value}"
            )
        split[key] = int(value)
    return split


def _serves(d: DeployedModel) -> str:
    if d.alias is None:
        return d.reference
    now = f"version {d.version_id}" if d.version_id is not None else "alias gone"
    return f"{d.reference} ({now})"


def _split_text(split: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}%" for k, v in split.items()) or "none"


def _show(e: Endpoint) -> None:
    out.print(f"Endpoint {e.name}", style="bold", markup=False)
    rows = [
        ("description", e.description or ""),
        ("labels", ", ".join(f"{k}={v}" for k, v in e.labels.items())),
        (
            "prediction log",
            "server default" if e.log_sample_rate is None else f"{e.log_sample_rate:g} of requests",
        ),
        ("created", f"{when(e.created_at)} UTC by {e.created_by}"),
        ("updated", f"{when(e.updated_at)} UTC (generation {e.generation})"),
    ]
    for key, value in rows:
        if value:
            out.print(f"  {key + ':':<15} {value}", markup=False)
    if not e.deployed_models:
        out.print("  nothing deployed (`conveyor endpoints deploy` deploys a model)", markup=False)
        return
    table = Table("ID", "MODEL", "SERVING", "TRAFFIC", "DEPLOYED (UTC)", "BY", box=None)
    for d in e.deployed_models:
        serving = str(d.version_id) if d.version_id is not None else "- (alias gone)"
        follows = f" (follows {d.alias})" if d.alias else " (pinned)"
        table.add_row(
            d.id,
            d.reference,
            f"version {serving}{follows}",
            f"shadow of {d.shadow_of}" if d.shadow_of else f"{d.traffic_percentage}%",
            when(d.deployed_at),
            d.deployed_by,
        )
    print_table(table)


# Rollouts (conveyor.cli.rollouts)

for _command in (
    rollouts.rollout,
    rollouts.rollouts,
    rollouts.pause,
    rollouts.resume,
    rollouts.abort,
):
    app.command()(_command)
