"""One status table for both HTTP apps: every error class declares a status the table
names, and the control API and the prediction server (on real servers) answer an error
alike."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from starlette.exceptions import HTTPException
from starlette.routing import Route

import conveyor
from conveyor.api import create_app as control_app
from conveyor.errors import STATUS_NAMES, ConveyorError, InvalidPipeline, UsageError, status_name
from conveyor.registry.errors import (
    AliasRefused,
    DeleteRefused,
    InvalidName,
    ModelNotFound,
    RegistryConflict,
)
from conveyor.serving.app import create_app as prediction_app
from conveyor.serving.errors import (
    DeployedModelNotFound,
    EndpointNotFound,
    InvalidTraffic,
    ServingConflict,
    UndeployableModel,
)
from conveyor.serving.runtimes.errors import (
    ChecksumMismatch,
    InvalidInput,
    ModelLoadError,
    PredictionError,
)
from conveyor.serving.settings import ServerSettings
from conveyor.store.artifacts.errors import ArtifactRootError, ArtifactStoreError
from conveyor.store.metadata.errors import NotFound, StoreError

FAMILIES = {
    ConveyorError: (500, "INTERNAL"),
    UsageError: (400, "INVALID_ARGUMENT"),
    InvalidPipeline: (400, "INVALID_ARGUMENT"),
    InvalidName: (400, "INVALID_ARGUMENT"),
    InvalidTraffic: (400, "INVALID_ARGUMENT"),
    UndeployableModel: (400, "INVALID_ARGUMENT"),
    InvalidInput: (400, "INVALID_ARGUMENT"),
    ArtifactRootError: (400, "INVALID_ARGUMENT"),
    NotFound: (404, "NOT_FOUND"),
    ModelNotFound: (404, "NOT_FOUND"),
    EndpointNotFound: (404, "NOT_FOUND"),
    DeployedModelNotFound: (404, "NOT_FOUND"),
    RegistryConflict: (409, "FAILED_PRECONDITION"),
    AliasRefused: (409, "FAILED_PRECONDITION"),
    DeleteRefused: (409, "FAILED_PRECONDITION"),
    ServingConflict: (409, "FAILED_PRECONDITION"),
    StoreError: (503, "UNAVAILABLE"),
    ModelLoadError: (503, "UNAVAILABLE"),
    ChecksumMismatch: (503, "UNAVAILABLE"),
    PredictionError: (500, "INTERNAL"),
    ArtifactStoreError: (500, "INTERNAL"),
}


def every_error_class() -> list[type[ConveyorError]]:
    for found in pkgutil.walk_packages(conveyor.__path__, "conveyor."):
        importlib.import_module(found.name)
    seen: list[type[ConveyorError]] = []
    waiting = [ConveyorError]
    while waiting:
        cls = waiting.pop()
        seen.append(cls)
        waiting += cls.__subclasses__()
    return seen


@pytest.mark.parametrize("cls", every_error_class(), ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_error_class_answers_a_status_the_table_names(cls):
    assert cls.http_status in STATUS_NAMES
    # What the caller can fix is a 4xx (and a usage error, exit 2 in the CLI); the rest 5xx.
    assert (cls.http_status < 500) == issubclass(cls, UsageError | NotFound)


@pytest.mark.parametrize(("cls", "expected"), FAMILIES.items(), ids=lambda c: str(c))
def test_the_families(cls, expected):
    assert (cls.http_status, status_name(cls.http_status)) == expected


def test_names_outside_the_table():
    assert status_name(405) == "METHOD_NOT_ALLOWED"
    assert status_name(413) == "INVALID_ARGUMENT"
    assert status_name(599) == "UNKNOWN"


ERRORS = [
    *(cls("what was wrong, and what to do") for cls in FAMILIES),
    HTTPException(413, "the request body has 9 bytes, more than this server's limit"),
]


async def raising(request):
    raise ERRORS[int(request.path_params["n"])]


def test_both_apps_answer_an_error_alike(own_home, serve):
    control = serve(control_app(own_home, extra_routers=[Route("/v1/raise/{n}", raising)]))
    app = prediction_app(own_home, ServerSettings())
    app.router.routes += [Route("/v1/raise/{n}", raising), Route("/v2/raise/{n}", raising)]
    prediction = serve(app)
    for n, error in enumerate(ERRORS):
        code = getattr(error, "http_status", None) or error.status_code
        message = str(error) if isinstance(error, ConveyorError) else error.detail
        google = {"error": {"code": code, "message": message, "status": status_name(code)}}
        for http in (control, prediction):
            answer = http.get(f"/v1/raise/{n}")
            assert (answer.status_code, answer.json()) == (code, google), error
        oip = prediction.get(f"/v2/raise/{n}")
        assert (oip.status_code, oip.json()) == (code, {"error": message}), error
