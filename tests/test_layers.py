"""What import-linter cannot see: no module reaches into another's private names.

A layer uses the layers below it through their public API (DESIGN.md): the store's
`transaction()`, not its `_write()`. The check reads every module's syntax tree: a
private attribute (`_name`) may only be read on `self`, `cls` or `super()`, and a
private name may only be imported from within its own package. A module may reach the
private names it defines itself (a class's factory method preparing a new instance).
"""

import ast
from pathlib import Path

import conveyor

PACKAGE = Path(conveyor.__file__).parent

PUBLIC_DESPITE_UNDERSCORE = {"_exit", "_mapping", "_make", "_asdict", "_fields", "_strip_protocol"}
"""Public API of other libraries that starts with an underscore: `os._exit`, SQLAlchemy's
`Row._mapping` (named-tuple style), fsspec's `_strip_protocol`."""


def private_reaches(source: str, package: str) -> list[str]:
    """Each place in `source` (a module of `package`) that uses another object's or
    package's private name."""
    tree = ast.parse(source)
    defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in defined:
            owner = node.value
            own = isinstance(owner, ast.Name) and owner.id in ("self", "cls")
            parent = isinstance(owner, ast.Call) and ast.unparse(owner.func) == "super"
            if not (own or parent or node.attr in PUBLIC_DESPITE_UNDERSCORE):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("conveyor.") and not _within(node.module, package):
                for alias in node.names:
                    if _private(alias.name):
                        found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_no_module_reaches_into_another_s_private_names():
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        package = ".".join(("conveyor", *path.relative_to(PACKAGE).parent.parts))
        offences += [
            f"{path.relative_to(PACKAGE)} {o}" for o in private_reaches(path.read_text(), package)
        ]
    assert offences == []


def test_the_check_finds_what_it_forbids():
    assert private_reaches("store._write()", "conveyor.registry") == ["line 1: store._write"]
    assert private_reaches("from conveyor.store.metadata import _rows", "conveyor.registry") == [
        "line 1: from conveyor.store.metadata import _rows"
    ]
    allowed = (
        "self._x\ncls._y\nsuper()._z()\nos._exit(0)\nrow._mapping\n"
        "from conveyor.serving import _rows\ndef _own(): pass\nother._own()"
    )
    assert private_reaches(allowed, "conveyor.serving") == []
