"""`ModelGetOp` (and GCPC's internal `GetVertexModelOp`): a registered version as a
`google.VertexModel` artifact.

`model_name` is `NAME` (its default version), `NAME@VERSION`, `NAME@ALIAS`, or a whole
resource name `projects/P/locations/L/models/NAME[@...]`; `--model_version` (the internal
component's) names the version apart. Output: `model` with `resourceName`
`projects/P/locations/L/models/NAME@VERSION`.
"""

from __future__ import annotations

import sys

from conveyor.client import Client
from conveyor.components.gcpc._launcher import Arguments, LauncherError, ResourceName, given, main

OPTIONS = ("--model_name", "--model_version")


def run(args: Arguments) -> None:
    name = given(args.extra.get("model_name"))
    if not name:
        raise LauncherError(
            "ModelGetOp: model_name is empty; give NAME, NAME@VERSION or NAME@ALIAS"
        )
    if name.startswith("projects/"):
        resource = ResourceName.parse(name, "models")
        args.project, args.location, name = resource.project, resource.location, resource.id
    version = given(args.extra.get("model_version"))
    if version and "@" not in name:
        name = f"{name}@{version}"
    with Client() as client:
        found = client.get_model_version(name)
    resource = args.resource("models", f"{found.model}@{found.version_id}")
    args.write_gcp_resources("VertexModel", resource.uri)
    args.write_artifacts(model={"resourceName": str(resource)})
    print(f"{name} is {found.model}@{found.version_id}: {resource}")


if __name__ == "__main__":
    sys.exit(main(run, OPTIONS))
