"""`conveyor models`: the model registry from the command line; thin calls to `Registry`."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from conveyor.cli._output import JsonOption, err, out, print_json, print_table, rounded, when
from conveyor.cli._params import LabelOption, parse_labels
from conveyor.errors import UsageError
from conveyor.registry.frameworks import Framework
from conveyor.registry.records import (
    Evaluation,
    HistoryAction,
    HistoryEntry,
    Model,
    ModelVersion,
)
from conveyor.registry.references import parse_reference

if TYPE_CHECKING:
    from conveyor.automation.promotion import Promotion
    from conveyor.client import Client
    from conveyor.registry.registry import Registry
    from conveyor.remote.registry import RemoteRegistry

app = typer.Typer(
    name="models",
    help="The model registry: upload versions, move aliases, read the history.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: rich's renderer alone takes ~0.2 s to import
)

CommentOption = Annotated[str | None, typer.Option(help="Why: kept in the model's history.")]


@contextmanager
def _registry() -> Iterator[Registry | RemoteRegistry]:
    """The registry of the environment, through the client: its home's, or its server's
    over REST when it has a server_url (imported when a command runs: `--help` stays
    quick)."""
    from conveyor.client import Client

    with Client() as client:
        yield client.home.registry


@app.command()
def upload(
    name: Annotated[str, typer.Argument(help="The model's name; created by its first upload.")],
    path: Annotated[str, typer.Argument(help="The model folder (or file), a path or a URL.")],
    framework: Annotated[
        Framework, typer.Option(help="What the model was saved with.", case_sensitive=False)
    ],
    alias: Annotated[
        list[str], typer.Option("--alias", "-a", help="An alias to put on the new version.")
    ] = [],  # noqa: B006 (typer reads the default)
    label: LabelOption = [],  # noqa: B006 (typer reads the default)
    description: Annotated[str | None, typer.Option(help="What this version is.")] = None,
    input_schema: Annotated[
        Path | None, typer.Option(help="A JSON file: the features the model takes.")
    ] = None,
    output_schema: Annotated[
        Path | None, typer.Option(help="A JSON file: the outputs the model gives.")
    ] = None,
    trusted: Annotated[
        bool, typer.Option("--trusted", help="Allow pickle formats (joblib, pkl) to load.")
    ] = False,
    run_id: Annotated[str | None, typer.Option(help="The run that trained the model.")] = None,
    execution_id: Annotated[
        int | None, typer.Option(help="The execution (task) that wrote the model.")
    ] = None,
    comment: CommentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a saved model as the next version of NAME.

    The files stay where they are; the sha256 of each is recorded. The first
    version of a model gets the alias default.

    Example: conveyor models upload churn out/model --framework sklearn --alias candidate --label team=growth --input-schema features.json
    """
    with _registry() as registry:
        version = registry.upload(
            name,
            path,
            framework=framework,
            description=description,
            labels=parse_labels(label),
            input_schema=_read_json(input_schema, "--input-schema"),
            output_schema=_read_json(output_schema, "--output-schema"),
            aliases=alias,
            trusted=trusted,
            run_id=run_id,
            execution_id=execution_id,
            comment=comment,
        )
    if version.needs_trust and not version.trusted:
        err.print(
            f"note: {version.model_file} is a pickle; runtimes load it only once the version "
            "is trusted. Upload with --trusted if you trust its source, or save it with skops.",
            markup=False,
        )
    if as_json:
        print_json(version.to_json())
        return
    files = len(version.files)
    out.print(
        f"Registered {version.reference} [{_aliases(version.aliases)}] from "
        f"{version.artifact_uri} ({files} file{'s' if files != 1 else ''}, "
        f"sha256 {version.sha256[:12]})",
        markup=False,
    )


