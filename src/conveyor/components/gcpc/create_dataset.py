"""`TabularDatasetCreateOp`, `TimeSeriesDatasetCreateOp`, `ImageDatasetCreateOp`,
`TextDatasetCreateOp`, `VideoDatasetCreateOp`: a dataset artifact of local files.

Vertex AI makes a managed dataset that points at the `gcs_source` files. Here the files
(each URI, wildcards expanded; a list of URIs too) are copied into the `dataset` output
artifact, a folder the tasks after it read like any dataset; its metadata has the
`resourceName` (`projects/P/locations/L/datasets/ID`) GCPC's components read. `bq_source`
(BigQuery) is refused: read the table in a component of your own. Image, text and video
datasets' `import_schema_uri` is not interpreted: the files are copied as they are.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conveyor.client import Client
from conveyor.components.gcpc._launcher import Arguments, LauncherError, given, main, new_id
from conveyor.components.gcpc._storage import Storage

OPTIONS = (
    "--cls_name",
    "--method_name",
    "--method.project",
    "--method.location",
    "--method.display_name",
    "--method.gcs_source",
    "--method.bq_source",
)


def run(args: Arguments) -> None:
    kind = args.extra.get("cls_name") or "Dataset"
    args.project = given(args.extra.get("method.project")) or args.project
    args.location = given(args.extra.get("method.location")) or args.location
    if given(args.extra.get("method.bq_source")):
        raise LauncherError(
            f"{kind}CreateOp: bq_source (BigQuery) is not read by Conveyor; export the table "
            "to files and give gcs_source, or read it in a component of your own"
        )
    sources = _sources(args.extra.get("method.gcs_source"))
    folder = Path(args.output_artifact("dataset")["uri"])
    with Client() as client:
        storage = Storage.of(client)
        files = [f for uri in sources for f in storage.expand(uri)]
        names = [f.rstrip("/").rsplit("/", 1)[-1] for f in files]
        if len(set(names)) < len(names):
            raise LauncherError(
                f"{kind}CreateOp: gcs_source names files of the same name in different "
                f"folders ({', '.join(files)}); the dataset's folder holds each name once"
            )
        for uri in files:
            storage.copy_into(uri, folder)
    resource = args.resource("datasets", new_id())
    args.write_artifacts(dataset={"resourceName": str(resource)})
    display = args.extra.get("method.display_name") or ""
    print(f"{kind} {display!r} ({resource}): {len(files)} files copied into {folder}")


def _sources(value: str | None) -> list[str]:
    """`gcs_source`: one URI, or a JSON list of them."""
    text = given(value)
    if not text:
        raise LauncherError("the dataset has no gcs_source: give the URI of its files")
    if text.startswith("["):
        try:
            listed = json.loads(text)
        except ValueError:
            raise LauncherError(f"gcs_source {text!r} is not a JSON list of URIs") from None
        return [str(u) for u in listed]
    return [text]


if __name__ == "__main__":
    sys.exit(main(run, OPTIONS))
