"""The hub's bounded LRU cache (``server.lru``): bound, eviction order, cached ``None``, concurrent use."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

import pytest

from modelyard.server.lru import LRUCache


def test_it_holds_at_most_maxsize_entries_and_drops_the_oldest_first() -> None:
    cache: LRUCache[str, int] = LRUCache(3)
    for i, key in enumerate("abcde"):
        cache.put(key, i)
    assert len(cache) == 3
    assert [key in cache for key in "abcde"] == [False, False, True, True, True]
    assert cache.get("e") == 4


def test_a_read_or_a_store_makes_an_entry_the_most_recently_used() -> None:
    cache: LRUCache[str, int] = LRUCache(3)
    cache.update({"a": 1, "b": 2, "c": 3})
    assert cache.get("a") == 1  # read: "b" is now the oldest
    cache.put("d", 4)
    assert "b" not in cache and "a" in cache
    cache.put("c", 30)  # stored again: "a" is now the oldest
    cache.put("e", 5)
    assert "a" not in cache
    assert cache.get_many(["c", "d", "e", "x"]) == {"c": 30, "d": 4, "e": 5}


def test_get_many_counts_as_a_use_of_what_it_finds() -> None:
    cache: LRUCache[str, int] = LRUCache(2)
    cache.update({"a": 1, "b": 2})
    assert cache.get_many(["a"]) == {"a": 1}
    cache.put("c", 3)
    assert "a" in cache and "b" not in cache


def test_contains_does_not_count_as_a_use() -> None:
    cache: LRUCache[str, int] = LRUCache(2)
    cache.update({"a": 1, "b": 2})
    assert "a" in cache
    cache.put("c", 3)
    assert "a" not in cache


def test_update_beyond_the_bound_keeps_the_last_entries() -> None:
    cache: LRUCache[int, int] = LRUCache(2)
    cache.update({i: i * i for i in range(5)})
    assert cache.get_many(range(5)) == {3: 9, 4: 16}


def test_a_cached_none_is_a_hit_and_a_default_tells_a_miss() -> None:
    cache: LRUCache[str, int | None] = LRUCache(4)
    calls: list[str] = []

    def compute() -> int | None:
        calls.append("x")
        return None

    assert cache.get_or_compute("x", compute) is None
    assert cache.get_or_compute("x", compute) is None
    assert calls == ["x"]
    missing = object()
    assert cache.get("x", missing) is None
    assert cache.get("y", missing) is missing
    assert cache.get("y") is None


def test_compute_runs_without_the_lock_held() -> None:
    """A value computed from another cached value (the web pages' tree facts do this) must not deadlock."""
    cache: LRUCache[str, int] = LRUCache(4)
    assert cache.get_or_compute("outer", lambda: cache.get_or_compute("inner", lambda: 1) + 1) == 2
    assert cache.get_many(["inner", "outer"]) == {"inner": 1, "outer": 2}


def test_clear_empties_it() -> None:
    cache: LRUCache[str, int] = LRUCache(4)
    cache.update({"a": 1, "b": 2})
    cache.clear()
    assert len(cache) == 0 and cache.get("a") is None


@pytest.mark.parametrize("maxsize", [0, -1])
def test_a_bound_below_one_is_refused(maxsize: int) -> None:
    with pytest.raises(ValueError, match=f"maxsize={maxsize}"):
        LRUCache(maxsize)


def test_concurrent_use_keeps_the_bound_and_every_value_consistent() -> None:
    """Many threads reading, storing and evicting at once: never over the bound, never a wrong value, no error."""
    cache: LRUCache[int, int] = LRUCache(32)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(seed: int) -> Callable[[], None]:
        def run() -> None:
            try:
                start.wait()
                for i in range(3000):
                    key = (seed * 7 + i * 13) % 100
                    assert cache.get_or_compute(key, lambda k=key: k * 3) == key * 3
                    if i % 5 == 0:
                        cache.update({key + 1000: key, key + 2000: key})
                    found = cache.get_many([key, key + 1000])
                    assert all(v == (k * 3 if k < 1000 else k - 1000) for k, v in found.items())
                    assert len(cache) <= 32
            except BaseException as err:  # noqa: BLE001 - reported by the main thread
                errors.append(err)

        return run

    threads = [threading.Thread(target=worker(n)) for n in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show at once
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert len(cache) == 32