@app.command("list")
def list_models(as_json: JsonOption = False) -> None:
    """List the registered models with their default version and aliases.

    Example: conveyor models list --json
    """
    with _registry() as registry:
        found = registry.list_models()
    if as_json:
        print_json([m.to_json() for m in found])
        return
    if not found:
        out.print("No models yet: `conveyor models upload NAME PATH --framework F` adds one.")
        return
    table = Table("NAME", "VERSIONS", "DEFAULT", "ALIASES", "UPDATED (UTC)", box=None)
    for m in found:
        table.add_row(
            m.name,
            str(m.version_count),
            str(m.default_version or "-"),
            _alias_map(m),
            when(m.updated_at),
        )
    print_table(table)


@app.command()
def show(
    reference: Annotated[str, typer.Argument(help="NAME, NAME@VERSION or NAME@ALIAS.")],
    as_json: JsonOption = False,
) -> None:
    """Show a model and its versions, or one version with its files and evaluations.

    Example: conveyor models show churn@production
    """
    ref = parse_reference(reference)
    with _registry() as registry:
        if ref.names_version:
            version = registry.get_version(reference)
            evaluations = registry.list_evaluations(ref.model, version.version_id)
        else:
            model = registry.get_model(ref.model)
            versions = registry.list_versions(ref.model)
    if ref.names_version:
        if as_json:
            print_json({**version.to_json(), "evaluations": [e.to_json() for e in evaluations]})
        else:
            _show_version(version, evaluations)
    elif as_json:
        print_json({**model.to_json(), "versions": [v.to_json() for v in versions]})
    else:
        _show_model(model, versions)


