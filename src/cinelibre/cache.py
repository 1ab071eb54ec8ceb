"""Response and vector caching: Redis when REDIS_URL is set (shared by every instance), otherwise a
bounded in-process cache. Values are bytes; keys carry whatever makes an entry stale (a user's
activity version, the active models), so nothing is ever deleted by hand and instances that
share no cache still never serve a list older than the user's last rating.

A cache that fails (Redis down) is a miss, logged, never a failed request.
"""

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Generic, Protocol, TypeVar

from cachetools import LRUCache, TLRUCache
from fastapi import Depends, Request
from redis.asyncio import Redis
from redis.exceptions import RedisError

from cinelibre.metrics import cache_requests
from cinelibre.settings import Settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "cinelibre:"


class Cache(Protocol):
    shared: bool  # True when other instances see what this one stores

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_seconds: float) -> None: ...

    async def close(self) -> None: ...


class MemoryCache:
    """Bounded by the bytes it holds (least recently used out first); each entry also expires."""

    shared = False

    def __init__(self, max_bytes: int) -> None:
        # Each value carries its own expiry time, so lists with different lifetimes share one bound.
        self._entries: TLRUCache[str, tuple[float, bytes]] = TLRUCache(
            maxsize=max(max_bytes, 1),
            ttu=lambda _key, value, _now: value[0],
            timer=time.monotonic,
            getsizeof=lambda value: len(value[1]),
        )
        self._max_bytes = max_bytes

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        return entry[1] if entry is not None else None

    async def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        if ttl_seconds > 0 and len(value) <= self._max_bytes:
            self._entries[key] = (time.monotonic() + ttl_seconds, value)

    async def close(self) -> None:
        self._entries.clear()


class RedisCache:
    shared = True

    def __init__(self, url: str) -> None:
        # Short timeouts: a slow cache must cost less than recomputing the answer.
        self._redis = Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.5)

    async def get(self, key: str) -> bytes | None:
        try:
            return await self._redis.get(KEY_PREFIX + key)
        except (RedisError, OSError) as error:
            logger.warning("cache read failed, computing instead: %s", error)
            return None

    async def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        if ttl_seconds <= 0:
            return
        try:
            await self._redis.set(KEY_PREFIX + key, value, px=max(int(ttl_seconds * 1000), 1))
        except (RedisError, OSError) as error:
            logger.warning("cache write failed: %s", error)

    async def close(self) -> None:
        await self._redis.aclose()


def open_cache(settings: Settings) -> Cache:
    if settings.redis_url:
        return RedisCache(settings.redis_url)
    return MemoryCache(int(settings.cache_max_megabytes * 1024 * 1024))


async def cached(
    cache: Cache, name: str, key: str, ttl_seconds: float, compute: Callable[[], Awaitable[bytes]]
) -> bytes:
    """The cached value, or compute() stored for ttl_seconds. `name` labels the metrics."""
    value = await cache.get(f"{name}:{key}")
    if value is not None:
        cache_requests.labels(name, "hit").inc()
        return value
    cache_requests.labels(name, "miss").inc()
    value = await compute()
    await cache.set(f"{name}:{key}", value, ttl_seconds)
    return value


Value = TypeVar("Value")


class LocalLRU(Generic[Value]):
    """A per-process map of the most recently used values, for things worth keeping as objects
    (query vectors). It has its own lock, held only for a dictionary operation, so a lookup never
    waits on whoever is computing a value (e.g. the embedding model running a batch)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._values: LRUCache[str, Value] = LRUCache(maxsize=max(max_entries, 1))
        self._lock = threading.Lock()

    def get(self, key: str) -> Value | None:
        with self._lock:
            return self._values.get(key)

    def put(self, key: str, value: Value) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._values[key] = value


async def cached_in_two_tiers(
    name: str,
    key: str,
    *,
    local: LocalLRU[Value],
    shared: Cache | None,
    ttl_seconds: float,
    compute: Callable[[], Awaitable[Value]],
    encode: Callable[[Value], bytes],
    decode: Callable[[bytes], Value],
) -> Value:
    """This process's LRU first, then the shared cache (only when it is shared: one instance's work
    then serves all), then compute(). One lookup counts as one hit or one miss under `name`."""
    value = local.get(key)
    if value is not None:
        cache_requests.labels(name, "hit").inc()
        return value
    if shared is None or not shared.shared:
        cache_requests.labels(name, "miss").inc()
        value = await compute()
    else:

        async def compute_encoded() -> bytes:
            return encode(await compute())

        value = decode(await cached(shared, name, key, ttl_seconds, compute_encoded))
    local.put(key, value)
    return value


async def get_cache(request: Request) -> Cache:
    return request.app.state.cache


CacheDep = Annotated[Cache, Depends(get_cache)]
