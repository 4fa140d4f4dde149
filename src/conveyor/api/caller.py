"""The home's registry, endpoints, monitors, pipelines, schedules, triggers and rollouts, acting as the
request's caller: the routers' dependencies.

The caller is `request.state.user` when a middleware (authentication) set it, else the
home's own user (its settings, else the OS user); the registry's history and the
endpoints' records name them (`acting_as`: the store, the delete guards and the model
loader stay shared).
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Depends, Request

from conveyor.automation.pipelines import PipelineRegistry
from conveyor.automation.rollouts import Rollouts
from conveyor.automation.schedules import Schedules
from conveyor.automation.triggers import Triggers
from conveyor.monitoring.monitors import Monitors
from conveyor.registry import Registry
from conveyor.serving.endpoints import Endpoints

Part = TypeVar(
    "Part", Registry, Endpoints, Monitors, PipelineRegistry, Schedules, Triggers, Rollouts
)


def registry(request: Request) -> Registry:
    return _as_caller(request.app.state.home.registry, request)


def endpoints(request: Request) -> Endpoints:
    return _as_caller(request.app.state.home.endpoints, request)


def monitors(request: Request) -> Monitors:
    """The monitors, reading baseline URIs as a server must for callers from afar."""
    return _as_caller(request.app.state.home.monitors, request).for_requests()


def pipelines(request: Request) -> PipelineRegistry:
    return _as_caller(request.app.state.home.pipelines, request)


def schedules(request: Request) -> Schedules:
    return _as_caller(request.app.state.home.schedules, request)


def triggers(request: Request) -> Triggers:
    return _as_caller(request.app.state.home.triggers, request)


def rollouts(request: Request) -> Rollouts:
    return _as_caller(request.app.state.home.rollouts, request)


def _as_caller(part: Part, request: Request) -> Part:
    user = getattr(request.state, "user", None)
    if user is None or user == part.user:
        return part
    return part.acting_as(user)


RegistryDep = Annotated[Registry, Depends(registry)]
EndpointsDep = Annotated[Endpoints, Depends(endpoints)]
MonitorsDep = Annotated[Monitors, Depends(monitors)]
PipelinesDep = Annotated[PipelineRegistry, Depends(pipelines)]
SchedulesDep = Annotated[Schedules, Depends(schedules)]
TriggersDep = Annotated[Triggers, Depends(triggers)]
RolloutsDep = Annotated[Rollouts, Depends(rollouts)]
