"""`ModelDeleteOp`: delete a model of the registry with all its versions, as Vertex AI does
(a version in the resource name is ignored, as GCPC ignores it). Refused while a version is
deployed: undeploy it first (`ModelUndeployOp`). Output: `gcp_resources` (`VertexLro`).
"""

from __future__ import annotations

import sys

from conveyor.client import Client
from conveyor.components.gcpc._launcher import Arguments, ResourceName, main


def run(args: Arguments) -> None:
    resource = ResourceName.parse(args.payload.get("model", ""), "models")
    name = resource.id.split("@", 1)[0]
    with Client() as client:
        deleted = client.delete_model(name)
    args.write_gcp_resources("VertexLro", resource.operation())
    print(f"deleted model {name} (versions {', '.join(map(str, deleted)) or 'none'})")


if __name__ == "__main__":
    sys.exit(main(run))
