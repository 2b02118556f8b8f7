"""The read-through cache (kit.cache): one reload per expired entry, never a stale
answer after an invalidation."""

from __future__ import annotations

import asyncio

import pytest

from smshub.kit.cache import TTLCache


class Loader:
    """Counts its calls; each call waits for `release` and returns the next value."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self) -> int:
        self.calls += 1
        value = self.calls
        await self.release.wait()
        return value


async def test_a_fresh_entry_is_served_without_loading() -> None:
    cache, load = TTLCache(ttl_s=60), Loader()
    assert await cache.get("k", load) == 1
    assert await cache.get("k", load) == 1
    assert load.calls == 1


async def test_while_one_caller_reloads_an_expired_entry_the_others_get_it_without_loading() -> (
    None
):
    cache, load = TTLCache(ttl_s=0.0), Loader()
    assert await cache.get("k", load) == 1  # stored, and already expired
    load.release.clear()
    leader = asyncio.create_task(cache.get("k", load))
    await asyncio.sleep(0)
    assert load.calls == 2  # the leader is loading
    others = [await cache.get("k", load) for _ in range(5)]
    assert others == [1] * 5 and load.calls == 2
    load.release.set()
    assert await leader == 2
    assert await cache.get("k", load) == 3  # ttl 0: the next caller reloads again


async def test_after_invalidate_every_caller_loads_and_an_older_load_is_not_kept() -> None:
    cache, load = TTLCache(ttl_s=60), Loader()
    load.release.clear()
    before = asyncio.create_task(cache.get("k", load))
    await asyncio.sleep(0)
    cache.invalidate()  # a write committed while that load was reading
    load.release.set()
    assert await before == 1  # its caller gets what it read ...
    assert await cache.get("k", load) == 2  # ... but the cache does not keep it
    assert await cache.get("k", load) == 2


async def test_an_expired_entry_is_not_handed_out_after_invalidate() -> None:
    cache, load = TTLCache(ttl_s=0.0), Loader()
    await cache.get("k", load)
    load.release.clear()
    leader = asyncio.create_task(cache.get("k", load))
    await asyncio.sleep(0)
    cache.invalidate()
    other = asyncio.create_task(cache.get("k", load))
    await asyncio.sleep(0)
    assert load.calls == 3  # it loaded for itself instead of taking the old value
    load.release.set()
    assert (await leader, await other) == (2, 3)


async def test_a_failed_load_lets_the_next_caller_load() -> None:
    cache = TTLCache(ttl_s=0.0)
    calls = 0

    async def flaky() -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("database restarting")
        return calls

    assert await cache.get("k", flaky) == 1
    with pytest.raises(RuntimeError):
        await cache.get("k", flaky)
    assert await cache.get("k", flaky) == 3
