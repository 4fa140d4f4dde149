"""API tokens with roles: off unless configured, then required on every route, each route
needing the least role it declares.

Roles, each allowing what the ones before it allow:

- `public`: no token at all; a pseudo-role that no token has, honoured only for a GET
  or HEAD on a route that declares it: the web console's page shell and its built
  assets (`conveyor.ui`), which hold no data (the console asks for a token when `/api/v1`
  answers 401);
- `read`: health, metrics, model and endpoint metadata (every GET, and searching
  experiment runs with `POST /api/v1/experiments:searchRuns`);
- `predict`: `:predict`, `:rawPredict` and `/infer`;
- `track`: experiment tracking (`/api/v1/experiments`): creating experiments, starting,
  logging to and ending their runs (deleting them needs `admin`);
- `deploy`: `:deployModel`, `:undeployModel` and `:setTraffic` (`/api/v1/endpoints`),
  uploading pipeline versions and moving their tags (`/api/v1/pipelines`);
- `approver`: approving the promotion of a model version into this server's environment
  (`:approvePromotion`, `/api/v1/models`), which an `approval` gate asks for: a person
  signs, apart from the release automation that deploys;
- `admin`: every other change: creating, updating and deleting endpoints, and changing
  the model registry.

Tokens come from `CONVEYOR_API_TOKENS` (`ROLE:TOKEN` entries separated by commas) and from
the file named by `CONVEYOR_API_TOKENS_FILE` (or `conveyor serve --tokens FILE`): one
token a line, `ROLE TOKEN [NAME]`, with `#` comments. A request sends its token as
`Authorization: Bearer TOKEN`; without one, or with an unknown one, it gets 401, whatever
its path (but for a `public` route); with a role too low for the route, 403. The token's
name becomes the caller (`request.state.user`), whom the registry's history and the
endpoints record. Only the sha256 of each token is kept in memory.

Authorisation goes by the route the request matches, found as the router finds it (the
first full match, inside mounted apps too), never by the text of the path: a model named
`infer` is not a prediction. A route declares its role in its OpenAPI operation
(`openapi_extra=needs(Role.DEPLOY)`, shown in `/openapi.json` as `x-conveyor-role`); the
prediction routes of `conveyor.serving.vertex` and `conveyor.serving.oip` are listed
here by their path templates (`PREDICTIONS`); any other route needs `read` to GET or HEAD
and `admin` for the rest. A request no route matches goes on to the router's 404 or 405,
which runs no handler.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from enum import IntEnum
from pathlib import Path
from typing import Any

from starlette.routing import BaseRoute, Match, Mount

from conveyor.errors import UsageError
from conveyor.serving.http import error_body

Scope = dict[str, Any]

ROLE_KEY = "x-conveyor-role"
"""The OpenAPI operation field that declares the least role a route needs."""

PREDICTIONS = frozenset(
    {
        "/v1/endpoints/{target}",
        "/v1/projects/{project}/locations/{location}/endpoints/{target}",
        "/v2/models/{name}/infer",
        "/v2/models/{name}/versions/{version}/infer",
    }
)
"""Path templates of the routes whose POST is a prediction: Vertex AI's `:predict` and
`:rawPredict` (`vertex.py`), the Open Inference Protocol's `/infer` (`oip.py`)."""

QUERIES = frozenset({"/v2/repository/index"})
"""Path templates of the routes whose POST only reads (the OIP repository index)."""

_READS = frozenset({"GET", "HEAD"})


class Role(IntEnum):
    """A token's role; each allows what the lower ones allow (the module docstring).
    PUBLIC is a route's only, never a token's."""

    PUBLIC = 0
    READ = 1
    PREDICT = 2
    TRACK = 3
    DEPLOY = 4
    APPROVER = 5
    ADMIN = 6

    @classmethod
    def parse(cls, text: str, where: str) -> Role:
        role = cls.__members__.get(text.strip().upper())
        if role is None or role is Role.PUBLIC:
            known = ", ".join(r.name.lower() for r in cls if r is not Role.PUBLIC)
            raise UsageError(f"{where}: role {text.strip()!r} is not one of {known}")
        return role


def needs(role: Role) -> dict[str, str]:
    """The `openapi_extra` of a FastAPI route that needs `role`: enforced here, and shown
    to clients in the OpenAPI document."""
    return {ROLE_KEY: role.name.lower()}


