"""`EndpointCreateOp`: a new, empty endpoint.

As on Vertex AI, each run creates a new endpoint: it is named after `display_name`
(lowercase letters, digits and `-`, Conveyor's rule for endpoint names), with `-2`, `-3`...
when that name is taken. `description` and `labels` go to it. Outputs: `endpoint`
(`google.VertexEndpoint`, `resourceName` `projects/P/locations/L/endpoints/NAME`, which
Conveyor's Vertex AI routes answer under: `/v1/projects/P/locations/L/endpoints/NAME:predict`)
and `gcp_resources` (`VertexLro`).
"""

from __future__ import annotations

import re
import sys

from conveyor.client import Client
from conveyor.components.gcpc._launcher import Arguments, LauncherError, main
from conveyor.errors import ConveyorError

ATTEMPTS = 1000
"""Names tried (`name`, `name-2`...) before giving up."""


def run(args: Arguments) -> None:
    base = endpoint_name(args.payload.get("display_name", ""))
    with Client() as client:
        for number in range(1, ATTEMPTS + 1):
            name = base if number == 1 else f"{base[: 62 - len(str(number))]}-{number}"
            if client.find_endpoint(name) is not None:
                continue
            try:
                client.create_endpoint(
                    name,
                    description=args.payload.get("description"),
                    labels=args.payload.get("labels"),
                )
            except ConveyorError:
                if client.find_endpoint(name) is None:
                    raise
                continue  # another task took the name since: try the next
            break
        else:
            raise LauncherError(f"endpoints {base} to {base}-{ATTEMPTS} exist; delete some")
    resource = args.resource("endpoints", name)
    args.write_gcp_resources("VertexLro", resource.operation())
    args.write_artifacts(endpoint={"resourceName": str(resource)})
    print(f"created endpoint {name}: {resource}")


def endpoint_name(display_name: str) -> str:
    """Conveyor's name for an endpoint Vertex AI would show as `display_name`."""
    name = re.sub(r"[^a-z0-9]+", "-", display_name.lower()).strip("-")
    if not name:
        raise LauncherError(
            f"display_name {display_name!r} holds no letter or digit to name the endpoint by"
        )
    if not name[0].isalpha():
        name = f"endpoint-{name}"
    return name[:63].rstrip("-")


if __name__ == "__main__":
    sys.exit(main(run))
