"""`conveyor ui`: the web console and the control API (`/api/v1`) it reads, without the
prediction routes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def ui(
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.")] = 8080,
    tokens: Annotated[
        Path | None,
        typer.Option(help="A file of API tokens (ROLE TOKEN [NAME] per line); off by default."),
    ] = None,
    log_level: Annotated[
        str, typer.Option(help="uvicorn's log level: critical, error, warning, info, debug.")
    ] = "warning",
) -> None:
    """Serve the web console of this home, until interrupted.

    The console (runs, their graphs and tasks) is at /ui, reading the control API under
    /api/v1 (OpenAPI at /openapi.json). `conveyor serve` serves the console too, beside
    the prediction routes. With --tokens, the console asks for a token and keeps it for
    the browser tab. Once the server answers, it prints one line to wait for: "Conveyor's
    console is at http://HOST:PORT/ui".

    Example: conveyor ui --port 8080 --tokens tokens.txt
    """
    from conveyor.serving.server import serve

    serve(
        host,
        port,
        tokens_file=tokens,
        log_level=log_level,
        app="conveyor.api.server:create_console_app",
        on_ready=_say_ready,
    )


def _say_ready(url: str) -> None:
    typer.echo(f"Conveyor's console is at {url}/ui")
