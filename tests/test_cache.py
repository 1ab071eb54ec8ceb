"""The caches: in-process and Redis (the real server on 127.0.0.1:6379, database 15, when it
answers), and through the API: what is served from them and when a change shows."""

import asyncio
import os
from collections.abc import AsyncIterator

import httpx
import pytest

from cinelibre.cache import MemoryCache, RedisCache, cached
from cinelibre.metrics import cache_requests
from cinelibre.search.embedder import Embedder
from tests.conftest import app_on, client_for, empty_redis_database
from tests.factories import register

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_url() -> str:
    return empty_redis_database(REDIS_URL, "the Redis cache path is")


@pytest.fixture
async def redis_cache(redis_url: str) -> AsyncIterator[RedisCache]:
    cache = RedisCache(redis_url)
    yield cache
    await cache.close()


def as_listed(body: dict) -> dict:
    """A served list without its list_id, which is new for every list served, cached or not."""
    return {key: value for key, value in body.items() if key != "list_id"}


def hits(name: str) -> float:
    return cache_requests.labels(name, "hit")._value.get()


async def test_memory_cache_expires_entries_and_drops_the_least_recent_beyond_its_size() -> None:
    cache = MemoryCache(max_bytes=20)
    await cache.set("a", b"1" * 10, ttl_seconds=60)
    await cache.set("b", b"2" * 10, ttl_seconds=0.05)
    await cache.set("zero", b"never stored", ttl_seconds=0)
    await cache.set("huge", b"h" * 21, ttl_seconds=60)  # larger than the whole cache: not kept
    assert await cache.get("a") == b"1" * 10
    await asyncio.sleep(0.06)
    assert await cache.get("b") is None
    await cache.set("c", b"3" * 10, ttl_seconds=60)
    await cache.get("a")  # a is now more recent than c
    await cache.set("d", b"4" * 10, ttl_seconds=60)

    assert [await cache.get(key) for key in ("a", "c", "d", "zero", "huge")] == [b"1" * 10, None, b"4" * 10, None, None]


async def test_cached_computes_once_then_serves_the_stored_value() -> None:
    cache, calls = MemoryCache(max_bytes=1000), []

    async def compute() -> bytes:
        calls.append(1)
        return b"value"

    values = [await cached(cache, "test", "key", 60, compute) for _ in range(3)]

    assert values == [b"value"] * 3
    assert len(calls) == 1


async def test_redis_cache_is_shared_between_instances_and_expires(redis_cache: RedisCache, redis_url: str) -> None:
    other = RedisCache(redis_url)
    try:
        await redis_cache.set("shared", b"from the first", ttl_seconds=60)
        await redis_cache.set("brief", b"soon gone", ttl_seconds=0.05)
        seen_by_other = await other.get("shared")
        await asyncio.sleep(0.1)
        expired = await other.get("brief")
    finally:
        await other.close()

    assert seen_by_other == b"from the first"
    assert expired is None


async def test_an_unreachable_redis_is_a_miss_not_an_error() -> None:
    cache = RedisCache("redis://127.0.0.1:1/0")
    try:
        await cache.set("key", b"value", ttl_seconds=60)
        assert await cache.get("key") is None
        assert await cached(cache, "test", "key", 60, _constant(b"computed")) == b"computed"
    finally:
        await cache.close()


def _constant(value: bytes):
    async def compute() -> bytes:
        return value

    return compute


async def rate(http: httpx.AsyncClient, auth: dict, movie_id: int, stars: float) -> None:
    response = await http.post(
        "/ratings", headers=auth, json={"item_id": movie_id, "item_type": "movie", "rating": stars}
    )
    assert response.status_code in (200, 201), response.text


