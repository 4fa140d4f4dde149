"""`PipelineRegistry`: pipeline templates with numbered versions and tags (Vertex AI's
template registry, KFP's pipelines and pipeline versions), kept in the metadata store.

    from conveyor.home import open_home

    with open_home() as home:
        pipelines = home.pipelines
        v = pipelines.upload("train", "pipeline.py:train", tags=["prod"])   # train@1
        pipelines.upload("train", "pipeline.py:train").created             # False: same spec
        pipelines.resolve("train@prod").version                             # 1
        spec = pipelines.spec("train@latest")                               # a PipelineSpec
        pipelines.tag("train@1", "stable")
        pipelines.delete("train", 1)

A version holds its compiled spec by digest (`pipeline_specs` keeps each spec once, shared
with the runs of it), the default values of its parameters and what it was uploaded from.
Uploading the spec of the latest version again makes no version. Versions are numbered 1,
2, ... and a number is never given twice, even after a delete. A reference is `name`
(= `name@latest`, the highest version), `name@3` or `name@prod` (a tag); names, tags and
references are checked as `conveyor.automation.references` says. Deleting is refused while a delete guard (a schedule, a trigger) says the version
or the pipeline is in use. Each call is one transaction. See docs/automation.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row

from conveyor.automation import _pipeline_rows as rows
from conveyor.automation.errors import AutomationConflict, AutomationUsageError, PipelineNotFound
from conveyor.automation.records import PipelineVersionRecord, RegisteredPipelineRecord
from conveyor.automation.references import (
    PipelineReference,
    check_pipeline_name,
    check_tag,
    parse_pipeline_reference,
)
from conveyor.pipelines import parameters, validate
from conveyor.pipelines import spec as specs
from conveyor.registry.history import current_user
from conveyor.store.metadata import MetadataStore
from conveyor.store.metadata.kinds import MAX_ID

DeleteGuard = Callable[[str, int | None], str | None]
"""Asked before a delete with the pipeline's name and the version (None: the whole
pipeline); answers who uses it (`schedule nightly`), or None."""


class PipelineRegistry:
    """Registered pipelines over a metadata store; `user` names who uploads (default: the
    OS user, or `CONVEYOR_USER`)."""

    def __init__(
        self,
        store: MetadataStore,
        *,
        user: str | None = None,
        delete_guards: list[DeleteGuard] | None = None,
    ) -> None:
        self.store = store
        self.user = user
        self._guards = delete_guards if delete_guards is not None else []
        """Shared, not copied, by the registries `acting_as` makes."""

    def acting_as(self, user: str) -> PipelineRegistry:
        """The same registry, recording `user` as who uploads; its delete guards are shared."""
        return PipelineRegistry(self.store, user=user, delete_guards=self._guards)

    def add_delete_guard(self, guard: DeleteGuard) -> None:
        """Ask `guard` before deleting a version or a pipeline (see `DeleteGuard`)."""
        self._guards.append(guard)

    # Versions

    def upload(
        self,
        name: str,
        pipeline: Any,
        *,
        tags: Sequence[str] = (),
        description: str | None = None,
        source: str | None = None,
    ) -> PipelineVersionRecord:
        """Register `pipeline` (a `@dsl.pipeline` function, a compiled `.yaml`/`.json`, a
        `file.py:function` target, or the compiled spec as a dict) as the next version of
        `name`, creating the pipeline on its first upload, and put `tags` on it.

        The spec is checked as `conveyor run` checks it. If it is the latest version's
        spec, no version is made: the latest is returned (`created` False) with `tags`
        moved onto it. A `description` given also becomes the pipeline's."""
        check_pipeline_name(name)
        wanted = list(dict.fromkeys(check_tag(t, "tags") for t in _texts(tags, "tags")))
        _check_text(description, "description")
        _check_text(source, "source")
        spec = specs.load(pipeline)
        validate.check_spec(spec)
        if source is None and isinstance(pipeline, str | Path):
            source = str(pipeline)
        digest = self.store.store_spec(spec)
        with self.store.transaction(write=True) as conn:
            row = rows.find_pipeline(conn, name, lock=True) or rows.create_pipeline(
                conn, name, description, self._actor()
            )
            latest = rows.latest_version(conn, row.id)
            created = latest is None or latest.spec_digest != digest
            if created:
                number = row.last_version + 1
                rows.insert_version(
                    conn,
                    {
                        "pipeline_id": row.id,
                        "version": number,
                        "spec_digest": digest,
                        "description": description,
                        "default_parameters": default_parameters(spec),
                        "source": source,
                        "created_by": self._actor(),
                    },
                )
                rows.update_pipeline(conn, row.id, last_version=number)
            else:
                number = latest.version
            if description is not None:
                rows.update_pipeline(conn, row.id, description=description)
            for tag in wanted:
                rows.set_tag(conn, row.id, tag, number)
            made = rows.version_row(conn, row.id, number)
            return rows.version_record(name, made, rows.tags_of(conn, row.id), created=created)

    def versions(self, name: str) -> list[PipelineVersionRecord]:
        """The versions of pipeline `name`, newest first."""
        check_pipeline_name(name)
        with self.store.transaction() as conn:
            row = rows.pipeline_row(conn, name)
            tags = rows.tags_of(conn, row.id)
            return [rows.version_record(name, v, tags) for v in rows.version_rows(conn, row.id)]

    def resolve(self, reference: str) -> PipelineVersionRecord:
        """The version `reference` names: `name` or `name@latest` (the highest version),
        `name@3`, `name@prod` (the version the tag names now)."""
        ref = parse_pipeline_reference(reference)
        with self.store.transaction() as conn:
            row = rows.pipeline_row(conn, ref.pipeline)
            tags = rows.tags_of(conn, row.id)
            found = rows.version_row(conn, row.id, _number(ref, row, tags, conn))
            if found is None:
                raise _no_version(ref)
            return rows.version_record(ref.pipeline, found, tags)

    def spec(self, reference: str) -> specs.PipelineSpec:
        """The compiled spec of the version `reference` names, checked, ready to run."""
        spec = specs.PipelineSpec(self.store.get_spec(self.resolve(reference).spec_digest))
        validate.check_spec(spec)
        return spec

    # Pipelines

    def get(self, name: str) -> RegisteredPipelineRecord:
        check_pipeline_name(name)
        with self.store.transaction() as conn:
            row = rows.pipeline_row(conn, name)
            latest = rows.latest_version(conn, row.id)
            return rows.pipeline_record(
                row, latest.version if latest else None, rows.tags_of(conn, row.id)
            )

    def list(self) -> list[RegisteredPipelineRecord]:
        """Every registered pipeline, by name."""
        with self.store.transaction() as conn:
            latest = rows.latest_versions(conn)
            tags = rows.all_tags(conn)
            return [
                rows.pipeline_record(r, latest.get(r.id), tags.get(r.id, {}))
                for r in rows.pipeline_rows(conn)
            ]

    # Tags

    def tag(self, reference: str, tag: str) -> PipelineVersionRecord:
        """Put `tag` on the version `reference` names, moving it from the version holding it;
        that version, with its tags."""
        check_tag(tag)
        target = self.resolve(reference)
        with self.store.transaction(write=True) as conn:
            row = rows.pipeline_row(conn, target.pipeline, lock=True)
            found = rows.version_row(conn, row.id, target.version)
            if found is None:  # deleted since it was resolved
                raise _no_version(PipelineReference(target.pipeline, version=target.version))
            rows.set_tag(conn, row.id, tag, target.version)
            rows.update_pipeline(conn, row.id)
            return rows.version_record(target.pipeline, found, rows.tags_of(conn, row.id))

    def untag(self, name: str, tag: str) -> None:
        """Take `tag` off the version holding it."""
        check_pipeline_name(name)
        check_tag(tag)
        with self.store.transaction(write=True) as conn:
            row = rows.pipeline_row(conn, name, lock=True)
            if not rows.delete_tag(conn, row.id, tag):
                raise _no_tag(name, tag)
            rows.update_pipeline(conn, row.id)

    # Deleting

    def delete(self, name: str, version: int | None = None) -> None:
        """Delete version `version` of pipeline `name`, or (None) the whole pipeline, with
        the tags naming what goes. The specs stay, for the runs of them. Refused with
        `AutomationConflict` while a delete guard says it is in use."""
        check_pipeline_name(name)
        if version is not None and (
            isinstance(version, bool) or not isinstance(version, int) or version < 1
        ):
            raise AutomationUsageError(f"version: a version is a number from 1, not {version!r}")
        what = f"pipeline {name}" if version is None else f"{name}@{version}"
        with self.store.transaction() as conn:
            row = rows.pipeline_row(conn, name)
            if version is not None and (
                version > MAX_ID or rows.version_row(conn, row.id, version) is None
            ):
                raise _no_version(PipelineReference(name, version=version))
        for guard in self._guards:
            reason = guard(name, version)
            if reason:
                raise AutomationConflict(
                    f"{what} is in use ({reason}); change or delete that first, then delete it"
                )
        with self.store.transaction(write=True) as conn:
            row = rows.pipeline_row(conn, name, lock=True)
            if version is None:
                rows.delete_pipeline(conn, row.id)
            else:
                rows.delete_version(conn, row.id, version)
                rows.update_pipeline(conn, row.id)

    def _actor(self) -> str:
        return self.user or current_user()


