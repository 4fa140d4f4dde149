"""The grammar of what users name: models, aliases and labels, checked as Vertex AI checks them.

- A model name starts with a letter and holds letters, digits, `-` and `_`,
  up to 128 characters (Vertex AI's resource names); names are case-sensitive.
- An alias matches `[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]`: it starts with a
  lowercase letter, so it never reads as a version number. `default` is an
  alias too, with rules of its own (see `aliases.py`).
- Labels: up to 64; keys of 1 to 63 characters, values of 0 to 63, made of
  lowercase letters (international letters too), digits, `_` and `-`; keys
  start with a letter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from conveyor.registry.errors import InvalidLabels, InvalidName

DEFAULT = "default"
"""The alias of the version used when none is named; exactly one version holds it."""

MODEL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,127}")
ALIAS = re.compile(r"[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]")
MAX_LABELS = 64
MAX_LABEL_LENGTH = 63


def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not MODEL_NAME.fullmatch(name):
        raise InvalidName(
            f"model name {name!r} is not valid: start with a letter and use letters, digits, "
            "'-' and '_', up to 128 characters (for example churn-classifier)"
        )
    return name


def check_alias(alias: str) -> str:
    if not isinstance(alias, str) or not ALIAS.fullmatch(alias):
        raise InvalidName(
            f"alias {alias!r} is not valid: use 2 to 128 characters, letters, digits and '-', "
            "starting with a lowercase letter and ending with a lowercase letter or digit "
            "(for example production or champion-2)"
        )
    return alias


def check_aliases(aliases: Iterable[str]) -> list[str]:
    """The aliases, checked, without repeats, in the order given."""
    if isinstance(aliases, str):
        aliases = [aliases]
    return list(dict.fromkeys(check_alias(a) for a in aliases))


def check_labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    """The labels as a plain dict, or InvalidLabels naming the first bad key or value."""
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise InvalidLabels(f"labels must be a mapping of key to value, not {labels!r}")
    if len(labels) > MAX_LABELS:
        raise InvalidLabels(f"{len(labels)} labels given; a model holds at most {MAX_LABELS}")
    for key, value in labels.items():
        if not isinstance(key, str) or not _label_text(key) or not _label_letter(key[0]):
            raise InvalidLabels(
                f"label key {key!r} is not valid: use 1 to 63 lowercase letters, digits, "
                "'_' and '-', starting with a letter (for example team)"
            )
        if not isinstance(value, str) or (value and not _label_text(value)):
            raise InvalidLabels(
                f"value {value!r} of label {key!r} is not valid: use up to 63 lowercase "
                "letters, digits, '_' and '-' (for example fraud-v2)"
            )
    return dict(labels)


def _label_text(text: str) -> bool:
    return 0 < len(text) <= MAX_LABEL_LENGTH and all(
        c in "_-" or c.isdigit() or _label_letter(c) for c in text
    )


def _label_letter(c: str) -> bool:
    """A lowercase letter, or a letter of a script without case (international characters)."""
    return c.isalpha() and not c.isupper()
