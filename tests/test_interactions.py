from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from cinelibre.settings import Settings
from tests.conftest import app_on, client_for
from tests.factories import add_movie, register


async def test_view_is_recorded_with_timestamp(client: httpx.AsyncClient, conn) -> None:
    movie_id = await add_movie(conn)
    headers = await register(client)

    response = await client.post(
        "/interactions", headers=headers, json={"kind": "view", "item_id": movie_id, "item_type": "movie"}
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["item_id"], body["item_type"], body["query"]) == ("view", movie_id, "movie", None)
    assert body["created_at"].startswith("20")


async def test_search_is_recorded_with_its_query(client: httpx.AsyncClient) -> None:
    headers = await register(client)

    response = await client.post(
        "/interactions", headers=headers, json={"kind": "search", "query": "  monsoon wedding "}
    )

    assert response.status_code == 201
    assert response.json()["query"] == "monsoon wedding"
    assert response.json()["item_id"] is None


async def test_my_interactions_lists_newest_first_and_only_mine(client: httpx.AsyncClient, conn) -> None:
    movie_id = await add_movie(conn)
    headers = await register(client, email="a@example.com")
    other = await register(client, email="b@example.com")
    await client.post("/interactions", headers=headers, json={"kind": "search", "query": "first"})
    await client.post(
        "/interactions", headers=headers, json={"kind": "click", "item_id": movie_id, "item_type": "movie"}
    )
    await client.post("/interactions", headers=other, json={"kind": "search", "query": "not mine"})

    response = await client.get("/interactions/my", headers=headers)

    assert response.json()["total"] == 2
    assert [i["kind"] for i in response.json()["items"]] == ["click", "search"]


async def test_interactions_validate_kind_item_and_query(client: httpx.AsyncClient, conn) -> None:
    headers = await register(client)
    cases = {
        "unknown kind": {"kind": "teleport"},
        "view without item": {"kind": "view"},
        "search without query": {"kind": "search"},
        "item id without type": {"kind": "click", "item_id": 1},
        "blank query": {"kind": "search", "query": "   "},
        "query too long": {"kind": "search", "query": "x" * 501},
    }
    for case, body in cases.items():
        response = await client.post("/interactions", headers=headers, json=body)
        assert response.status_code == 422, case
        assert response.json()["error"]["code"] == "validation_error", case

    unknown_item = await client.post(
        "/interactions", headers=headers, json={"kind": "view", "item_id": 999999, "item_type": "movie"}
    )
    assert unknown_item.status_code == 404


async def test_interactions_need_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.post("/interactions", json={"kind": "search", "query": "x"})).status_code == 401
    assert (await client.get("/interactions/my")).status_code == 401


@pytest.fixture
def quota_client(settings: Settings, conn, pool, embedder):
    """A client on an app whose quotas are a few interactions a minute, or a day."""

    @asynccontextmanager
    async def make(**quota: int) -> AsyncIterator[httpx.AsyncClient]:
        async with client_for(app_on(conn, settings.model_copy(update=quota), pool, embedder)) as http:
            yield http

    return make


async def recorded(conn, email: str) -> list[str]:
    cursor = await conn.execute(
        "SELECT i.query FROM interactions i JOIN users u ON u.id = i.user_id WHERE u.email = %s ORDER BY i.id",
        (email,),
    )
    return [row["query"] for row in await cursor.fetchall()]


def search(query: str) -> dict[str, str]:
    return {"kind": "search", "query": query}


async def test_over_the_minute_quota_nothing_is_recorded_and_the_wait_is_told(quota_client, conn) -> None:
    async with quota_client(interactions_per_minute=3) as http:
        headers = await register(http, email="busy@example.com")
        answers = [
            (await http.post("/interactions", headers=headers, json=search(f"q{n}"))).status_code for n in range(3)
        ]
        over = await http.post("/interactions", headers=headers, json=search("one too many"))
        someone_else = await http.post("/interactions", headers=await register(http), json=search("mine"))

    assert answers == [201, 201, 201]
    assert over.status_code == 429
    assert over.headers["retry-after"] == "60"  # the oldest of the three leaves the window in a minute
    assert over.json() == {
        "error": {
            "code": "rate_limited",
            "message": "At most 3 interactions per minute are recorded for an account; try again in 60 s.",
            "details": [],
        }
    }
    assert await recorded(conn, "busy@example.com") == ["q0", "q1", "q2"]
    assert someone_else.status_code == 201


async def test_the_day_quota_counts_signed_in_searches_too(quota_client, conn) -> None:
    async with quota_client(interactions_per_day=2) as http:
        headers = await register(http, email="searcher@example.com")
        sent = await http.post("/interactions", headers=headers, json=search("sent by the app"))
        searched = await http.get("/search/semantic", headers=headers, params={"q": "monsoon"})
        over = await http.get("/search/semantic", headers=headers, params={"q": "rain"})
        anonymous = await http.get("/search/semantic", params={"q": "rain"})

    assert (sent.status_code, searched.status_code) == (201, 200)
    assert over.status_code == 429
    assert over.headers["retry-after"] == str(24 * 3600)
    assert over.json()["error"]["message"] == (
        f"At most 2 interactions per day are recorded for an account; try again in {24 * 3600} s."
    )
    assert await recorded(conn, "searcher@example.com") == ["sent by the app", "monsoon"]
    assert anonymous.status_code == 200


async def test_a_quota_of_zero_bounds_nothing(quota_client, conn) -> None:
    async with quota_client(interactions_per_minute=0, interactions_per_day=0) as http:
        headers = await register(http, email="unbounded@example.com")
        answers = [
            (await http.post("/interactions", headers=headers, json=search(f"q{n}"))).status_code for n in range(5)
        ]

    assert answers == [201] * 5
    assert len(await recorded(conn, "unbounded@example.com")) == 5