def required_role(route: BaseRoute, method: str) -> Role:
    """The least role that may call `method` on `route` (see the module docstring)."""
    declared = (getattr(route, "openapi_extra", None) or {}).get(ROLE_KEY)
    if declared is not None:
        role = Role[declared.upper()]
        if role is not Role.PUBLIC or method in _READS:
            return role
    if method in _READS or (method == "POST" and getattr(route, "path", None) in QUERIES):
        return Role.READ
    if method == "POST" and getattr(route, "path", None) in PREDICTIONS:
        return Role.PREDICT
    return Role.ADMIN


def matched_route(routes: Iterable[BaseRoute], scope: Scope) -> BaseRoute | None:
    """The route that will answer `scope`: the first that matches it fully, looked for
    inside a mounted app's routes; None when the router will answer 404 or 405."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            inner = route.routes if isinstance(route, Mount) else []
            return matched_route(inner, {**scope, **child}) if inner else route
    return None


class Tokens:
    """The configured tokens: sha256 digest -> (role, name)."""

    def __init__(self, entries: Mapping[str, tuple[Role, str]]) -> None:
        self._by_digest = {_digest(token): value for token, value in entries.items()}

    def __len__(self) -> int:
        return len(self._by_digest)

    def lookup(self, token: str) -> tuple[Role, str] | None:
        return self._by_digest.get(_digest(token))

    @classmethod
    def parse_env(cls, text: str) -> dict[str, tuple[Role, str]]:
        entries: dict[str, tuple[Role, str]] = {}
        for n, item in enumerate(p.strip() for p in text.split(",")):
            if not item:
                continue
            role, sep, token = item.partition(":")
            if not sep or not token.strip():
                raise UsageError(
                    f"CONVEYOR_API_TOKENS entry {n + 1} is not ROLE:TOKEN (for example "
                    "predict:4f9c2e...)"
                )
            entries[token.strip()] = (Role.parse(role, "CONVEYOR_API_TOKENS"), f"env-{n + 1}")
        return entries

    @classmethod
    def parse_file(cls, path: Path) -> dict[str, tuple[Role, str]]:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise UsageError(f"cannot read the tokens file {path}: {exc.strerror}") from None
        entries: dict[str, tuple[Role, str]] = {}
        for number, line in enumerate(lines, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            if len(words) < 2:
                raise UsageError(
                    f"{path}:{number}: write ROLE TOKEN [NAME], e.g. predict 4f9c2e ci"
                )
            role = Role.parse(words[0], f"{path}:{number}")
            entries[words[1]] = (role, " ".join(words[2:]) or f"line-{number}")
        return entries

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Tokens | None:
        """The tokens the environment configures, or None when it configures none."""
        entries: dict[str, tuple[Role, str]] = {}
        if env.get("CONVEYOR_API_TOKENS_FILE"):
            entries.update(cls.parse_file(Path(env["CONVEYOR_API_TOKENS_FILE"]).expanduser()))
        if env.get("CONVEYOR_API_TOKENS"):
            entries.update(cls.parse_env(env["CONVEYOR_API_TOKENS"]))
        return cls(entries) if entries else None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


class TokenAuth:
    """ASGI middleware: every HTTP request needs a token whose role covers the route it
    matches in the app (`scope["app"]`) that this middleware wraps."""

    def __init__(self, app: Any, tokens: Tokens) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self.check(scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        status, message = problem
        body, content_type = error_body(scope["path"], status, message)
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        if status == 401:
            headers.append((b"www-authenticate", b'Bearer realm="conveyor"'))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def check(self, scope: Scope) -> tuple[int, str] | None:
        """None when the request may go on (its caller named in its state, unless the
        route is public), else (status, message)."""
        route = matched_route(scope["app"].routes, scope)
        needed = Role.READ if route is None else required_role(route, scope["method"])
        if needed is Role.PUBLIC:
            return None
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        if header is None:
            return (
                401,
                "this server needs an API token: send the header Authorization: Bearer TOKEN",
            )
        scheme, _, token = header.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return 401, "send the API token as Authorization: Bearer TOKEN"
        found = self.tokens.lookup(token.strip())
        if found is None:
            return 401, "the API token is not valid on this server"
        role, name = found
        if role < needed:
            return 403, (
                f"token {name!r} has role {role.name.lower()}; {scope['method']} "
                f"{scope['path']} needs {needed.name.lower()} or higher"
            )
        scope.setdefault("state", {})["user"] = name
        return None
