"""Write a run into the metadata store as the engine goes, and read reusable results back.

The engine speaks in nodes and artifacts (`state.py`); the store speaks ML
Metadata (executions, artifacts, events). This module translates, so neither
knows the other's shapes. It also decides what may be reused instead of run:
a cache hit (same pipeline, same key, every output still LIVE and present), or
on resume a task that already completed in the same run.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from conveyor.pipelines.state import (
    CANCELLED,
    FAILED,
    SUCCEEDED,
    Artifact,
    Node,
)
from conveyor.store.artifacts import ArtifactStore, Published
from conveyor.store.metadata import (
    CONTAINER_EXECUTION,
    DAG_EXECUTION,
    IMPORTER_EXECUTION,
    ArtifactRecord,
    ArtifactState,
    CacheHit,
    ExecutionDetail,
    ExecutionState,
    MetadataStore,
)

_EXECUTION_STATES = {
    SUCCEEDED: ExecutionState.COMPLETE,
    FAILED: ExecutionState.FAILED,
    CANCELLED: ExecutionState.CANCELED,
}
_GIVE_UP_AFTER = 5
"""Cache entries whose outputs vanished that are tried before calling it a miss."""


class Recorder:
    """The run's link to the metadata store."""

    def __init__(
        self, store: MetadataStore, artifacts: ArtifactStore, run_id: str, pipeline: str
    ) -> None:
        self.store = store
        self.artifacts = artifacts
        self.run_id = run_id
        self.pipeline = pipeline
        self._hits_like_last_run: dict[str, CacheHit] | None = None
        """Cache hits for the keys of the pipeline's last run, fetched at the first lookup."""
        self._cached: list[tuple[Node, dict[str, Any]]] = []
        """Cache hits not yet in the store: `flush` records them in one transaction."""

    # -- executions -------------------------------------------------------------

    def started(self, node: Node, log_uri: str | None = None) -> None:
        """Record a node that starts running (a task, an importer or a DAG)."""
        self.flush()  # executions keep the order in which the engine decided them
        if node.is_dag:
            kind = DAG_EXECUTION
        elif node.is_importer:
            kind = IMPORTER_EXECUTION
        else:
            kind = CONTAINER_EXECUTION
        node.execution_id = self.store.create_execution(
            self.run_id,
            node.key,
            name=node.display_name,
            type=kind,
            parameters=node.parameters,
            inputs=_ids(node.artifacts),
            cache_key=node.cache_key if node.caching else None,
            cache_key_parts=node.cache_parts,
            log_uri=log_uri,
            started_at=node.started,
        )

    def finished(self, node: Node) -> None:
        """Record the final state and output parameters of a node that was started."""
        if node.execution_id is None or node.reused:
            return
        state = _EXECUTION_STATES.get(node.status, ExecutionState.FAILED)
        self.store.finish_execution(
            node.execution_id,
            state,
            outputs=node.outputs if state == ExecutionState.COMPLETE else None,
            error=node.error,
            ended_at=node.finished,
        )

    def cached(self, node: Node, hit: CacheHit) -> None:
        """Queue a cache hit for `flush`: a CACHED execution pointing at the one it reuses.

        The engine flushes once per pass over its settled transitions, before it
        starts or waits for anything: a crash loses at most unflushed hits, which
        a resumed run looks up again.
        """
        self._cached.append(
            (
                node,
                {
                    "task_key": node.key,
                    "name": node.display_name,
                    "inputs": _ids(node.artifacts),
                    "cached_from": hit.id,
                },
            )
        )

    def flush(self) -> None:
        """Record the queued cache hits, in one transaction."""
        if not self._cached:
            return
        batch, self._cached = self._cached, []
        ids = self.store.record_cached(self.run_id, [item for _, item in batch])
        for (node, _), execution_id in zip(batch, ids, strict=True):
            node.execution_id = execution_id

    # -- artifacts --------------------------------------------------------------

    def publish(self, node: Node, artifact: Artifact, staging, final: str) -> Artifact:
        """Record an output PENDING, publish its bytes, then mark it LIVE."""
        artifact.id = self.store.create_artifact(
            final,
            artifact.schema_title,
            artifact.name,
            metadata=artifact.metadata,
            output_of=node.execution_id,
        )
        published: Published = self.artifacts.publish(staging, final)
        self.store.publish_artifact(artifact.id, sha256=published.sha256, size=published.size)
        artifact.uri, artifact.sha256 = published.uri, published.sha256
        return artifact

    def external(self, node: Node, artifact: Artifact) -> Artifact:
        """Record an artifact whose bytes Conveyor did not publish: imported ones, URIs a
        task chose itself, metadata-only outputs. Its empty sha256 says there is nothing
        of ours to check before reusing it."""
        artifact.id = self.store.create_artifact(
            artifact.uri,
            artifact.schema_title,
            artifact.name,
            metadata=artifact.metadata,
            output_of=node.execution_id,
        )
        self.store.publish_artifact(artifact.id, sha256=artifact.sha256 or "", size=0)
        return artifact

    # -- reuse --------------------------------------------------------------------

    def cache_hit(self, key: str, max_age: timedelta | None) -> CacheHit | None:
        """The latest execution with this key whose outputs are all still there.

        The first lookup of a run fetches the hits for every key of the pipeline's
        last run at once: a pipeline run again asks for those keys, task after task.
        """
        if self._hits_like_last_run is None:
            self._hits_like_last_run = self.store.find_cached_like_last_run(
                self.pipeline, self.run_id, max_age=max_age
            )
        known = self._hits_like_last_run.get(key)
        if known is not None and all(self._present(a) for a in _all(known.outputs)):
            return known
        for _ in range(_GIVE_UP_AFTER):
            hit = self.store.find_cached(self.pipeline, key, max_age=max_age)
            if hit is None:
                return None
            missing = [a for a in _all(hit.outputs) if not self._present(a)]
            if not missing:
                return hit
            for artifact in missing:  # gone from the artifact store: never a hit again
                self.store.set_artifact_state(artifact.id, ArtifactState.DELETED)
        return None

    def completed_in_run(self) -> dict[str, ExecutionDetail]:
        """For resume: the tasks of this run that completed, with outputs still present."""
        done: dict[str, ExecutionDetail] = {}
        for execution in self.store.get_run(self.run_id).executions:
            if execution.type == DAG_EXECUTION:
                continue
            if execution.state not in (ExecutionState.COMPLETE, ExecutionState.CACHED):
                continue
            if all(
                a.state == ArtifactState.LIVE and self._present(a) for a in _all(execution.outputs)
            ):
                done[execution.task_key] = execution
        return done

    def _present(self, artifact: ArtifactRecord) -> bool:
        """Whether a published artifact's bytes are still all there (others have none to check)."""
        return not artifact.sha256 or self.artifacts.is_complete(artifact.uri)


def reuse(node: Node, execution: ExecutionDetail | CacheHit) -> None:
    """Give a node the outputs of an earlier execution instead of running it."""
    node.outputs = dict(execution.output_parameters)
    node.output_artifacts = {
        name: [_artifact(name, record) for record in records]
        for name, records in execution.outputs.items()
    }


def _artifact(name: str, record: ArtifactRecord) -> Artifact:
    return Artifact(
        name=name,
        uri=record.uri,
        schema_title=record.type,
        metadata=dict(record.metadata),
        id=record.id,
        sha256=record.sha256,
    )


def _all(artifacts: dict[str, list[ArtifactRecord]]) -> list[ArtifactRecord]:
    return [a for records in artifacts.values() for a in records]


def _ids(artifacts: dict[str, list[Artifact]]) -> dict[str, list[int]]:
    return {
        name: [a.id for a in arts if a.id is not None]
        for name, arts in artifacts.items()
        if any(a.id is not None for a in arts)
    }