@app.command("alias")
def set_alias(
    name: Annotated[str, typer.Argument(help="The model.")],
    alias: Annotated[str, typer.Argument(help="The alias, such as production or default.")],
    version: Annotated[str, typer.Argument(help="A version id, or an alias to copy.")],
    comment: CommentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Put an alias on a version, moving it from the version that held it.

    Example: conveyor models alias churn production 3 --comment "beats v2 on AUC"
    """
    with _registry() as registry:
        before = registry.get_model(parse_reference(name).model).aliases.get(alias)
        moved = registry.set_alias(name, alias, version, comment=comment)
    if as_json:
        print_json(moved.to_json())
    elif before == moved.version_id:
        out.print(f"{moved.reference} already holds {alias}; nothing changed", markup=False)
    else:
        was = f" (moved from {before})" if before is not None else ""
        out.print(f"{moved.reference} now holds {alias}{was}", markup=False)


@app.command("unalias")
def remove_alias(
    name: Annotated[str, typer.Argument(help="The model.")],
    alias: Annotated[str, typer.Argument(help="The alias to remove (not default).")],
    comment: CommentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove an alias from the version holding it.

    The alias default cannot be removed, only moved to another version.

    Example: conveyor models unalias churn candidate
    """
    with _registry() as registry:
        held = registry.remove_alias(name, alias, comment=comment)
    if as_json:
        print_json(held.to_json())
    else:
        out.print(f"Removed {alias} from {held.reference}", markup=False)


@app.command()
def trust(
    reference: Annotated[str, typer.Argument(help="The version: NAME@VERSION or NAME@ALIAS.")],
    comment: CommentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mark a version trusted, so runtimes load its pickle or run its custom code.

    Loading a pickle (model.joblib, model.pkl) or a predictor.py runs code from the
    artifact: trust only a version whose source you know. The history keeps who
    trusted it and why.

    Example: conveyor models trust churn@3 --comment "trained by our nightly pipeline"
    """
    _set_trust(reference, True, comment, as_json)


@app.command()
def untrust(
    reference: Annotated[str, typer.Argument(help="The version: NAME@VERSION or NAME@ALIAS.")],
    comment: CommentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Withdraw a version's trust: runtimes then refuse its pickle or custom code.

    The history keeps who withdrew it and why.

    Example: conveyor models untrust churn@3 --comment "source not verified"
    """
    _set_trust(reference, False, comment, as_json)


@app.command()
def history(
    name: Annotated[str, typer.Argument(help="The model (also a deleted one).")],
    alias: Annotated[str | None, typer.Option(help="Only the moves of this alias.")] = None,
    version: Annotated[int | None, typer.Option(help="Only what concerns this version.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show what happened to a model: uploads, alias moves, updates, deletions.

    Oldest first, each with who, when and why. A deleted model's history stays.

    Example: conveyor models history churn --alias production
    """
    with _registry() as registry:
        entries = registry.history(name, alias=alias, version=version)
    if as_json:
        print_json([e.to_json() for e in entries])
        return
    table = Table("#", "WHEN (UTC)", "WHO", "WHAT", "WHY", box=None)
    for e in entries:
        table.add_row(str(e.id), when(e.created_at), e.actor, _describe(e), e.comment or "")
    print_table(table)


@app.command()
def delete(
    reference: Annotated[str, typer.Argument(help="NAME (the whole model) or NAME@VERSION.")],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete a whole model without asking.")
    ] = False,
    comment: CommentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a version, or a whole model with all its versions.

    The artifacts' files stay where they are; the history keeps the deletion. A
    version holding default cannot be deleted while others exist: move default
    first. Deleting a whole model asks first, unless --yes.

    Example: conveyor models delete churn@2 --comment "leaked test data"
    """
    ref = parse_reference(reference)
    with _registry() as registry:
        if ref.names_version:
            target = registry.get_version(reference)
            registry.delete_version(target.model, target.version_id, comment=comment)
            deleted: dict[str, Any] = {"model": target.model, "versions": [target.version_id]}
        else:
            _confirm(registry.get_model(ref.model), yes)
            numbers = registry.delete_model(ref.model, comment=comment)
            deleted = {"model": ref.model, "versions": numbers, "model_deleted": True}
    if as_json:
        print_json(deleted)
    elif ref.names_version:
        out.print(f"Deleted {deleted['model']}@{deleted['versions'][0]}", markup=False)
    else:
        out.print(
            f"Deleted model {ref.model} and its {len(deleted['versions'])} version(s)",
            markup=False,
        )


@app.command()
def predict(
    reference: Annotated[str, typer.Argument(help="NAME, NAME@VERSION or NAME@ALIAS.")],
    input: Annotated[
        Path, typer.Option("--input", "-i", help="The rows: a .csv, .parquet or .jsonl file.")
    ],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Where the rows and their predictions go."),
    ],
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Rows predicted at once (default 10000).")
    ] = None,
    format: Annotated[
        str | None,
        typer.Option(
            help="The input's format when its extension does not say: csv, parquet, jsonl."
        ),
    ] = None,
    parameters: Annotated[
        str | None,
        typer.Option(
            help='A JSON object for the model, as in a request: {"method": "predict_proba"}.'
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Predict every row of a file with a registered model version.

    The output holds the input's columns and a prediction column (predictions when
    the model gives several values per row), in the output's format (from its
    extension, else the input's). It appears only once every row is written.

    Example: conveyor models predict churn@production --input customers.parquet --output scored.parquet
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from conveyor.serving.batch import DEFAULT_BATCH_SIZE, predict_file

    options = _read_json_text(parameters, "--parameters")
    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        "rows",
        TimeElapsedColumn(),
        console=err,
        transient=as_json,
    )
    task = bar.add_task(reference, total=None, start=False)

    def advance(done: int, total: int | None) -> None:
        if not bar.tasks[0].started:  # shown once the model is loaded and rows start
            bar.start()
            bar.start_task(task)
        bar.update(task, completed=done, total=total)

    from conveyor.home import open_home

    with open_home() as home:
        try:
            result = predict_file(
                home.registry,
                home.models,
                reference,
                input,
                output,
                batch_size=batch_size or DEFAULT_BATCH_SIZE,
                progress=advance,
                input_format=format,
                parameters=options,
            )
        finally:
            if bar.tasks[0].started:
                bar.stop()
    if as_json:
        print_json(dataclasses.asdict(result))
        return
    out.print(
        f"Predicted {result.rows} rows with {result.model} into {result.output} "
        f"({result.output_format}, column {result.column}, {result.seconds:.1f} s)",
        markup=False,
    )


# Helpers


FromOption = Annotated[
    str | None,
    typer.Option("--from", help="The environment the version is in (default: --env's)."),
]
ToOption = Annotated[str, typer.Option("--to", help="The environment to promote it to.")]


@app.command()
def promote(
    reference: Annotated[str, typer.Argument(help="The version: NAME@VERSION or NAME@ALIAS.")],
    target: ToOption,
    source: FromOption = None,
    alias: Annotated[
        str | None, typer.Option(help="An alias to put on the new version in the target.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Judge the gates; copy and record nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Copy a version to another environment, as its next version there, through its gates.

    The files are checked by sha256 on both sides; framework, schemas, labels,
    evaluations and the origin (environment, model, version, run) go with them. A
    failed gate of the target refuses, naming the gate and its figures. A version
    promoted there before is said so (exit 0), and nothing moves, not even the alias.

    Example: conveyor models promote churn@candidate --from dev --to prod --alias production
    """
    from conveyor.client import PromotionRefused

    with _client(source) as client:
        try:
            done = client.promote(reference, to_env=target, alias=alias, dry_run=dry_run)
        except PromotionRefused as refused:
            _show_promotion(refused.promotion, as_json)
            raise
    _show_promotion(done, as_json)


@app.command()
def approve(
    reference: Annotated[str, typer.Argument(help="The version: NAME@VERSION or NAME@ALIAS.")],
    target: ToOption,
    reason: Annotated[str, typer.Option(help="Why it may go: kept in the history.")],
    source: FromOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve promoting a version to an environment whose gates require an approval.

    Recorded in the target's history of the model: who, when, why, and the
    version (its environment, number and sha256). A target with a server_url
    records it on its server, as the owner of its token (role approver).

    Example: conveyor models approve churn@3 --from dev --to prod --reason "eval report reviewed"
    """
    with _client(source) as client:
        entry = client.approve(reference, to_env=target, reason=reason)
    if as_json:
        print_json(entry.to_json())
        return
    d = entry.details
    out.print(
        f"Approved {d['environment']} {d['model']}@{d['version']} (sha256 {d['sha256'][:12]}) "
        f"for {target} by {entry.actor} at {when(entry.created_at)} UTC",
        markup=False,
    )


@contextmanager
def _client(source: str | None) -> Iterator[Client]:
    """A client of environment `source`'s home (None: the selected one's), which opens
    the target's home for each promotion."""
    from conveyor.client import Client
    from conveyor.config import Settings
    from conveyor.home import open_home

    with open_home(settings=Settings.from_env(env=source)) as home:
        yield Client(home)


def _show_promotion(promotion: Promotion, as_json: bool) -> None:
    if as_json:
        print_json(promotion.to_json())
        return
    p = promotion
    if p.gates:
        table = Table("GATE", "VERDICT", "DETAIL", box=None)
        for g in p.gates:
            table.add_row(g.name, "pass" if g.passed else "FAIL", g.detail)
        print_table(table)
    elif not p.already:  # judged when it went
        out.print(f"{p.target_env} declares no gates", markup=False)
    source = f"{p.source_env} {p.model}@{p.version}"
    held = f" [{p.alias}]" if p.alias else ""
    if p.already:
        _show_already(p, source)
    elif p.promoted:
        out.print(
            f"Promoted {source} to {p.target_env} as {p.target_model}@{p.target_version}{held} "
            f"(sha256 {p.sha256[:12]})",
            markup=False,
        )
    elif p.dry_run:
        verdict = "would be promoted" if p.passed else "would be refused"
        out.print(f"Dry run: {source} {verdict} to {p.target_env}; nothing moved", markup=False)


def _show_already(p: Promotion, source: str) -> None:
    """`Already promoted: dev churn@3 is prod churn@5 [production]; nothing moved`, and how
    to move the alias asked for when it is elsewhere (a promotion done before moves none)."""
    target = f"{p.target_model}@{p.target_version}"
    held = f" [{', '.join(p.target_aliases)}]" if p.target_aliases else ""
    out.print(
        f"Already promoted: {source} is {p.target_env} {target}{held}; nothing moved",
        markup=False,
    )
    if p.alias and p.alias not in p.target_aliases:
        out.print(
            f"The alias {p.alias} stays where it is: `conveyor --env {p.target_env} models "
            f"alias {p.target_model} {p.alias} {p.target_version}` moves it",
            markup=False,
        )


def _confirm(model: Model, yes: bool) -> None:
    if yes:
        return
    what = f"model {model.name} and its {model.version_count} version(s)"
    if not sys.stdin.isatty():
        raise UsageError(f"deleting {what} needs --yes (or answer the question in a terminal)")
    if not typer.confirm(f"Delete {what}?"):
        raise UsageError(f"kept {what}")


def _set_trust(reference: str, trusted: bool, comment: str | None, as_json: bool) -> None:
    ref = parse_reference(reference)
    if not ref.names_version:
        verb = "trust" if trusted else "untrust"
        raise UsageError(
            f"name the version to {verb}, as in `conveyor models {verb} {ref.model}@3`"
        )
    with _registry() as registry:
        before = registry.get_version(reference)
        after = registry.update_version(
            before.model, before.version_id, trusted=trusted, comment=comment
        )
    if as_json:
        print_json(after.to_json())
        return
    state = "trusted" if trusted else "not trusted"
    if before.trusted == trusted:
        out.print(f"{after.reference} is already {state}; nothing changed", markup=False)
    else:
        out.print(f"{after.reference} is now {state}", markup=False)


def _read_json(path: Path | None, option: str) -> Any:
    if path is None:
        return None
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise UsageError(f"{option} {path} is not valid JSON: {exc}") from None


def _read_json_text(text: str | None, option: str) -> Any:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{option} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UsageError(f'{option} must be a JSON object, like {{"method": "predict_proba"}}')
    return value


def _aliases(aliases: list[str]) -> str:
    return ", ".join(aliases) if aliases else "no aliases"


def _alias_map(model: Model) -> str:
    return ", ".join(f"{a}={v}" for a, v in model.aliases.items()) or "-"


def _show_model(model: Model, versions: list[ModelVersion]) -> None:
    out.print(f"Model {model.name}", style="bold", markup=False)
    if model.description:
        out.print(f"  {model.description}", markup=False)
    if model.labels:
        out.print(f"  labels: {_labels(model.labels)}", markup=False)
    out.print(f"  created {when(model.created_at)} UTC, updated {when(model.updated_at)} UTC")
    if not versions:
        out.print("  no versions (upload one with `conveyor models upload`)", markup=False)
        return
    table = Table("VERSION", "ALIASES", "FRAMEWORK", "TRUSTED", "CREATED (UTC)", "BY", box=None)
    for v in versions:
        table.add_row(
            str(v.version_id),
            ", ".join(v.aliases),
            v.framework,
            "yes" if v.trusted else "no",
            when(v.created_at),
            v.created_by,
        )
    print_table(table)


def _show_version(version: ModelVersion, evaluations: list[Evaluation]) -> None:
    out.print(f"Version {version.reference}", style="bold", markup=False)
    rows = [
        ("aliases", _aliases(version.aliases)),
        ("description", version.description or ""),
        ("labels", _labels(version.labels)),
        ("framework", f"{version.framework} (loads {version.model_file})"),
        ("trusted", "yes" if version.trusted else "no"),
        ("artifact", f"{version.artifact_uri} ({version.artifact_kind}, {version.size} bytes)"),
        ("sha256", version.sha256),
        ("input schema", _schema(version.input_schema)),
        ("output schema", _schema(version.output_schema)),
        ("run", version.run_id or ""),
        ("execution", str(version.execution_id or "")),
        ("store artifact", str(version.artifact_id or "")),
        ("origin", _origin(version.origin)),
        ("origin lineage", _origin_lineage(version.origin)),
        ("created", f"{when(version.created_at)} UTC by {version.created_by}"),
    ]
    for key, value in rows:
        if value:
            out.print(f"  {key + ':':<15} {value}", markup=False)
    out.print("  files:")
    for f in version.files:
        out.print(f"    {f.sha256}  {f.path or '(the artifact)'}  {f.size}", markup=False)
    if evaluations:
        out.print("  evaluations:")
        for e in evaluations:
            where = f" on {_labels(e.slice)}" if e.slice else ""
            metrics = ", ".join(f"{k}={_metric(v)}" for k, v in e.metrics.items())
            out.print(f"    #{e.id}{where}: {metrics}", markup=False)


def _origin(origin: dict[str, Any] | None) -> str:
    """`promoted from dev: churn@3, run RUN_ID`, for a version promoted from elsewhere."""
    if not origin:
        return ""
    run = f", run {origin['run_id']}" if origin.get("run_id") else ""
    return f"promoted from {origin['environment']}: {origin['model']}@{origin['version']}{run}"


def _origin_lineage(origin: dict[str, Any] | None) -> str:
    """The command that shows, in the source environment, the run that made the version."""
    if not origin or origin.get("artifact_id") is None:
        return ""
    return f"conveyor --env {origin['environment']} lineage {origin['artifact_id']}"


def _metric(value: Any) -> str:
    """An evaluation's value as people read it: numbers rounded, strings as they are, lists
    and objects as compact JSON cut at 60 characters (`--json` has them whole)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | dict):
        text = json.dumps(value, separators=(",", ":"))
        return text if len(text) <= 60 else text[:57] + "..."
    return rounded(value)


def _labels(labels: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in labels.items())


def _schema(schema: list[dict[str, str]] | None) -> str:
    return ", ".join(f"{f['name']}:{f['type']}" for f in schema) if schema else ""


ROLLOUT_ACTIONS = {
    HistoryAction.ROLLOUT_STARTED: "started",
    HistoryAction.ROLLOUT_PROMOTED: "promoted",
    HistoryAction.ROLLOUT_ROLLED_BACK: "rolled back",
    HistoryAction.ROLLOUT_ABORTED: "aborted",
}


def _describe(entry: HistoryEntry) -> str:
    """One line for a history entry: `alias production 2 -> 3`, `uploaded version 3`."""
    action, v = entry.action, entry.version
    if action == HistoryAction.ALIAS_SET:
        if entry.previous_version is None:
            return f"alias {entry.alias} set on {v}"
        return f"alias {entry.alias} moved {entry.previous_version} -> {v}"
    if action == HistoryAction.ALIAS_REMOVED:
        return f"alias {entry.alias} removed from {entry.previous_version}"
    if action == HistoryAction.VERSION_CREATED:
        if entry.details.get("origin"):
            return f"version {v} {_origin(entry.details['origin'])}"
        return f"version {v} uploaded ({entry.details.get('framework')})"
    if action in (HistoryAction.PROMOTION_APPROVED, HistoryAction.PROMOTION_REFUSED):
        d = entry.details
        candidate = f"{d.get('environment')} {d.get('model')}@{d.get('version')}"
        if action == HistoryAction.PROMOTION_APPROVED:
            return f"promotion of {candidate} approved"
        failed = [g["name"] for g in d.get("gates", []) if not g.get("passed")]
        return f"promotion of {candidate} refused: {', '.join(failed)}"
    if action in ROLLOUT_ACTIONS:
        d = entry.details
        return f"rollout {d.get('rollout')} of {v} on {d.get('endpoint')} {ROLLOUT_ACTIONS[action]}"
    if action == HistoryAction.VERSION_UPDATED:
        return f"version {v} changed: {', '.join(entry.details)}"
    if action == HistoryAction.VERSION_DELETED:
        return f"version {v} deleted"
    if action == HistoryAction.EVALUATION_ADDED:
        return f"evaluation #{entry.details.get('evaluation_id')} added to {v}"
    if action == HistoryAction.MODEL_UPDATED:
        return f"model changed: {', '.join(entry.details)}"
    return {
        HistoryAction.MODEL_CREATED: "model created",
        HistoryAction.MODEL_DELETED: "model deleted",
    }[action]
