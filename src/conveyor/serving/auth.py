"""API tokens with roles: off unless configured, then required on every route.

Roles, each allowing what the ones before it allow:

- `read`: health, metrics, model and endpoint metadata (every GET);
- `predict`: `:predict`, `:rawPredict` and `/infer`;
- `deploy`: `:deployModel`, `:undeployModel` and `:setTraffic` (`/api/v1/endpoints`);
- `admin`: every other change: creating, updating and deleting endpoints, and changing
  the model registry.

Tokens come from `CONVEYOR_API_TOKENS` (`ROLE:TOKEN` entries separated by commas) and from
the file named by `CONVEYOR_API_TOKENS_FILE` (or `conveyor serve --tokens FILE`): one
token a line, `ROLE TOKEN [NAME]`, with `#` comments. A request sends its token as
`Authorization: Bearer TOKEN`; without one, or with an unknown one, it gets 401; with a
role too low for the route, 403. Only the sha256 of each token is kept in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from enum import IntEnum
from pathlib import Path
from typing import Any

from conveyor.errors import UsageError
from conveyor.serving.http import error_body

Scope = dict[str, Any]


class Role(IntEnum):
    READ = 1
    PREDICT = 2
    DEPLOY = 3
    ADMIN = 4

    @classmethod
    def parse(cls, text: str, where: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise UsageError(
                f"{where}: role {text.strip()!r} is not one of read, predict, deploy, admin"
            ) from None


_PREDICT_METHODS = (":predict", ":rawPredict")
_DEPLOY_METHODS = (":deployModel", ":undeployModel", ":setTraffic")


def required_role(method: str, path: str) -> Role:
    """The least role that may call `method path`."""
    if method in ("GET", "HEAD", "OPTIONS"):
        return Role.READ
    if path.endswith(_PREDICT_METHODS) or path.endswith("/infer"):
        return Role.PREDICT
    if path.endswith(_DEPLOY_METHODS):
        return Role.DEPLOY
    return Role.ADMIN


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
    """ASGI middleware: every HTTP request needs a token whose role covers its route."""

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
        """None when the request may go on, else (status, message)."""
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
        needed = required_role(scope["method"], scope["path"])
        if role < needed:
            return 403, (
                f"token {name!r} has role {role.name.lower()}; {scope['method']} "
                f"{scope['path']} needs {needed.name.lower()} or higher"
            )
        return None
