"""The prediction server's settings, from arguments or the environment; where it reads
and writes (the metadata store, the artifact root) is its home's (`conveyor.home`).

| Setting | Environment variable | Default |
| --- | --- | --- |
| `max_request_bytes` | `CONVEYOR_MAX_REQUEST_BYTES` | 1,500,000 (Vertex AI's limit) |
| `max_api_request_bytes` | `CONVEYOR_MAX_API_REQUEST_BYTES` | 1,048,576: a control API (`/api/v1`) body |
| `log_sample_rate` | `CONVEYOR_PREDICTION_LOG_RATE` | 1.0: every request, for endpoints that set none |
| `log_flush_rows` | `CONVEYOR_PREDICTION_LOG_FLUSH_ROWS` | 50,000: rows per prediction log file at most |
| `log_flush_seconds` | `CONVEYOR_PREDICTION_LOG_FLUSH_SECONDS` | 10 |
| `poll_seconds` | `CONVEYOR_SERVE_POLL_SECONDS` | 1: how often endpoints, aliases and rollouts are checked |
| `rollout_lease_seconds` | `CONVEYOR_ROLLOUT_LEASE_SECONDS` | 10: how long a killed server keeps its rollouts from the others |
| `tokens` | `CONVEYOR_API_TOKENS`, `CONVEYOR_API_TOKENS_FILE` | none: no authentication |

`conveyor serve` reads them once, its options on top, and hands the same settings to
every worker process.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

from conveyor.errors import UsageError
from conveyor.serving.auth import Tokens


@dataclasses.dataclass
class ServerSettings:
    """What the server needs beyond its home: limits, logging, polling, tokens."""

    max_request_bytes: int = 1_500_000
    max_api_request_bytes: int = 1_048_576
    """The largest body the control API (`/api/v1`) reads: registrations, evaluations."""
    log_sample_rate: float = 1.0
    log_flush_rows: int = 50_000
    """A prediction log file is written every this many rows (or `log_flush_seconds`):
    files of a few thousand rows would cost the server more to write than the rows."""
    log_flush_seconds: float = 10.0
    log_max_buffered_rows: int = 100_000
    """Rows kept waiting while the log cannot be written; older ones are dropped (counted)."""
    poll_seconds: float = 1.0
    rollout_lease_seconds: float = 10.0
    inline_rows: int = 64
    """Requests of at most this many instances are predicted on the event loop (fastest for
    small requests); larger ones and custom predictors go to a worker thread."""
    tokens: Tokens | None = None

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> ServerSettings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        numbers = {
            "max_request_bytes": ("CONVEYOR_MAX_REQUEST_BYTES", int),
            "max_api_request_bytes": ("CONVEYOR_MAX_API_REQUEST_BYTES", int),
            "log_sample_rate": ("CONVEYOR_PREDICTION_LOG_RATE", float),
            "log_flush_rows": ("CONVEYOR_PREDICTION_LOG_FLUSH_ROWS", int),
            "log_flush_seconds": ("CONVEYOR_PREDICTION_LOG_FLUSH_SECONDS", float),
            "poll_seconds": ("CONVEYOR_SERVE_POLL_SECONDS", float),
            "rollout_lease_seconds": ("CONVEYOR_ROLLOUT_LEASE_SECONDS", float),
        }
        for field, (name, kind) in numbers.items():
            text = env.get(name, "").strip()
            if text:
                try:
                    values[field] = kind(text)
                except ValueError:
                    raise UsageError(f"{name}={text!r} is not a {kind.__name__}") from None
        values["tokens"] = Tokens.from_env(env)
        values.update(overrides)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        for name, limit in (
            ("CONVEYOR_MAX_REQUEST_BYTES", self.max_request_bytes),
            ("CONVEYOR_MAX_API_REQUEST_BYTES", self.max_api_request_bytes),
        ):
            if limit < 1:
                raise UsageError(f"the request size limit {name} must be positive, not {limit}")
        if not 0.0 <= self.log_sample_rate <= 1.0:
            raise UsageError(
                f"the prediction log sample rate must be from 0 to 1, not {self.log_sample_rate}"
            )
        if self.log_flush_rows < 1 or self.log_flush_seconds <= 0:
            raise UsageError("the prediction log flushes every N > 0 rows and T > 0 seconds")
        if self.poll_seconds <= 0:
            raise UsageError(f"the poll interval must be positive, not {self.poll_seconds}")
        if self.rollout_lease_seconds <= 0:
            raise UsageError(
                f"the rollout lease must be positive, not {self.rollout_lease_seconds}"
            )
