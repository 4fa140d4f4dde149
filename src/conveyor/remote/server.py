"""`Server`: one Conveyor server as a remote client reaches it, over HTTP with httpx.

    server = Server.of(Settings.from_env(env="staging"))   # server_url, token from token_env
    server = Server("https://conveyor.example.com", token="...")
    server.call("GET", "/api/v1/models")

Only `http://` and `https://` URLs, without a user or password in them (the token goes in
the variable `token_env` names, and from there in `Authorization: Bearer ...`; it is never
printed or logged). Redirects are not followed: a server that redirects is named with where
it points, so that `server_url` can say the address that answers. httpx (a good part of a
second to import) is imported, and the token variable checked, when the first request is
about to go: a client that only works on its environment's store never needs either.

What the server answers becomes what the library would have raised in the server's place:
its error body (`{"error": {"code", "message", "status"}}`, `conveyor.api.errors`) by
status, as the part of the API called says (`Answers`: 400 its usage error, 404 its
`NotFound`, 409 and FAILED_PRECONDITION its conflict), with the server's own message;
401 `Unauthenticated` and 403 `PermissionDenied` (the server names the role needed);
a server that cannot be reached, or times out, `ServerUnreachable`; anything else a
`ServerError`.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from conveyor.errors import ConveyorError, UsageError
from conveyor.remote.errors import (
    PermissionDenied,
    RemoteUnsupported,
    ServerError,
    ServerUnreachable,
    Unauthenticated,
)
from conveyor.store.metadata.errors import NotFound
from conveyor.store.metadata.records import to_json

if TYPE_CHECKING:
    import httpx

    from conveyor.config import Settings

DEFAULT_TIMEOUT = 30.0
"""Seconds a request may take, unless the call says otherwise (a monitoring job)."""

_USAGE = frozenset({400, 413, 415, 422})


@dataclasses.dataclass(frozen=True)
class Answers:
    """The library's errors one part of the API answers with: what its 400, 404 and 409
    (or FAILED_PRECONDITION) become."""

    usage: type[ConveyorError] = UsageError
    not_found: type[ConveyorError] = NotFound
    conflict: type[ConveyorError] = UsageError


GENERAL = Answers()
"""What any part of the API answers with, when the call says nothing more precise."""


class Server:
    """A Conveyor server's REST API: `call` it; `close()` when done."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        env: str | None = None,
        token_source: str | None = None,
        unset_token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.url = check_url(url, env)
        self.env = env
        self._token = token
        self._token_source = token_source or ("the caller" if token else None)
        self._unset_token = unset_token
        self._timeout = timeout
        self._http: httpx.Client | None = None
        self._opening = threading.Lock()

    @classmethod
    def of(cls, settings: Settings) -> Server:
        """The server of environment `settings`, with the token from the variable its
        `token_env` names; when that variable is unset or empty, `Unauthenticated` at the
        first request, before it goes."""
        assert settings.server_url is not None
        token, unset, source = None, None, None
        if settings.token_env is not None:
            source = f"the variable {settings.token_env}"
            token = os.environ.get(settings.token_env, "").strip() or None
            if token is None:
                unset = (
                    f"environment {settings.env!r} takes its server's token from the variable "
                    f"{settings.token_env}, which is not set: set it to a token of "
                    f"{settings.server_url} (or take token_env out of the environment if that "
                    "server needs none)"
                )
        return cls(
            settings.server_url,
            token=token,
            env=settings.env,
            token_source=source,
            unset_token=unset,
        )

    def __repr__(self) -> str:
        return f"Server({self.url!r}, env={self.env!r})"  # never the token

    @property
    def where(self) -> str:
        """The server, for messages: `environment 'staging' (https://...)`, or its URL."""
        return f"environment {self.env!r} ({self.url})" if self.env else self.url

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        answers: Answers = GENERAL,
        timeout: float | None = None,
    ) -> Any:
        """Send one request (`body` as JSON, its records and times turned into JSON first;
        `params` left out when None) and answer its JSON (None for an empty answer), or
        raise what the server's error says (see the module docstring)."""
        http = self._client()
        import httpx

        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        options: dict[str, Any] = {"params": query}
        if body is not None:
            options["json"] = to_json(body)
        if timeout is not None:
            options["timeout"] = timeout
        try:
            answer = http.request(method, path, **options)
        except httpx.TimeoutException:
            raise ServerUnreachable(
                f"{self.where} did not answer {method} {path} in time; is the server "
                "overloaded or the network slow?"
            ) from None
        except httpx.TransportError as exc:
            raise ServerUnreachable(
                f"cannot reach {self.where}: {exc or type(exc).__name__}; is `conveyor serve` "
                "running there, and is server_url right?"
            ) from None
        return self._read(answer, answers)

    def _client(self) -> httpx.Client:
        """The HTTP client, made for the first request, once the token is known to be set."""
        if self._unset_token is not None:
            raise Unauthenticated(self._unset_token)
        with self._opening:
            if self._http is None:
                import httpx

                headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
                self._http = httpx.Client(
                    base_url=self.url,
                    headers=headers,
                    timeout=self._timeout,
                    follow_redirects=False,
                )
            return self._http

    def unsupported(self, what: str) -> RemoteUnsupported:
        """The error for `what`, which only the environment's store can do."""
        return RemoteUnsupported(
            f"{what} needs the metadata store itself, and this client reaches {self.where} "
            "only over its REST API, which has no route for it: declare the environment's "
            "store (its home or metadata_url) in conveyor.toml, or work on a store directly "
            "(Client(FOLDER))"
        )

    def _read(self, answer: httpx.Response, answers: Answers) -> Any:
        status = answer.status_code
        if 300 <= status < 400:
            raise ServerError(
                f"{self.where} answered {status}, redirecting to "
                f"{answer.headers.get('location', 'nowhere')}: redirects are not followed; set "
                "server_url to the address that answers"
            )
        if status >= 400:
            raise self._error(answer, answers)
        if not answer.content:
            return None
        if not answer.headers.get("content-type", "").startswith("application/json"):
            raise ServerError(
                f"{self.where} answered {answer.request.url.path} with no JSON: is server_url "
                "a Conveyor server?"
            )
        try:
            return answer.json()
        except ValueError:
            raise ServerError(f"{self.where} answered invalid JSON") from None

    def _error(self, answer: httpx.Response, answers: Answers) -> ConveyorError:
        status = answer.status_code
        message, name = _message(answer)
        if status == 401:
            source = (
                f" (its token came from {self._token_source})"
                if self._token_source
                else " (this client sends none: give the environment a token_env)"
            )
            return Unauthenticated(f"{self.where}: {message}{source}")
        if status == 403:
            return PermissionDenied(f"{self.where}: {message}")
        if status == 409 or name == "FAILED_PRECONDITION":
            return answers.conflict(message)
        if status == 404:
            return answers.not_found(message)
        if status in _USAGE:
            return answers.usage(message)
        return ServerError(f"{self.where} answered {status}: {message}")


