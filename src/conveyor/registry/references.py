"""References to a model version: `churn`, `churn@3`, `churn@production`.

    >>> parse_reference("churn@production")
    Reference(model='churn', version=None, alias='production')
    >>> parse_reference("churn@3")
    Reference(model='churn', version=3, alias=None)
    >>> parse_reference("churn").describe()
    'churn@default'

A bare name means the version holding `default`. A selector may also be passed
apart from the name (`version_selector`), as an int, a string of digits, or an alias.
"""

from __future__ import annotations

from dataclasses import dataclass

from conveyor.registry.errors import InvalidName, VersionNotFound
from conveyor.registry.names import DEFAULT, check_alias, check_model_name
from conveyor.store.metadata.kinds import MAX_ID


@dataclass(frozen=True)
class Reference:
    """A model and at most one of a version id or an alias; neither means `default`."""

    model: str
    version: int | None = None
    alias: str | None = None

    @property
    def names_version(self) -> bool:
        """Whether the reference picks a version (by id or alias) rather than the model."""
        return self.version is not None or self.alias is not None

    def describe(self) -> str:
        """`model@version` or `model@alias`, for messages."""
        return f"{self.model}@{self.version if self.version is not None else self.alias or DEFAULT}"


def parse_reference(text: str) -> Reference:
    """`name`, `name@<version id>` or `name@<alias>` as a Reference; InvalidName otherwise."""
    if not isinstance(text, str):
        raise InvalidName(f"a model reference is a string like churn@3, not {text!r}")
    model, sep, selector = text.partition("@")
    check_model_name(model)
    if not sep:
        return Reference(model)
    if not selector:
        raise InvalidName(
            f"{text!r} ends with '@': name a version id or an alias after it "
            f"(for example {model}@3 or {model}@production)"
        )
    return with_selector(model, selector)


def with_selector(model: str, selector: int | str | None) -> Reference:
    """A reference to `model` at a version id (int or digits) or an alias; None: default."""
    if selector is None:
        return Reference(model)
    if isinstance(selector, bool):
        raise InvalidName(f"version {selector!r} is not a version id or an alias")
    if isinstance(selector, int) or (
        isinstance(selector, str) and selector.isascii() and selector.isdigit()
    ):
        number = int(selector)
        if number < 1:
            raise InvalidName(f"version ids start at 1; {model}@{selector} names none")
        if number > MAX_ID:  # names no version: a store's ids stop there
            raise VersionNotFound(f"model {model!r} has no version {number}")
        return Reference(model, version=number)
    return Reference(model, alias=check_alias(selector))


def resolve_reference(model: str, version: int | str | None) -> Reference:
    """What the API's (model, version) arguments name: `model` may itself be `name@selector`,
    in which case `version` must be left out."""
    ref = parse_reference(model)
    if version is None:
        return ref
    if ref.names_version:
        raise InvalidName(
            f"{model!r} already names a version; pass the version once "
            f"({model} alone, or {ref.model} with version={version!r})"
        )
    return with_selector(ref.model, version)
