"""The home's registry, endpoints and monitors, acting as the request's caller: the routers'
dependencies.

The caller is `request.state.user` when a middleware (authentication) set it, else the
home's own user (its settings, else the OS user); the registry's history and the
endpoints' records name them (`acting_as`: the store, the delete guards and the model
loader stay shared).
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Depends, Request

from conveyor.monitoring.monitors import Monitors
from conveyor.registry import Registry
from conveyor.serving.endpoints import Endpoints

Part = TypeVar("Part", Registry, Endpoints, Monitors)


def registry(request: Request) -> Registry:
    return _as_caller(request.app.state.home.registry, request)


def endpoints(request: Request) -> Endpoints:
    return _as_caller(request.app.state.home.endpoints, request)


def monitors(request: Request) -> Monitors:
    """The monitors, reading baseline URIs as a server must for callers from afar."""
    return _as_caller(request.app.state.home.monitors, request).for_requests()


def _as_caller(part: Part, request: Request) -> Part:
    user = getattr(request.state, "user", None)
    if user is None or user == part.user:
        return part
    return part.acting_as(user)


RegistryDep = Annotated[Registry, Depends(registry)]
EndpointsDep = Annotated[Endpoints, Depends(endpoints)]
MonitorsDep = Annotated[Monitors, Depends(monitors)]