def path(root: str, *segments: str | int, suffix: str = "") -> str:
    """An API path: `root` (`/api/v1/models`), then each segment quoted whole (a name never
    adds a segment), then `suffix` as it is (`:deployModel`)."""
    return root + "".join("/" + _segment(str(s)) for s in segments) + suffix


def _segment(text: str) -> str:
    """`text` as one path segment: quoted, and `.` or `..` spelt so that no URL
    normalisation takes them for the folder or its parent."""
    return "%2E" * len(text) if text in (".", "..") else quote(text, safe="")


def check_url(url: Any, env: str | None = None) -> str:
    """`url` without its trailing `/`, if it is an http(s) URL naming a host, with no user,
    password, query or fragment; a `UsageError` naming the environment otherwise."""
    whose = f"environment {env!r}: server_url" if env else "the server's URL"
    if not isinstance(url, str):
        raise UsageError(f"{whose} must be text such as https://conveyor.example.com")
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        credentials = parts.username is not None or parts.password is not None
    except ValueError as exc:
        raise UsageError(f"{whose} is not a URL ({exc})") from None
    if credentials:  # not shown: it holds a secret
        raise UsageError(
            f"{whose} holds a user or password: put the server's token in the variable "
            "token_env names (or Client.connect(url, token=...)), never in the URL"
        )
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise UsageError(
            f"{whose} {url!r} must be an http:// or https:// URL naming a host, such as "
            "https://conveyor.example.com"
        )
    if parts.query or parts.fragment:
        raise UsageError(f"{whose} {url!r} must not have a query (?) or a fragment (#)")
    return url.strip().rstrip("/")


def _message(answer: httpx.Response) -> tuple[str, str | None]:
    """The server's message and status name (FAILED_PRECONDITION), from its error body
    (the Open Inference Protocol's is `{"error": "..."}`) or its text."""
    try:
        error = answer.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"], error.get("status")
    if isinstance(error, str):
        return error, None
    return (answer.text.strip()[:500] or answer.reason_phrase), None


def _param(value: Any) -> Any:
    """A query parameter as the API reads it: times in ISO 8601, booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return to_json(value)
