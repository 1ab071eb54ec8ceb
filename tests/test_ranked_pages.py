"""`skip` on search and recommendation lists: page 2 is exactly the next items of the same ranking."""

import httpx
import pytest

from cinelibre.metrics import cache_requests
from tests.factories import register


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
