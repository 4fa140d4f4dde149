"""The grammar of registered pipelines' names, tags and references, as `PipelineRegistry`
checks them (and `conveyor run`, to tell a reference from a file, without the registry).

    >>> parse_pipeline_reference("train@prod")
    PipelineReference(pipeline='train', version=None, tag='prod')
    >>> parse_pipeline_reference("train@3")
    PipelineReference(pipeline='train', version=3, tag=None)
    >>> parse_pipeline_reference("train")      # or train@latest: the highest version
    PipelineReference(pipeline='train', version=None, tag=None)

Names and tags follow the rule of model names; a tag is neither `latest` nor a number,
which name versions already. Each error names the field it is about.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from conveyor.automation.errors import AutomationUsageError
from conveyor.registry.names import MODEL_NAME

PIPELINE_NAME = MODEL_NAME
"""A pipeline's name, and a tag: as a model's name (a letter, then letters, digits, `-` and
`_`, up to 128 characters)."""
LATEST = "latest"
"""The reference to the highest version; never stored, so no tag may take it."""


@dataclasses.dataclass(frozen=True)
class PipelineReference:
    """A pipeline and at most one of a version number or a tag; neither means the latest."""

    pipeline: str
    version: int | None = None
    tag: str | None = None


def check_pipeline_name(name: Any, field: str = "name") -> str:
    if not isinstance(name, str) or not PIPELINE_NAME.fullmatch(name):
        raise AutomationUsageError(
            f"{field}: pipeline name {name!r} is not valid: start with a letter and use "
            "letters, digits, '-' and '_', up to 128 characters (for example churn-training)"
        )
    return name


def check_tag(tag: Any, field: str = "tag") -> str:
    if not isinstance(tag, str) or not PIPELINE_NAME.fullmatch(tag) or tag == LATEST:
        raise AutomationUsageError(
            f"{field}: tag {tag!r} is not valid: start with a letter and use letters, digits, "
            "'-' and '_', up to 128 characters (for example prod); 'latest' and numbers "
            "name versions already"
        )
    return tag


def parse_pipeline_reference(text: Any, field: str = "reference") -> PipelineReference:
    """`name`, `name@latest`, `name@3` or `name@prod`; AutomationUsageError naming `field`
    otherwise."""
    if not isinstance(text, str):
        raise AutomationUsageError(
            f"{field}: a pipeline reference is text like train@3, not {text!r}"
        )
    name, sep, selector = text.partition("@")
    check_pipeline_name(name, field)
    if not sep or selector == LATEST:
        return PipelineReference(name)
    if selector.isascii() and selector.isdigit():
        number = int(selector)
        if number < 1:
            raise AutomationUsageError(f"{field}: versions start at 1; {text!r} names none")
        return PipelineReference(name, version=number)
    if not selector:
        raise AutomationUsageError(
            f"{field}: {text!r} ends with '@': name a version, a tag or latest after it "
            f"(for example {name}@3 or {name}@prod)"
        )
    return PipelineReference(name, tag=check_tag(selector, field))


def is_pipeline_reference(text: str) -> bool:
    """Whether `text` reads as a pipeline reference (not a file, not `file.py:function`):
    what `conveyor run` looks up in the registry."""
    try:
        parse_pipeline_reference(text)
    except AutomationUsageError:
        return False
    return True
