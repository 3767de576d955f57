"""A bounded, thread-safe map that forgets its least recently used entries: the hub's in-memory caches.

The server keeps many small caches of what it computed from immutable content (a tree's manifest, a file's
parsed JSON, a xorb's chunk table, a rendered card): each keyed by a content hash, each bounded, each read and
written by request threads at once. This is the one class they all use.

Written here rather than taken from a library: the standard library's ``functools.lru_cache`` memoizes a
function (these caches are keyed by values the caller computes, filled in batches, cleared by tests, and
must not hold their lock while a value is computed: reading a blob or a database row under it would serialize
every request), and ``cachetools`` (a cache, still without a lock) is not a dependency of
the server; an ``OrderedDict`` and a lock are all it takes.

Values are computed outside the lock, so two threads that miss the same key at once may both compute it (the
values are equal: they come from immutable content); the last one stored stays.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Generic, TypeVar, overload

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")


class LRUCache(Generic[K, V]):
    """At most ``maxsize`` entries; storing one more drops the entry that was used (read or stored) longest ago.

    ``None`` is a value like any other (a cached "no such file" is a hit), so lookups that must tell a miss
    from a cached ``None`` pass their own ``default``.
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"an LRU cache holds at least one entry, got maxsize={maxsize!r}")
        self.maxsize = maxsize
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:  # not in the middle of an update, which may go over the bound before it evicts
            return len(self._items)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is cached (does not count as a use)."""
        with self._lock:
            return key in self._items

    @overload
    def get(self, key: K) -> V | None: ...

    @overload
    def get(self, key: K, default: D) -> V | D: ...

    def get(self, key: K, default: D | None = None) -> V | D | None:
        """The cached value of ``key`` (now the most recently used), or ``default``."""
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key]

    def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The cached values among ``keys`` (each now recently used), under one acquisition of the lock."""
        found: dict[K, V] = {}
        with self._lock:
            for key in keys:
                if key in self._items:
                    self._items.move_to_end(key)
                    found[key] = self._items[key]
        return found

    def put(self, key: K, value: V) -> None:
        """Store ``value`` as the most recently used entry, dropping the least recently used beyond the bound."""
        self.update({key: value})

    def update(self, items: Mapping[K, V]) -> None:
        """Store every entry of ``items`` (in their order), then drop the least recently used beyond the bound."""
        with self._lock:
            for key, value in items.items():
                self._items[key] = value
                self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        """The cached value of ``key``, or ``compute()`` (called without the lock held), stored and returned."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
