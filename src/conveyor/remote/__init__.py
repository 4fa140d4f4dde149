"""Remote mode: the Python client's methods over a Conveyor server's REST API.

`conveyor.client.Client` is remote when the environment it opens has a `server_url`
(`Client(env="staging")`, or `Client()` in the environment `--env` or `CONVEYOR_ENV`
chose), or when made with `Client.connect(url, token=...)`. It then works on a
`RemoteHome` (`home.py`) in place of a home: a `Server` (`server.py`: httpx, the token,
the errors) and the registry, endpoints, monitors and experiments over it (`registry.py`,
`endpoints.py`, `monitors.py`, `experiments.py`), which rebuild the same records the library returns
(`records.py`). What no REST route does is done on the environment's own store when it
declares one (`Client`), else raises `RemoteUnsupported` (`errors.py`).

This package is imported only by a remote client: `conveyor run` never loads it, nor httpx.
"""

from __future__ import annotations

from conveyor.remote.errors import (
    PermissionDenied,
    RemoteUnsupported,
    ServerError,
    ServerUnreachable,
    Unauthenticated,
)
from conveyor.remote.home import RemoteHome
from conveyor.remote.server import Server

__all__ = [
    "PermissionDenied",
    "RemoteHome",
    "RemoteUnsupported",
    "Server",
    "ServerError",
    "ServerUnreachable",
    "Unauthenticated",
]