def default_parameters(spec: specs.PipelineSpec) -> dict[str, Any]:
    """The values the spec's root gives its parameters (`defaultValue`), typed as a run
    binds them."""
    declared = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    return {
        name: parameters.normalize(
            definition["defaultValue"], definition.get("parameterType", parameters.STRING)
        )
        for name, definition in declared.items()
        if "defaultValue" in definition
    }


def _number(ref: PipelineReference, row: Row[Any], tags: dict[str, int], conn: Connection) -> int:
    """The version number `ref` names in pipeline `row`."""
    if ref.version is not None:
        if ref.version > MAX_ID:
            raise _no_version(ref)
        return ref.version
    if ref.tag is not None:
        if ref.tag not in tags:
            raise _no_tag(ref.pipeline, ref.tag)
        return tags[ref.tag]
    latest = rows.latest_version(conn, row.id)
    if latest is None:
        raise PipelineNotFound(
            f"pipeline {ref.pipeline!r} has no versions; `conveyor pipelines upload "
            f"{ref.pipeline} TARGET` adds one"
        )
    return latest.version


def _no_version(ref: PipelineReference) -> PipelineNotFound:
    return PipelineNotFound(
        f"pipeline {ref.pipeline!r} has no version {ref.version}; "
        f"`conveyor pipelines versions {ref.pipeline}` shows its versions"
    )


def _no_tag(name: str, tag: str) -> PipelineNotFound:
    return PipelineNotFound(
        f"pipeline {name!r} has no tag {tag!r}; `conveyor pipelines show {name}` shows its tags"
    )


def _texts(values: Any, field: str) -> list[Any]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise AutomationUsageError(f"{field}: give a list of tags, not {values!r}")
    return list(values)


def _check_text(value: Any, field: str) -> None:
    if value is not None and (not isinstance(value, str) or "\x00" in value):
        raise AutomationUsageError(f"{field}: give text without NUL characters, not {value!r}")
