"""The REST faces: the control API under `/api/v1/` (see docs/api.md).

`create_app(home)` returns the FastAPI application over a home; `conveyor serve` runs
`conveyor.api.server.create_app`, which opens the home and mounts the prediction routes
beside the control API:

    from conveyor.api import create_app
    from conveyor.home import open_home

    with open_home() as home:
        app = create_app(home)
"""

from conveyor.api.app import create_app

__all__ = ["create_app"]
