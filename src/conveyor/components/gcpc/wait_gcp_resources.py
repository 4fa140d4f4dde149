"""`WaitGcpResourcesOp`: wait for the resource an upstream task's `gcp_resources` names.

Every job Conveyor runs for a GCPC component has ended when its task ends, so there is
nothing to wait for: the task completes at once, passing its input on as its own
`gcp_resources`, as GCPC does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conveyor.components.gcpc._launcher import Arguments, LauncherError, main


def run(args: Arguments) -> None:
    if not args.payload.get("resources"):
        raise LauncherError(
            "WaitGcpResourcesOp: gcp_resources names no resource; give it the gcp_resources "
            "output of an upstream GCPC task"
        )
    if args.gcp_resources:
        Path(args.gcp_resources).write_text(json.dumps(args.payload, indent=2))
    for resource in args.payload["resources"]:
        print(f"{resource.get('resourceType')} {resource.get('resourceUri')} has ended")


if __name__ == "__main__":
    sys.exit(main(run))
