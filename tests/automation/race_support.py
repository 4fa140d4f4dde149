"""Schedulers racing: several claimers, each with a store of its own, claiming at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from conveyor.automation.fires import Claim
from conveyor.store.metadata import MetadataStore

TTL = timedelta(minutes=1)


def race(store_url: str, source: Callable[[MetadataStore], Any], claimers: int = 4) -> list[Claim]:
    """What `claimers` threads claimed together, each calling `claim_due` of the source
    `source` makes over its own connection to the store at `store_url`."""
    claimed: list[Claim] = []
    errors: list[BaseException] = []

    def claim(owner: str) -> None:
        with MetadataStore.open(store_url) as own:
            try:
                claimed.extend(source(own).claim_due(owner, TTL))
            except Exception as error:  # shown by the assert below
                errors.append(error)

    threads = [threading.Thread(target=claim, args=(f"s{i}",)) for i in range(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return claimed
