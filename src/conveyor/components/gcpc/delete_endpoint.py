"""`EndpointDeleteOp`: delete an endpoint. Refused while models are deployed to it, as on
Vertex AI: undeploy them first (`ModelUndeployOp`). Output: `gcp_resources` (`VertexLro`).
"""

from __future__ import annotations

import sys

from conveyor.client import Client
from conveyor.components.gcpc._launcher import Arguments, ResourceName, main


def run(args: Arguments) -> None:
    resource = ResourceName.parse(args.payload.get("endpoint", ""), "endpoints")
    with Client() as client:
        client.delete_endpoint(resource.id)
    args.write_gcp_resources("VertexLro", resource.operation())
    print(f"deleted endpoint {resource.id}")


if __name__ == "__main__":
    sys.exit(main(run))
