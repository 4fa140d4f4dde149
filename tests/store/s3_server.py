"""A real S3-protocol server for tests: moto in server mode on a free loopback port."""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import fsspec
from moto.server import ThreadedMotoServer
from s3fs import S3FileSystem

# Fake credentials, and no shared AWS config files, so tests never reach a real account.
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "conveyor-test",
    "AWS_SECRET_ACCESS_KEY": "conveyor-test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@dataclass(frozen=True)
class S3Server:
    """A running server: its endpoint and a bucket that exists on it."""

    endpoint: str
    bucket: str

    @property
    def storage_options(self) -> dict[str, str]:
        """What s3fs needs to reach this server."""
        return {"endpoint_url": self.endpoint}

    def filesystem(self) -> fsspec.AbstractFileSystem:
        """An s3fs client of this server, for looking behind the store's back."""
        return fsspec.filesystem("s3", endpoint_url=self.endpoint)


@contextmanager
def running_s3(bucket: str = "conveyor-test") -> Iterator[S3Server]:
    """Start moto on 127.0.0.1 with `bucket` created; stop it and restore the environment after."""
    saved = {name: os.environ.get(name) for name in ENVIRONMENT}
    os.environ.update(ENVIRONMENT)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    # A port is used again by a later server: no s3fs client (with its listings) of an
    # earlier server on this endpoint may answer for this one.
    S3FileSystem.clear_instance_cache()
    try:
        host, port = server.get_host_and_port()
        running = S3Server(f"http://{host}:{port}", bucket)
        # moto keeps its buckets in this process, whichever server made them: start empty.
        reset = urllib.request.Request(f"{running.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(reset, timeout=10).close()
        running.filesystem().mkdir(bucket)
        yield running
    finally:
        server.stop()
        S3FileSystem.clear_instance_cache()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
