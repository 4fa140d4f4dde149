"""MLflow's entry point into Conveyor (`mlflow.tracking_store`, schemes `conveyor` and
`conveyor+file`): it builds the tracking store when MLflow first needs one.

MLflow loads its plugins while it imports itself, and Conveyor's MLflow modules import
MLflow: were the entry point one of them, a program that imported one of those modules
first would have MLflow load it half-made, and the scheme would go unregistered. This
module imports nothing of either until it is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conveyor.experiments.mlflow_store import ConveyorTrackingStore


def tracking_store(store_uri: str, artifact_uri: str | None = None) -> ConveyorTrackingStore:
    """The store of `store_uri` (`conveyor://`, `conveyor+file:///path/to/home`)."""
    from conveyor.experiments.mlflow_store import ConveyorTrackingStore

    return ConveyorTrackingStore(store_uri, artifact_uri)
