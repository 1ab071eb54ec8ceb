import httpx
import pytest

from cinelibre.recommend.training import train_rating_model
from tests.factories import add_movie, register


async def movie_id(conn, title: str) -> int:
    return (await (await conn.execute("SELECT id FROM movies WHERE title = %s", (title,))).fetchone())["id"]


async def personalized(client: httpx.AsyncClient, headers: dict, **params) -> list[dict]:
    response = await client.get("/recommendations/personalized", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_a_user_without_ratings_gets_popular_items(catalogue_client: httpx.AsyncClient) -> None:
    headers = await register(catalogue_client)

    items = await personalized(catalogue_client, headers, limit=10, item_type="movie")
    popular = (
        await catalogue_client.get("/recommendations/popular", params={"limit": 30, "item_type": "movie"})
    ).json()

    # The most popular films, spread out by the diversity step (which picks from three times the limit).
    assert len(items) == 10
    assert items[0]["id"] == popular["items"][0]["id"]
    assert {i["id"] for i in items} <= {i["id"] for i in popular["items"]}
    assert all(i["reason"].startswith("popular") for i in items)
    assert all(i["predicted_rating"] is None for i in items)


async def test_a_few_ratings_bring_items_like_the_ones_liked(catalogue_client, catalogue_conn) -> None:
    headers = await register(catalogue_client)
    liked = ["The Lord of the Rings: The Fellowship of the Ring", "Spirited Away"]
    for title in liked:
        await catalogue_client.post(
            "/ratings",
            headers=headers,
            json={"item_id": await movie_id(catalogue_conn, title), "item_type": "movie", "rating": 5},
        )

    items = await personalized(catalogue_client, headers, limit=10, item_type="movie")

    titles = [i["title"] for i in items]
    assert not set(titles) & set(liked)
    assert any(i["reason"] in {f"because you rated {t} 5★" for t in liked} for i in items)
    assert "The Lord of the Rings: The Two Towers" in titles


async def test_a_new_rating_changes_the_next_list(catalogue_client, catalogue_conn) -> None:
    headers = await register(catalogue_client)
    before = await personalized(catalogue_client, headers, limit=20, item_type="movie")
    first = before[0]

    await catalogue_client.post(
        "/ratings", headers=headers, json={"item_id": first["id"], "item_type": "movie", "rating": 1}
    )
    after = await personalized(catalogue_client, headers, limit=20, item_type="movie")

    assert first["id"] not in [i["id"] for i in after]
    assert [i["id"] for i in after] != [i["id"] for i in before]


async def test_items_viewed_many_times_are_skipped_unless_asked(catalogue_client) -> None:
    headers = await register(catalogue_client)
    top = (await personalized(catalogue_client, headers, limit=1, item_type="movie"))[0]
    for _ in range(3):
        await catalogue_client.post(
            "/interactions", headers=headers, json={"kind": "view", "item_id": top["id"], "item_type": "movie"}
        )

    skipped = await personalized(catalogue_client, headers, limit=20, item_type="movie")
    kept = await personalized(catalogue_client, headers, limit=20, item_type="movie", skip_viewed="false")

    assert top["id"] not in [i["id"] for i in skipped]
    assert top["id"] in [i["id"] for i in kept]


async def test_books_only_and_mixed_lists(catalogue_client) -> None:
    headers = await register(catalogue_client)

    books = await personalized(catalogue_client, headers, limit=5, item_type="book")
    mixed = await personalized(catalogue_client, headers, limit=40)

    assert {i["item_type"] for i in books} == {"book"}
    assert {i["item_type"] for i in mixed} == {"movie", "book"}


async def test_personalized_needs_a_token(catalogue_client: httpx.AsyncClient) -> None:
    response = await catalogue_client.get("/recommendations/personalized")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"item_type": "song"}])
async def test_personalized_refuses_bad_parameters(catalogue_client: httpx.AsyncClient, params: dict) -> None:
    headers = await register(catalogue_client)

    response = await catalogue_client.get("/recommendations/personalized", headers=headers, params=params)

    assert response.status_code == 422


async def test_a_film_added_after_training_reaches_a_user_the_models_know_well(
    catalogue_client, catalogue_conn
) -> None:
    fellowship = await movie_id(catalogue_conn, "The Lord of the Rings: The Fellowship of the Ring")
    disliked = [
        row["id"]
        for row in await (
            await catalogue_conn.execute(
                "SELECT id FROM movies WHERE title NOT LIKE 'The Lord of the Rings%%' ORDER BY id LIMIT 24"
            )
        ).fetchall()
    ]
    headers = await register(catalogue_client)
    for film, stars in [(fellowship, 5), *[(film, 2) for film in disliked]]:
        response = await catalogue_client.post(
            "/ratings", headers=headers, json={"item_id": film, "item_type": "movie", "rating": stars}
        )
        assert response.status_code == 201, response.text
    await train_rating_model(catalogue_conn)
    # New to the catalogue since training, and described like the second film of the trilogy.
    extended = await add_movie(catalogue_conn, title="The Two Towers (Extended Edition)", year=2002)
    # clock_timestamp(): later than training, which ran in this same test transaction (now()).
    await catalogue_conn.execute("UPDATE movies SET created_at = clock_timestamp() WHERE id = %s", (extended,))
    await catalogue_conn.execute(
        """INSERT INTO movie_embeddings (movie_id, model, content_hash, embedding)
           SELECT %s, v.model, v.content_hash, v.embedding FROM movie_embeddings v JOIN movies m ON m.id = v.movie_id
           WHERE m.title = 'The Lord of the Rings: The Two Towers'""",
        (extended,),
    )

    items = await personalized(catalogue_client, headers, limit=10, item_type="movie")

    assert len(items) == 10
    assert items[-1]["id"] == extended
    assert items[-1]["reason"] == "because you rated The Lord of the Rings: The Fellowship of the Ring 5★"
    assert all(i["id"] != extended for i in await personalized(catalogue_client, headers, limit=4, item_type="movie"))


async def test_a_reader_with_book_ratings_only_gets_films_through_the_books(catalogue_client, catalogue_conn) -> None:
    # Books and films share one embedding space: a reader's profile reaches the films of the
    # stories they liked.
    headers = await register(catalogue_client)
    for title in ["Five Point Someone", "The Guide"]:
        book = (await (await catalogue_conn.execute("SELECT id FROM books WHERE title = %s", (title,))).fetchone())[
            "id"
        ]
        response = await catalogue_client.post(
            "/ratings", headers=headers, json={"item_id": book, "item_type": "book", "rating": 5}
        )
        assert response.status_code == 201, response.text

    films = await personalized(catalogue_client, headers, limit=10, item_type="movie")

    by_title = {film["title"]: film for film in films}
    assert {film["item_type"] for film in films} == {"movie"}
    # 3 Idiots adapts Five Point Someone, which says why more plainly than likeness would.
    assert by_title["3 Idiots"]["reason"] == "you rated the novel Five Point Someone 5★ — its film"
    assert by_title["Premam"]["reason"] == "because you rated The Guide 5★"