async def popular_top(http: httpx.AsyncClient) -> dict:
    return (await http.get("/recommendations/popular", params={"limit": 1})).json()["items"][0]


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_popular_counts_show_new_ratings_after_the_cache_lifetime(
    backend: str, request, catalogue_conn, settings, pool, embedder
) -> None:
    short = settings.model_copy(update={"popular_cache_seconds": 0.5})
    app = app_on(catalogue_conn, short, pool, embedder)
    if backend == "redis":
        app.state.cache = RedisCache(request.getfixturevalue("redis_url"))
    async with client_for(app) as http:
        top = await popular_top(http)
        await rate(http, await register(http), top["id"], 5.0)
        within_lifetime = await popular_top(http)
        await asyncio.sleep(0.6)
        after_lifetime = await popular_top(http)
    await app.state.cache.close()

    assert within_lifetime == top
    assert after_lifetime["id"] == top["id"]
    assert after_lifetime["rating_count"] == top["rating_count"] + 1


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_personalized_list_is_cached_until_the_user_rates_or_views(
    backend: str, request, catalogue_conn, settings, pool, embedder
) -> None:
    app = app_on(catalogue_conn, settings, pool, embedder)
    if backend == "redis":
        app.state.cache = RedisCache(request.getfixturevalue("redis_url"))
    async with client_for(app) as http:
        auth, someone_else = await register(http, "me@example.com"), await register(http, "other@example.com")
        await rate(http, auth, 1, 5.0)

        async def listed() -> list[int]:
            response = await http.get("/recommendations/personalized", headers=auth, params={"item_type": "movie"})
            return [item["id"] for item in response.json()["items"]]

        first = await listed()
        before = hits("personalized")
        await rate(http, someone_else, first[0], 1.0)  # another user's rating leaves my list as it is
        unchanged = await listed()
        served_from_cache = hits("personalized") - before
        await rate(http, auth, first[0], 4.0)
        after_rating = await listed()
        await http.post("/interactions", headers=auth, json={"kind": "view", "item_type": "movie", "item_id": 1})
        before_view = hits("personalized")
        await listed()
        served_after_view = hits("personalized") - before_view
    await app.state.cache.close()

    assert unchanged == first
    assert served_from_cache == 1
    assert first[0] not in after_rating
    assert served_after_view == 0


async def test_query_vectors_are_shared_through_redis(catalogue_conn, settings, pool, embedder, redis_url) -> None:
    """A second instance answers a query the first embedded without loading its own model (with a
    year filter that every film passes, so that the ranking itself is not the cached one)."""
    query = {"q": "a wizard's school and a dark lord", "type": "movie", "limit": 3}
    first, second_embedder = app_on(catalogue_conn, settings, pool, embedder), Embedder(settings)
    second = app_on(catalogue_conn, settings, pool, second_embedder)
    first.state.cache, second.state.cache = RedisCache(redis_url), RedisCache(redis_url)
    async with client_for(first) as http:
        from_first = (await http.get("/search/semantic", params=query)).json()
    before = hits("query_embedding"), hits("search")
    async with client_for(second) as http:
        from_second = (await http.get("/search/semantic", params=query | {"year_from": 1800})).json()
    for app in (first, second):
        await app.state.cache.close()

    assert from_second["items"] == from_first["items"]
    assert (hits("query_embedding") - before[0], hits("search") - before[1]) == (1, 0)
    assert not second_embedder.loaded


async def test_search_answers_are_cached_and_signed_in_searches_still_recorded(
    catalogue_conn, settings, pool, embedder
) -> None:
    app = app_on(catalogue_conn, settings, pool, embedder)
    query = {"q": "monsoon wedding in Delhi", "limit": 5}
    async with client_for(app) as http:
        auth = await register(http)
        first = (await http.get("/search/semantic", params=query, headers=auth)).json()
        before = hits("search")
        second = (await http.get("/search/semantic", params=query, headers=auth)).json()
        served_from_cache = hits("search") - before
        recorded = (await http.get("/interactions/my", headers=auth)).json()["items"]

    assert as_listed(second) == as_listed(first)
    assert second["list_id"] != first["list_id"]  # one cached answer, two lists served
    assert served_from_cache == 1
    assert [(i["kind"], i["query"]) for i in recorded] == [("search", query["q"])] * 2
