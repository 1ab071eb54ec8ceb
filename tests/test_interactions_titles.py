"""Interactions name their item by its title, wherever they are read back."""

import httpx

from tests.factories import add_book, add_movie, register


async def test_my_interactions_carry_the_items_titles_and_none_for_a_search(client: httpx.AsyncClient, conn) -> None:
    film = await add_movie(conn, title="Pather Panchali")
    book = await add_book(conn, title="Godaan")
    headers = await register(client)
    for body in [
        {"kind": "view", "item_id": film, "item_type": "movie"},
        {"kind": "search", "query": "village life"},
        {"kind": "click", "item_id": book, "item_type": "book"},
    ]:
        assert (await client.post("/interactions", headers=headers, json=body)).status_code == 201

    response = await client.get("/interactions/my", headers=headers)

    assert response.status_code == 200
    assert [(i["kind"], i["item_type"], i["item_id"], i["title"], i["query"]) for i in response.json()["items"]] == [
        ("click", "book", book, "Godaan", None),
        ("search", None, None, None, "village life"),
        ("view", "movie", film, "Pather Panchali", None),
    ]


async def test_a_film_and_a_book_with_the_same_id_keep_their_own_titles(client: httpx.AsyncClient, conn) -> None:
    film = await add_movie(conn, title="Devdas")
    await conn.execute(
        "INSERT INTO books (id, title) OVERRIDING SYSTEM VALUE VALUES (%s, 'Devdas, the novel')", (film,)
    )
    headers = await register(client)
    for item_type in ("movie", "book"):
        body = {"kind": "view", "item_id": film, "item_type": item_type}
        assert (await client.post("/interactions", headers=headers, json=body)).status_code == 201

    response = await client.get("/interactions/my", headers=headers)

    assert [(i["item_type"], i["title"]) for i in response.json()["items"]] == [
        ("book", "Devdas, the novel"),
        ("movie", "Devdas"),
    ]


async def test_a_recorded_interaction_answers_with_its_title(client: httpx.AsyncClient, conn) -> None:
    film = await add_movie(conn, title="Kaagaz Ke Phool")
    headers = await register(client)

    view = await client.post(
        "/interactions", headers=headers, json={"kind": "view", "item_id": film, "item_type": "movie"}
    )
    search = await client.post("/interactions", headers=headers, json={"kind": "search", "query": "guru dutt"})

    assert (view.json()["title"], search.json()["title"]) == ("Kaagaz Ke Phool", None)


async def test_the_export_lists_interactions_with_titles(client: httpx.AsyncClient, conn) -> None:
    film = await add_movie(conn, title="Charulata")
    headers = await register(client)
    await client.post("/interactions", headers=headers, json={"kind": "view", "item_id": film, "item_type": "movie"})
    await client.post("/interactions", headers=headers, json={"kind": "search", "query": "tagore"})

    exported = (await client.get("/auth/me/export", headers=headers)).json()

    assert [(i["kind"], i["title"]) for i in exported["interactions"]] == [("view", "Charulata"), ("search", None)]
