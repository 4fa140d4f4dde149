"""`ModelUndeployOp`: stop serving a model from an endpoint.

The deployed model is the endpoint's first that serves the `model` input's model (and
its version, when the resource name has one), as GCPC finds it. Its traffic goes to the
others in proportion, or as `traffic_split` says. Output: `gcp_resources` (`VertexLro`).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from conveyor.client import Client
from conveyor.components.gcpc._launcher import Arguments, LauncherError, ResourceName, main
from conveyor.components.gcpc.deploy_model import traffic_split

if TYPE_CHECKING:
    from conveyor.serving.records import DeployedModel


def run(args: Arguments) -> None:
    endpoint = ResourceName.parse(args.payload.get("endpoint", ""), "endpoints")
    model = ResourceName.parse(args.payload.get("model", ""), "models")
    name, _, version = model.id.partition("@")
    with Client() as client:
        found = next(
            (
                d
                for d in client.get_endpoint(endpoint.id).deployed_models
                if d.model == name and (not version or version in _versions(d))
            ),
            None,
        )
        if found is None:
            raise LauncherError(f"model {model.id} is not deployed to endpoint {endpoint.id}")
        split = traffic_split(args.payload.get("traffic_split"))
        after = client.undeploy(endpoint.id, found.id, traffic_split=split)
    args.write_gcp_resources("VertexLro", endpoint.operation())
    print(
        f"undeployed deployed model {found.id} ({found.model}@{found.deployed_version}) from "
        f"endpoint {endpoint.id}; traffic split {after.traffic_split}"
    )


def _versions(deployed: DeployedModel) -> set[str]:
    """The versions a deployed model stands for: the one deployed, the one its alias names."""
    return {str(v) for v in (deployed.deployed_version, deployed.version_id) if v is not None}


if __name__ == "__main__":
    sys.exit(main(run))
