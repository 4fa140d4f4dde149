"""The error a component raises when its inputs or parameters cannot work."""

from __future__ import annotations

from conveyor.errors import ConveyorError


class ComponentError(ConveyorError):
    """A component cannot do its job; the message names the input or parameter and the fix."""
