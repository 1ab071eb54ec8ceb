"""`skip` on search and recommendation lists: page 2 is exactly the next items of the same ranking."""

import httpx
import pytest

from cinelibre.catalog import repository as catalog_repository
from cinelibre.metrics import cache_requests
from tests.factories import add_movie, register


async def items(client: httpx.AsyncClient, path: str, headers: dict | None = None, **params) -> list[dict]:
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def keys(found: list[dict]) -> list[tuple[str, int]]:
    return [(item["item_type"], item["id"]) for item in found]


# ----- search -----------------------------------------------------------------------------------


async def test_search_pages_are_cut_from_one_ranking(catalogue_client: httpx.AsyncClient) -> None:
    question = "a family drama set in Kerala"
    misses_before = cache_requests.labels("search", "miss")._value.get()

    first_twenty = await items(catalogue_client, "/search/semantic", q=question, limit=20)
    page_one = await items(catalogue_client, "/search/semantic", q=question, limit=10)
    page_two = await items(catalogue_client, "/search/semantic", q=question, skip=10, limit=10)

    assert len(first_twenty) == 20
    assert page_one + page_two == first_twenty
    assert cache_requests.labels("search", "miss")._value.get() - misses_before == 1


async def test_search_pages_apply_the_threshold_before_skipping(catalogue_client: httpx.AsyncClient) -> None:
    question = "a family drama set in Kerala"
    close = [
        item
        for item in await items(catalogue_client, "/search/semantic", q=question, limit=100)
        if item["similarity"] is not None and item["similarity"] >= 0.3
    ]

    second = await items(catalogue_client, "/search/semantic", q=question, skip=3, limit=4, threshold=0.3)

    assert len(close) >= 7
    assert second == close[3:7]


async def test_a_search_page_past_the_last_hit_is_empty_without_a_hint(catalogue_client: httpx.AsyncClient) -> None:
    response = await catalogue_client.get("/search/semantic", params={"q": "Sholay", "skip": 1_000_000})

    assert response.status_code == 200
    assert (response.json()["items"], response.json()["hint"]) == ([], None)


@pytest.mark.parametrize("skip", [-1, 1_000_001, "x"])
async def test_search_refuses_a_skip_out_of_bounds(catalogue_client: httpx.AsyncClient, skip) -> None:
    response = await catalogue_client.get("/search/semantic", params={"q": "Sholay", "skip": skip})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert [d["field"] for d in response.json()["error"]["details"]] == ["query.skip"]


# ----- recommendations ----------------------------------------------------------------------------


async def add_user(conn, number: int) -> int:
    row = await (
        await conn.execute(
            "INSERT INTO users (name, imported_from, external_id) VALUES (%s, 'test', %s) RETURNING id",
            (f"rater {number}", number),
        )
    ).fetchone()
    return row["id"]


@pytest.fixture
async def twenty_five_rated_films(conn) -> list[int]:
    """Films 0-24, film n rated 4 stars by n + 1 users today: each has its own place in the
    popular list, all time and in the last 30 days."""
    films = [await add_movie(conn, title=f"Film {n:02d}") for n in range(25)]
    users = [await add_user(conn, n) for n in range(25)]
    for n, film in enumerate(films):
        for user in users[: n + 1]:
            await conn.execute(
                "INSERT INTO ratings (user_id, item_type, item_id, rating) VALUES (%s, 'movie', %s, 4)", (user, film)
            )
    await catalog_repository.recompute_rating_aggregates(conn)
    return films


@pytest.mark.parametrize("window", [{}, {"window_days": 30}])
async def test_popular_pages_fit_together(client: httpx.AsyncClient, twenty_five_rated_films, window) -> None:
    path = "/recommendations/popular"
    first_twenty = await items(client, path, limit=20, **window)
    page_one = await items(client, path, limit=10, **window)
    page_two = await items(client, path, skip=10, limit=10, **window)
    last = await items(client, path, skip=20, limit=10, **window)

    # The most rated first: film 24 (25 raters) down to film 5 (6 raters), then the last five.
    assert [i["id"] for i in first_twenty] == twenty_five_rated_films[:4:-1]
    assert page_one + page_two == first_twenty
    assert [i["id"] for i in last] == twenty_five_rated_films[4::-1]


async def test_personalized_pages_fit_together(catalogue_client: httpx.AsyncClient, catalogue_conn) -> None:
    headers = await register(catalogue_client)
    for title in ["The Lord of the Rings: The Fellowship of the Ring", "Spirited Away", "Sholay"]:
        film = await (await catalogue_conn.execute("SELECT id FROM movies WHERE title = %s", (title,))).fetchone()
        body = {"item_id": film["id"], "item_type": "movie", "rating": 5}
        assert (await catalogue_client.post("/ratings", headers=headers, json=body)).status_code == 201
    path = "/recommendations/personalized"

    first_twenty = await items(catalogue_client, path, headers, limit=20)
    page_one = await items(catalogue_client, path, headers, limit=10)
    page_two = await items(catalogue_client, path, headers, skip=10, limit=10)

    assert len(first_twenty) == 20
    assert page_one + page_two == first_twenty
    assert await items(catalogue_client, path, headers, skip=1_000_000) == []


async def test_personalized_pages_of_a_newcomer_fit_together(catalogue_client: httpx.AsyncClient) -> None:
    headers = await register(catalogue_client)
    path = "/recommendations/personalized"

    first_twenty = await items(catalogue_client, path, headers, limit=20, item_type="movie")
    pages = [
        await items(catalogue_client, path, headers, skip=skip, limit=5, item_type="movie") for skip in (0, 5, 10, 15)
    ]

    assert len(first_twenty) == 20
    assert [item for page in pages for item in page] == first_twenty


async def test_similar_pages_fit_together(catalogue_client: httpx.AsyncClient, catalogue_conn) -> None:
    source = await (await catalogue_conn.execute("SELECT id FROM movies WHERE title = 'Spirited Away'")).fetchone()
    path = f"/recommendations/similar/movie/{source['id']}"

    first_twenty = await items(catalogue_client, path, limit=20)
    page_one = await items(catalogue_client, path, limit=10)
    page_two = await items(catalogue_client, path, skip=10, limit=10)
    past_the_end = await items(catalogue_client, path, skip=100, limit=10)

    assert len(first_twenty) == 20
    assert page_one + page_two == first_twenty
    assert past_the_end == []


@pytest.mark.parametrize(
    "path", ["/recommendations/popular", "/recommendations/personalized", "/recommendations/similar/movie/1"]
)
@pytest.mark.parametrize("skip", [-1, 1_000_001])
async def test_recommendation_lists_refuse_a_skip_out_of_bounds(
    client: httpx.AsyncClient, path: str, skip: int
) -> None:
    headers = await register(client)

    response = await client.get(path, params={"skip": skip}, headers=headers)

    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == ["query.skip"]
