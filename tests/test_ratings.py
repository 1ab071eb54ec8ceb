import httpx
import pytest

from cinelibre.errors import AuthenticationError
from cinelibre.ratings import service as ratings_service
from cinelibre.ratings.schemas import RatingWrite
from tests.factories import add_book, add_movie, register


async def item_aggregates(conn, table: str, item_id: int) -> tuple[int, float | None]:
    row = await (
        await conn.execute(f"SELECT rating_count, average_rating::float8 AS avg FROM {table} WHERE id = %s", (item_id,))
    ).fetchone()
    return row["rating_count"], row["avg"]


async def test_rating_a_movie_creates_it_with_201(client: httpx.AsyncClient, conn) -> None:
    movie_id = await add_movie(conn, title="Sholay")
    headers = await register(client)

    response = await client.post(
        "/ratings", headers=headers, json={"item_id": movie_id, "item_type": "movie", "rating": 4.5}
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["item_id"], body["item_type"], body["rating"]) == (movie_id, "movie", 4.5)
    assert isinstance(body["id"], int)
    assert await item_aggregates(conn, "movies", movie_id) == (1, 4.5)


async def test_rating_again_updates_the_same_rating_with_200(client: httpx.AsyncClient, conn) -> None:
    movie_id = await add_movie(conn)
    headers = await register(client)
    first = await client.post(
        "/ratings", headers=headers, json={"item_id": movie_id, "item_type": "movie", "rating": 2}
    )

    second = await client.post(
        "/ratings", headers=headers, json={"item_id": movie_id, "item_type": "movie", "rating": 5}
    )

    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["rating"] == 5.0
    assert await item_aggregates(conn, "movies", movie_id) == (1, 5.0)


async def test_average_and_count_follow_several_users(client: httpx.AsyncClient, conn) -> None:
    book_id = await add_book(conn)
    for n, stars in enumerate([5, 4, 3.5]):
        headers = await register(client, email=f"user{n}@example.com")
        await client.post("/ratings", headers=headers, json={"item_id": book_id, "item_type": "book", "rating": stars})

    assert await item_aggregates(conn, "books", book_id) == (3, 4.17)


async def test_my_ratings_lists_the_callers_ratings_with_titles(client: httpx.AsyncClient, conn) -> None:
    movie_id = await add_movie(conn, title="Lagaan")
    book_id = await add_book(conn, title="Malgudi Days")
    headers = await register(client, email="mine@example.com")
    other = await register(client, email="other@example.com")
    await client.post("/ratings", headers=headers, json={"item_id": movie_id, "item_type": "movie", "rating": 4})
    await client.post("/ratings", headers=headers, json={"item_id": book_id, "item_type": "book", "rating": 3.5})
    await client.post("/ratings", headers=other, json={"item_id": movie_id, "item_type": "movie", "rating": 1})

    everything = await client.get("/ratings/my", headers=headers)
    movies_only = await client.get("/ratings/my", headers=headers, params={"item_type": "movie"})

    assert everything.json()["total"] == 2
    assert sorted((r["title"], r["rating"]) for r in everything.json()["items"]) == [
        ("Lagaan", 4.0),
        ("Malgudi Days", 3.5),
    ]
    assert movies_only.json()["total"] == 1
    assert movies_only.json()["items"][0]["title"] == "Lagaan"


async def test_my_rating_of_one_item_is_found_by_its_type_and_id(client: httpx.AsyncClient, conn) -> None:
    rated = await add_movie(conn, title="Lagaan")
    unrated = await add_movie(conn, title="Swades")
    headers = await register(client, email="one@example.com")
    other = await register(client, email="another@example.com")
    await client.post("/ratings", headers=headers, json={"item_id": rated, "item_type": "movie", "rating": 4.5})
    await client.post("/ratings", headers=other, json={"item_id": unrated, "item_type": "movie", "rating": 2})

    found = await client.get("/ratings/my", headers=headers, params={"item_type": "movie", "item_id": rated})
    none = await client.get("/ratings/my", headers=headers, params={"item_type": "movie", "item_id": unrated})
    untyped = await client.get("/ratings/my", headers=headers, params={"item_id": rated})

    assert [(r["item_id"], r["title"], r["rating"]) for r in found.json()["items"]] == [(rated, "Lagaan", 4.5)]
    assert found.json()["total"] == 1
    assert (none.status_code, none.json()["items"], none.json()["total"]) == (200, [], 0)
    assert untyped.status_code == 422
    assert untyped.json()["error"]["details"][0]["field"] == "query.item_type"


