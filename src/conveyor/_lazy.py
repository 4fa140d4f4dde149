"""Public names of a package imported on first use (PEP 562), so that importing a light
part of a package (its errors, its enums) does not import its heavy parts (SQLAlchemy)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def exports(package: str, homes: Mapping[str, Sequence[str]]) -> Callable[[str], Any]:
    """The module `__getattr__` of `package`, whose public names live in the submodules
    `homes` maps to them (`{"errors": ("NotFound", ...)}`)."""
    module_of = {name: module for module, names in homes.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        vars(importlib.import_module(package))[name] = value  # found directly from now on
        return value

    return __getattr__
