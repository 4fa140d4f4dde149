"""`RemoteHome`: what a remote `Client` works on in place of a home: a Conveyor server's
registry, endpoints, monitors, rollouts and experiments over its REST API.

    remote = RemoteHome.of(Settings.from_env(env="staging"))    # server_url, token_env
    remote = RemoteHome.connect("https://conveyor.example.com", token="...")
    remote.registry.get_version("churn@production")              # a ModelVersion
    remote.close()

Its `registry`, `endpoints`, `monitors`, `rollouts` and `experiments` have the methods of a
home's (`Registry`, `Endpoints`, `Monitors`, `Rollouts`, `Experiments`) that the REST API
offers, and return the same records. Every other part of a home (its metadata store,
artifact store, model loader, pipelines...) is out of reach: asking for one raises
`RemoteUnsupported`, naming it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conveyor.remote.endpoints import RemoteEndpoints
from conveyor.remote.errors import RemoteUnsupported
from conveyor.remote.experiments import RemoteExperiments
from conveyor.remote.monitors import RemoteMonitors
from conveyor.remote.registry import RemoteRegistry
from conveyor.remote.rollouts import RemoteRollouts
from conveyor.remote.server import DEFAULT_TIMEOUT, Server

if TYPE_CHECKING:
    from conveyor.config import Settings


class RemoteHome:
    """A Conveyor server's registry, endpoints, monitors, rollouts and experiments; `close()`
    when done."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.registry = RemoteRegistry(server)
        self.endpoints = RemoteEndpoints(server)
        self.monitors = RemoteMonitors(server)
        self.rollouts = RemoteRollouts(server)
        self.experiments = RemoteExperiments(server)

    @classmethod
    def of(cls, settings: Settings) -> RemoteHome:
        """The server of environment `settings` (its `server_url`, with the token from the
        variable its `token_env` names)."""
        return cls(Server.of(settings))

    @classmethod
    def connect(
        cls, url: str, token: str | None = None, *, timeout: float = DEFAULT_TIMEOUT
    ) -> RemoteHome:
        """The server at `url`, sent `token` (if any) as `Authorization: Bearer`."""
        return cls(Server(url, token=token, timeout=timeout))

    def unsupported(self, what: str) -> RemoteUnsupported:
        """The error for `what`, which needs the store this remote home does not reach."""
        return self.server.unsupported(what)

    def close(self) -> None:
        self.server.close()

    def __enter__(self) -> RemoteHome:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RemoteHome({self.server!r})"

    def __getattr__(self, name: str) -> Any:
        """A part of a home that only the store gives (`store`, `artifacts`, `models`...)."""
        if name.startswith("_"):
            raise AttributeError(name)
        raise self.unsupported(f"the home's {name}")