async def test_deleting_own_rating_is_204_and_updates_aggregates(client: httpx.AsyncClient, conn) -> None:
    movie_id = await add_movie(conn)
    headers = await register(client)
    rating = await client.post(
        "/ratings", headers=headers, json={"item_id": movie_id, "item_type": "movie", "rating": 4}
    )

    response = await client.delete(f"/ratings/{rating.json()['id']}", headers=headers)

    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get("/ratings/my", headers=headers)).json()["total"] == 0
    assert await item_aggregates(conn, "movies", movie_id) == (0, None)


async def test_deleting_someone_elses_rating_is_404_and_keeps_it(client: httpx.AsyncClient, conn) -> None:
    movie_id = await add_movie(conn)
    owner = await register(client, email="owner@example.com")
    intruder = await register(client, email="intruder@example.com")
    rating = await client.post("/ratings", headers=owner, json={"item_id": movie_id, "item_type": "movie", "rating": 4})

    response = await client.delete(f"/ratings/{rating.json()['id']}", headers=intruder)
    missing = await client.delete("/ratings/987654321", headers=intruder)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
    assert (await client.get("/ratings/my", headers=owner)).json()["total"] == 1


async def test_rating_an_unknown_item_is_404(client: httpx.AsyncClient) -> None:
    headers = await register(client)

    response = await client.post(
        "/ratings", headers=headers, json={"item_id": 424242, "item_type": "book", "rating": 3}
    )

    assert response.status_code == 404
    assert response.json()["error"]["details"] == [{"field": "item_id", "message": "Book 424242 does not exist."}]


async def test_ratings_need_a_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/ratings", json={"item_id": 1, "item_type": "movie", "rating": 3})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_rating_values_must_be_half_stars_between_half_and_five(client: httpx.AsyncClient, conn) -> None:
    movie_id = await add_movie(conn)
    headers = await register(client)
    statuses = {}
    for value in [0.5, 5.0, 3, 0, 5.5, 4.3, -1, "4", True, None]:
        response = await client.post(
            "/ratings", headers=headers, json={"item_id": movie_id, "item_type": "movie", "rating": value}
        )
        statuses[repr(value)] = response.status_code

    assert statuses == {
        "0.5": 201,
        "5.0": 200,
        "3": 200,
        "0": 422,
        "5.5": 422,
        "4.3": 422,
        "-1": 422,
        "'4'": 422,
        "True": 422,
        "None": 422,
    }


async def account_deleted_after_sign_in(
    client: httpx.AsyncClient, conn, *, rated_movie_id: int | None = None
) -> tuple[int, int | None]:
    """An account deleted (as by a concurrent request) after it was authenticated, having first
    rated `rated_movie_id` if given: its user id and that rating's id."""
    headers = await register(client, email="leaving@example.com")
    rating_id = None
    if rated_movie_id is not None:
        body = {"item_id": rated_movie_id, "item_type": "movie", "rating": 3}
        rating_id = (await client.post("/ratings", headers=headers, json=body)).json()["id"]
    user_id = (await client.get("/auth/me", headers=headers)).json()["id"]
    await conn.execute("DELETE FROM users WHERE id = %s", (user_id,))
    return user_id, rating_id


async def test_a_rating_from_an_account_deleted_after_sign_in_is_unauthorised_not_a_missing_movie(
    client: httpx.AsyncClient, conn
) -> None:
    movie_id = await add_movie(conn)
    user_id, _ = await account_deleted_after_sign_in(client, conn)

    with pytest.raises(AuthenticationError) as refused:
        await ratings_service.rate(
            conn, user_id=user_id, data=RatingWrite(item_id=movie_id, item_type="movie", rating=4.5)
        )

    assert (refused.value.status_code, refused.value.code) == (401, "not_authenticated")
    assert refused.value.message == "The account this access token belongs to no longer exists."
    assert await item_aggregates(conn, "movies", movie_id) == (0, None)


async def test_deleting_a_rating_of_an_account_deleted_after_sign_in_is_unauthorised(
    client: httpx.AsyncClient, conn
) -> None:
    movie_id = await add_movie(conn)
    user_id, rating_id = await account_deleted_after_sign_in(client, conn, rated_movie_id=movie_id)
    assert rating_id is not None

    with pytest.raises(AuthenticationError) as refused:
        await ratings_service.delete(conn, user_id=user_id, rating_id=rating_id)

    assert (refused.value.status_code, refused.value.code) == (401, "not_authenticated")
