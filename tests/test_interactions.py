import httpx

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
