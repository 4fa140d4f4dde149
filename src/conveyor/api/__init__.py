"""The REST faces: the control API under `/api/v1/` (see docs/api.md).

`create_app()` returns the FastAPI application; `conveyor serve` runs it with uvicorn,
the prediction routes mounted beside the registry's:

    from conveyor.api import create_app

    app = create_app()
"""

from conveyor.api.app import create_app

__all__ = ["create_app"]
