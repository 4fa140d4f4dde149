"""`ModelUploadOp`: register a model's files as a version in Conveyor's registry.

The files are the `unmanaged_container_model` input's URI (a `dsl.importer` of
`google.UnmanagedContainerModel`), or the payload's `artifact_uri` (GCPC 1.x). Its
serving container (`containerSpec.imageUri`) picks the framework (`_containers`).
The model is the `parent_model`'s when one is given (a new version of it), else the one
named after `display_name` (made by its first upload, then a new version per upload).
`version_aliases`, `labels` and `description` go to the version. The version is marked
trusted: Vertex AI's prebuilt containers load pickles, and a custom predictor runs its code.

Outputs: `model` (`google.VertexModel`, `resourceName` `projects/P/locations/L/models/NAME@VERSION`)
and `gcp_resources` (the upload's `VertexLro`).
"""

from __future__ import annotations

import re
import sys

from conveyor.client import Client
from conveyor.components.gcpc import _containers
from conveyor.components.gcpc._launcher import Arguments, LauncherError, ResourceName, main
from conveyor.components.gcpc._storage import Storage

OPTIONS = ("--parent_model_name",)


def run(args: Arguments) -> None:
    payload = args.payload
    files, image = _model_files(args)
    parent = args.extra.get("parent_model_name") or payload.get("parent_model")
    with Client() as client:
        storage = Storage.of(client)
        source = storage.local(files)
        kind = _containers.framework(image, storage.names(files))
        if parent:
            name = ResourceName.parse(parent, "models").id.split("@", 1)[0]
            client.get_model_version(name)  # the parent exists, as on Vertex AI
        else:
            name = model_name(payload.get("display_name", ""))
        version = client.upload_model(
            name,
            source,
            framework=kind,
            description=payload.get("description"),
            labels=payload.get("labels"),
            aliases=payload.get("version_aliases") or (),
            trusted=True,
            run_id=_run_id(payload),
        )
    resource = args.resource("models", f"{version.model}@{version.version_id}")
    args.write_gcp_resources("VertexLro", resource.operation())
    args.write_artifacts(model={"resourceName": str(resource)})
    print(f"uploaded {files} ({kind}) as {version.model}@{version.version_id}: {resource}")


def _model_files(args: Arguments) -> tuple[str, str]:
    """The URI of the model's files and its serving container's image."""
    artifact = args.input_artifact("unmanaged_container_model")
    if artifact is not None:
        spec = (artifact.get("metadata") or {}).get("containerSpec") or {}
        return artifact.get("uri", ""), spec.get("imageUri", "")
    uri = args.payload.get("artifact_uri", "")
    if not uri:
        raise LauncherError(
            "ModelUploadOp has no model files: give it unmanaged_container_model, a "
            "dsl.importer of google.UnmanagedContainerModel with the model folder's URI"
        )
    return uri, args.payload.get("container_spec", {}).get("image_uri", "")


def _run_id(payload: dict) -> str | None:
    """The uploading run: GCPC names it in the payload's `pipeline_job`
    (`projects/P/locations/L/pipelineJobs/RUN`), which Conveyor fills with the run's id."""
    job = payload.get("pipeline_job", "")
    run_id = job.rsplit("/", 1)[-1] if "/pipelineJobs/" in job else ""
    return run_id or None


def model_name(display_name: str) -> str:
    """The registry's name for a model Vertex AI would show as `display_name`: letters,
    digits, `-` and `_`, starting with a letter, up to 128 characters."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", display_name).strip("-_")
    if not name:
        raise LauncherError(
            f"display_name {display_name!r} holds no letter or digit to name the model by"
        )
    if not name[0].isalpha():
        name = f"model-{name}"
    return name[:128]


if __name__ == "__main__":
    sys.exit(main(run, OPTIONS))
