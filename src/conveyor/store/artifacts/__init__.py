"""Artifact store: where task outputs are staged, published atomically and read back.

A local folder by default, any fsspec filesystem (`s3://`, `gs://`) by configuration; see
docs/artifacts.md.
"""

from conveyor.store.artifacts.base import ArtifactStore, Published
from conveyor.store.artifacts.errors import ArtifactRootError, ArtifactStoreError

__all__ = ["ArtifactRootError", "ArtifactStore", "ArtifactStoreError", "Published"]
