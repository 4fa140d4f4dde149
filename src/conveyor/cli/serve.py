"""`conveyor serve`: the prediction server (Vertex AI and Open Inference Protocol routes),
the control API (`/api/v1`) and the web console (`/ui`), in one process; with
`--scheduler`, the scheduler of the home's schedules and triggers beside them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.")] = 8080,
    workers: Annotated[
        int, typer.Option(help="Worker processes (one per CPU core serves the most requests).")
    ] = 1,
    max_request_bytes: Annotated[
        int | None,
        typer.Option(help="Largest request body accepted; larger ones get 413 (default 1.5 MB)."),
    ] = None,
    log_sample_rate: Annotated[
        float | None,
        typer.Option(
            help="Share of requests logged for endpoints that set none (0 to 1, default 1)."
        ),
    ] = None,
    tokens: Annotated[
        Path | None,
        typer.Option(help="A file of API tokens (ROLE TOKEN [NAME] per line); off by default."),
    ] = None,
    access_log: Annotated[
        bool, typer.Option("--access-log", help="Log every request (slower).")
    ] = False,
    log_level: Annotated[
        str, typer.Option(help="uvicorn's log level: critical, error, warning, info, debug.")
    ] = "info",
    scheduler: Annotated[
        bool,
        typer.Option(
            "--scheduler",
            help="Also fire the home's schedules and triggers, and send monitoring alerts "
            "(as `conveyor scheduler`).",
        ),
    ] = False,
) -> None:
    """Serve predictions for every endpoint and registered model, until interrupted.

    Routes: POST /v1/endpoints/{endpoint}:predict (Vertex AI), POST
    /v2/models/{name}/infer (Open Inference Protocol), GET /metrics (Prometheus),
    the control API under /api/v1 (models, endpoints; OpenAPI at /openapi.json), and the
    web console at /ui.
    Deployments made while it runs are picked up within a second. Once every worker has
    started and the server answers requests, it prints one line to wait for: "Conveyor
    is serving at http://HOST:PORT (docs at /docs)". Its workers stop with it, even when
    it is killed.

    Example: conveyor serve --host 0.0.0.0 --port 8080 --workers 2
    """
    from conveyor.serving.server import serve as run

    with _scheduling() if scheduler else nullcontext():
        run(
            host,
            port,
            workers=workers,
            max_request_bytes=max_request_bytes,
            log_sample_rate=log_sample_rate,
            tokens_file=tokens,
            access_log=access_log,
            log_level=log_level,
            app="conveyor.api.server:create_app",
            on_ready=_say_ready,
        )


@contextmanager
def _scheduling() -> Iterator[None]:
    """The scheduler in a thread of this process while the server runs (one, however many
    workers serve), stopped with the server; the runs it started go on."""
    from conveyor.automation.scheduler import Scheduler
    from conveyor.cli.scheduler import print_tick
    from conveyor.home import open_home

    stop = threading.Event()
    with open_home() as home:
        scheduler = Scheduler.of(home)
        thread = threading.Thread(
            target=scheduler.run, args=(stop,), kwargs={"on_tick": print_tick},
            name="conveyor-scheduler", daemon=True,
        )  # fmt: skip
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def _say_ready(url: str) -> None:
    """The ready line, on stdout at once (click flushes), for people and scripts to wait
    for: it comes only once the server answers."""
    typer.echo(f"Conveyor is serving at {url} (docs at /docs)")
