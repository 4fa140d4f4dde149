"""Register the SavedModel a TFX Pusher pushed, as the next version of a registry model.

`TfxExecutor` runs it (`python -m conveyor.components.tfx_push --run-id RUN --task KEY
--uri DIR [--model NAME]`) in Conveyor's interpreter with the run's settings, once a Pusher task
pushed: TFX's own process knows nothing of Conveyor. The version has framework
`tensorflow`, is named `NAME` (the Pusher's `custom_config` `conveyor_model_name`; default
the pipeline's name) and links to the run and the Pusher's execution that pushed it.
"""

from __future__ import annotations

import argparse
import sys

from conveyor.client import Client
from conveyor.errors import ConveyorError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="conveyor.components.tfx_push")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--task", required=True, help="the Pusher's task key in the run")
    parser.add_argument("--uri", required=True, help="the folder the Pusher pushed to")
    parser.add_argument("--model", help="the registry model (default: the pipeline's name)")
    args = parser.parse_args(argv)
    try:
        with Client() as client:
            run = client.get_run(args.run_id)
            pusher = [e.id for e in run.executions if e.task_key == args.task]
            version = client.upload_model(
                args.model or run.pipeline_name,
                args.uri,
                framework="tensorflow",
                description=f"SavedModel pushed by TFX's Pusher in run {args.run_id}",
                run_id=args.run_id,
                execution_id=pusher[-1] if pusher else None,
                comment="pushed by TFX's Pusher",
            )
    except ConveyorError as exc:
        print(f"could not register the pushed model {args.uri}: {exc}", file=sys.stderr)
        return 1
    print(f"REGISTERED {version.reference} from {args.uri}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
