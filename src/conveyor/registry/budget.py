"""The bytes and seconds one upload may spend reading its artifact, checked as it reads.

Hashing reads every byte the upload names, so without a bound one request could keep a
server's worker (and its shutdown) busy for as long as the source gives bytes. Each read
spends from a `Budget`; past its bytes or its deadline the upload stops with
`InvalidArtifact`, naming the setting that raises the bound.
"""

from __future__ import annotations

import io
import time
from typing import BinaryIO

from conveyor.registry.errors import InvalidArtifact


class Budget:
    """What is left to read `uri`: `max_bytes` in all, until `deadline` (`time.monotonic`)."""

    def __init__(self, uri: str, max_bytes: int, seconds: float, deadline: float) -> None:
        self.uri, self.max_bytes, self.seconds, self.deadline = uri, max_bytes, seconds, deadline
        self.spent = 0

    @classmethod
    def start(cls, uri: str, max_bytes: int, seconds: float) -> Budget:
        return cls(uri, max_bytes, seconds, time.monotonic() + seconds)

    def again(self) -> Budget:
        """A fresh allowance of bytes to the same deadline, to read a file once more."""
        return Budget(self.uri, self.max_bytes, self.seconds, self.deadline)

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise InvalidArtifact(
                f"reading {self.uri} took longer than {self.seconds:g} s, the most an upload "
                "may take (CONVEYOR_ARTIFACT_READ_SECONDS); raise it to register this model"
            )

    def check_size(self, size: int) -> None:
        """Refuse an artifact of `size` bytes before reading it, when it is too large."""
        if size > self.max_bytes:
            raise InvalidArtifact(
                f"{self.uri} holds {size} bytes, more than the {self.max_bytes} an upload may "
                "read (CONVEYOR_ARTIFACT_MAX_BYTES); raise it to register this model"
            )

    def spend(self, size: int) -> None:
        self.spent += size
        self.check_size(self.spent)
        self.check_time()

    def metered(self, stream: BinaryIO) -> BinaryIO:
        """`stream`, buffered, spending from this budget as it is read."""
        return io.BufferedReader(_Metered(stream, self), buffer_size=1 << 20)


class _Metered(io.RawIOBase):
    """A seekable binary stream whose reads spend from a budget."""

    def __init__(self, stream: BinaryIO, budget: Budget) -> None:
        self._stream, self._budget = stream, budget

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._stream.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self._stream.read(len(buffer))
        self._budget.spend(len(data))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()
