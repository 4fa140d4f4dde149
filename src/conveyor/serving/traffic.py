"""Traffic splits: checking them, rescaling them as Vertex AI does, and routing by them.

A split maps deployed model ids to whole percentages that add up to 100 (or is empty when
the endpoint serves nothing). Deploying with a `traffic_percentage` gives the new model
that share and scales the others down to fit the rest; undeploying a model that had
traffic scales the others up to fill its share. Rounding leaves a few points over, which
go one each to the models in the split's order, so the total is exactly 100.

`Router` picks a deployed model for each request by smooth weighted round robin: with
70/30, every run of 100 consecutive requests sends exactly 70 to the first and 30 to the
second, interleaved (no bursts), and the same way every time.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from conveyor.serving.errors import InvalidTraffic

NEW = "0"
"""The key of the model being deployed in a split given with the deployment (Vertex AI)."""


def check_percentage(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise InvalidTraffic(f"traffic percentage {value!r} must be a whole number from 0 to 100")
    return value


def check_split(split: Mapping[Any, Any], ids: Sequence[str]) -> dict[str, int]:
    """`split` as {id: percent} over exactly `ids` (absent ids get 0), or InvalidTraffic."""
    found: dict[str, int] = {}
    for key, value in split.items():
        key = str(key)
        if key not in ids:
            known = ", ".join(ids) or "none"
            raise InvalidTraffic(
                f"the traffic split names deployed model {key!r}, which is not on the "
                f"endpoint (deployed models: {known})"
            )
        found[key] = check_percentage(value)
    total = sum(found.values())
    if ids and total != 100:
        shown = ", ".join(f"{k}={v}" for k, v in found.items()) or "nothing"
        raise InvalidTraffic(
            f"the traffic split must add up to 100, not {total} ({shown}); for example "
            + " ".join(f"{i}={p}" for i, p in zip(ids, _even(len(ids)), strict=True))
        )
    return {i: found.get(i, 0) for i in ids}


def allocate(split: Mapping[str, int], new_id: str, percentage: int) -> dict[str, int]:
    """The split after deploying `new_id` with `percentage`: the others share the rest in
    proportion to what they had."""
    percentage = check_percentage(percentage)
    rest = 100 - percentage
    if not any(split.values()):
        if rest:
            raise InvalidTraffic(
                "no other deployed model of the endpoint takes traffic, so the new one must "
                f"take 100%, not {percentage}%; or give the whole traffic split"
            )
        return {**dict.fromkeys(split, 0), new_id: 100}
    scaled = {k: v * rest // 100 for k, v in split.items()}
    _fill(scaled, rest, split)
    scaled[new_id] = percentage
    return scaled


def unallocate(split: Mapping[str, int], removed: str) -> dict[str, int]:
    """The split after undeploying `removed`: the others grow in proportion to fill its
    share. InvalidTraffic when they all had none (there is no proportion to keep)."""
    rest = {k: v for k, v in split.items() if k != removed}
    share = split.get(removed, 0)
    if not rest or not share:
        return rest
    left = 100 - share
    if not left:
        raise InvalidTraffic(
            f"deployed model {removed} takes all the traffic; give the traffic split of the "
            f"remaining models ({', '.join(rest)}) to undeploy it"
        )
    scaled = {k: v * 100 // left for k, v in rest.items()}
    _fill(scaled, 100, rest)
    return scaled


def _fill(scaled: dict[str, int], total: int, weights: Mapping[str, int]) -> None:
    """Add the points rounding lost, one each, to the models that had traffic, in order."""
    short = total - sum(scaled.values())
    for key in [k for k, v in weights.items() if v]:
        if short <= 0:
            break
        scaled[key] += 1
        short -= 1


def _even(n: int) -> list[int]:
    base = [100 // n] * n
    base[0] += 100 - sum(base)
    return base


class Router:
    """Smooth weighted round robin over the deployed models that take traffic."""

    def __init__(self, weights: Mapping[Any, int]) -> None:
        self.items = [key for key, weight in weights.items() if weight > 0]
        self.weights = [weights[key] for key in self.items]
        self.total = sum(self.weights)
        self.current = [0] * len(self.items)
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self.items)

    def pick(self) -> Any:
        """The next deployed model (a key of `weights`); the router must not be empty."""
        if len(self.items) == 1:
            return self.items[0]
        with self._lock:
            current = self.current
            best = 0
            for i, weight in enumerate(self.weights):
                current[i] += weight
                if current[i] > current[best]:
                    best = i
            current[best] -= self.total
            return self.items[best]
