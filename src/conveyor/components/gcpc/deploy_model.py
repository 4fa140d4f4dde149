"""`ModelDeployOp`: deploy a registered version to an endpoint, with Vertex AI's traffic rules.

The version is the `model` input's resource name (`NAME@VERSION`), pinned as Vertex AI
pins it. `traffic_split` is Vertex AI's: deployed model id to percent, `"0"` for this
deployment; empty, the deployment takes all the traffic when nothing else takes any, else
none (Conveyor's `deploy`). Machines are not Conveyor's to choose: the machine type,
accelerator and replica counts asked for, and the deployed model's display name (GCPC 1.x
sends it), are recorded in the endpoint's labels (`deployed-model-ID-machine-type`...), not
enforced. Output: `gcp_resources` (`VertexLro`).
"""

from __future__ import annotations

import re
import sys
from typing import Any

from conveyor.client import Client
from conveyor.components.gcpc._launcher import Arguments, LauncherError, ResourceName, main

MAX_LABEL = 63


def run(args: Arguments) -> None:
    endpoint = ResourceName.parse(args.payload.get("endpoint", ""), "endpoints")
    deployed = args.payload.get("deployed_model") or {}
    model = ResourceName.parse(deployed.get("model", ""), "models")
    split = traffic_split(args.payload.get("traffic_split"))
    with Client() as client:
        result = client.deploy(endpoint.id, model.id, traffic_split=split, pin=True)
        recorded = resource_labels(result.id, deployed)
        if recorded:
            labels = {**client.get_endpoint(endpoint.id).labels, **recorded}
            client.update_endpoint(endpoint.id, labels=labels)
        shares = client.get_endpoint(endpoint.id).traffic_split
    args.write_gcp_resources("VertexLro", endpoint.operation())
    print(
        f"deployed {result.model}@{result.deployed_version} to endpoint {endpoint.id} as "
        f"deployed model {result.id}; traffic split {shares}"
        + (f"; recorded {recorded}" if recorded else "")
    )


def traffic_split(value: Any) -> dict[str, int] | None:
    """Vertex AI's traffic split with its percentages as numbers (GCPC's are text); None
    when empty."""
    if not value:
        return None
    if not isinstance(value, dict):
        raise LauncherError(f"traffic_split must map deployed model ids to percents, not {value!r}")
    try:
        return {str(k): int(v) for k, v in value.items()}
    except (TypeError, ValueError):
        raise LauncherError(
            f"traffic_split {value!r}: each percent must be a whole number"
        ) from None


def resource_labels(deployed_model_id: str, deployed: dict[str, Any]) -> dict[str, str]:
    """The machines a deployment asked for, as endpoint labels of that deployed model."""
    dedicated = deployed.get("dedicated_resources") or {}
    automatic = deployed.get("automatic_resources") or {}
    machine = dedicated.get("machine_spec") or {}
    asked = {
        "name": deployed.get("display_name"),
        "machine-type": machine.get("machine_type"),
        "accelerator-type": machine.get("accelerator_type"),
        "accelerator-count": machine.get("accelerator_count"),
        "min-replicas": dedicated.get("min_replica_count") or automatic.get("min_replica_count"),
        "max-replicas": dedicated.get("max_replica_count") or automatic.get("max_replica_count"),
    }
    return {
        f"deployed-model-{deployed_model_id}-{key}": _label_value(value)
        for key, value in asked.items()
        if value
    }


def _label_value(value: Any) -> str:
    text = re.sub(r"[^a-z0-9_-]+", "-", str(value).lower()).strip("-")
    return text[:MAX_LABEL]


if __name__ == "__main__":
    sys.exit(main(run))
