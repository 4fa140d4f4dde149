"""Stores kept open within a process, one per database, so opening one again is nearly free.

Opening a store from nothing costs milliseconds: an engine, a connection, a
schema check, and SQLAlchemy compiling each statement again (its compiled
cache belongs to the engine). A fully cached run of a pipeline takes a few
milliseconds in all, so `MetadataStore.open` takes stores from this shelf:
one per URL, counted out and back in, and the few most recently given back
stay open for the next `open`. A store is taken again only if it is still
`current()` (the same SQLite file, the schema at this code's revision);
otherwise it is put away and a new one is opened.

A forked child forgets the shelf: its parent's connections are not its own.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol, TypeVar

KEEP_IDLE = 4
"""Stores given back by all their users that stay open for the next `take`."""


class Shelved(Protocol):
    def current(self) -> bool:
        """Whether the store still speaks for the database at its URL."""

    def dispose(self) -> None:
        """Close its connections for good."""


S = TypeVar("S", bound=Shelved)


class Shelf:
    """Open stores by URL, with the number of users of each."""

    def __init__(self, keep_idle: int = KEEP_IDLE) -> None:
        self.keep_idle = keep_idle
        self._lock = threading.Lock()
        self._stores: OrderedDict[str, Shelved] = OrderedDict()
        """By URL, least recently taken first."""
        self._users: dict[int, int] = {}
        """Users of each store handed out, by `id` of the store (shelved or not)."""

    def take(self, url: str, open_new: Callable[[], S]) -> S:
        """The shelved store for `url` if it is still current, else a newly opened one."""
        with self._lock:
            store = self._stores.get(url)
            if store is not None:
                self._stores.move_to_end(url)
                self._users[id(store)] = self._users.get(id(store), 0) + 1
        if store is not None:
            if store.current():
                return store  # type: ignore[return-value]
            self.give_back(store, stale=True)
        fresh = open_new()  # outside the lock: it may migrate or wait for a server
        with self._lock:
            self._stores[url] = fresh
            self._users[id(fresh)] = 1
        self._put_away_idle()
        return fresh

    def give_back(self, store: Shelved, *, stale: bool = False) -> None:
        """One user is done with `store`; `stale` (no longer current) takes it off the shelf."""
        with self._lock:
            users = self._users.get(id(store), 1) - 1
            shelved = [url for url, s in self._stores.items() if s is store]
            if stale:
                for url in shelved:
                    del self._stores[url]
                shelved = []
            if users > 0:
                self._users[id(store)] = users
                return
            self._users.pop(id(store), None)
        if not shelved:
            store.dispose()
        self._put_away_idle()

    def forget(self) -> None:
        """Drop every store without closing its connections (in a forked child)."""
        self._lock = threading.Lock()
        self._stores.clear()
        self._users.clear()

    def __len__(self) -> int:
        return len(self._stores)

    def _put_away_idle(self) -> None:
        """Close the least recently taken idle stores beyond `keep_idle`."""
        with self._lock:
            idle = [url for url, s in self._stores.items() if id(s) not in self._users]
            surplus = [self._stores.pop(url) for url in idle[: max(0, len(idle) - self.keep_idle)]]
        for store in surplus:
            store.dispose()


SHELF = Shelf()
os.register_at_fork(after_in_child=SHELF.forget)
