"""Account self-service: changing the password, logging out everywhere, deleting the account and
exporting its data."""

import httpx

from tests.factories import add_book, add_movie, register

REFUSED_TOKEN = "The access token is invalid or has expired."


def bearer(response: httpx.Response) -> dict[str, str]:
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def me_status(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return (await client.get("/auth/me", headers=headers)).status_code


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


async def test_changing_the_password_ends_every_older_token_and_returns_a_working_one(
    client: httpx.AsyncClient,
) -> None:
    from_register = await register(client, email="change@example.com", password="old-password")
    from_login = bearer(await login(client, "change@example.com", "old-password"))

    changed = await client.post(
        "/auth/password",
        headers=from_login,
        json={"current_password": "old-password", "new_password": "new-password"},
    )

    assert changed.status_code == 200
    assert changed.json()["user"]["email"] == "change@example.com"
    assert await me_status(client, bearer(changed)) == 200
    assert await me_status(client, from_register) == 401
    assert await me_status(client, from_login) == 401
    assert (await login(client, "change@example.com", "old-password")).status_code == 401
    assert (await login(client, "change@example.com", "new-password")).status_code == 200


async def test_changing_the_password_needs_the_current_one(client: httpx.AsyncClient, conn) -> None:
    headers = await register(client, email="guess@example.com", password="the-password")

    response = await client.post(
        "/auth/password", headers=headers, json={"current_password": "a-guess", "new_password": "new-password"}
    )

    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "validation_error",
            "message": "The password is not correct.",
            "details": [{"field": "current_password", "message": "The password is not correct."}],
        }
    }
    assert await me_status(client, headers) == 200
    assert (await login(client, "guess@example.com", "the-password")).status_code == 200
    row = await (await conn.execute("SELECT token_version FROM users WHERE email = 'guess@example.com'")).fetchone()
    assert row["token_version"] == 0


async def test_the_new_password_follows_the_registration_rules(client: httpx.AsyncClient) -> None:
    headers = await register(client, email="rules@example.com", password="the-password")

    response = await client.post(
        "/auth/password", headers=headers, json={"current_password": "the-password", "new_password": "short"}
    )

    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == ["body.new_password"]


async def test_logging_out_everywhere_ends_every_token_but_the_one_it_returns(client: httpx.AsyncClient, conn) -> None:
    phone = await register(client, email="everywhere@example.com", password="the-password")
    laptop = bearer(await login(client, "everywhere@example.com", "the-password"))

    response = await client.post("/auth/logout-all", headers=laptop)

    assert response.status_code == 200
    assert await me_status(client, phone) == 401
    assert await me_status(client, laptop) == 401
    assert await me_status(client, bearer(response)) == 200
    cursor = await conn.execute("SELECT token_version FROM users WHERE email = 'everywhere@example.com'")
    assert await cursor.fetchone() == {"token_version": 1}


async def test_logging_out_everywhere_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/logout-all")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


async def aggregates(conn, table: str, item_id: int) -> tuple[int, float, float | None]:
    cursor = await conn.execute(
        f"SELECT rating_count, rating_sum::float8 AS total, average_rating::float8 AS avg FROM {table} WHERE id = %s",
        (item_id,),
    )
    row = await cursor.fetchone()
    return row["rating_count"], row["total"], row["avg"]


async def rate(client: httpx.AsyncClient, headers: dict[str, str], item_type: str, item_id: int, stars: float) -> None:
    response = await client.post(
        "/ratings", headers=headers, json={"item_id": item_id, "item_type": item_type, "rating": stars}
    )
    assert response.status_code == 201, response.text


async def view(client: httpx.AsyncClient, headers: dict[str, str], item_type: str, item_id: int) -> None:
    response = await client.post(
        "/interactions", headers=headers, json={"kind": "view", "item_id": item_id, "item_type": item_type}
    )
    assert response.status_code == 201, response.text


async def test_deleting_the_account_removes_its_ratings_from_the_item_counts(
    client: httpx.AsyncClient, conn, app
) -> None:
    shared_movie, own_movie = await add_movie(conn, title="Lagaan"), await add_movie(conn, title="Swades")
    book = await add_book(conn, title="The Guide")
    leaving = await register(client, email="leaving@example.com", password="the-password")
    staying = await register(client, email="staying@example.com")
    await rate(client, leaving, "movie", shared_movie, 5)
    await rate(client, leaving, "movie", own_movie, 2.5)
    await rate(client, leaving, "book", book, 4)
    await view(client, leaving, "movie", shared_movie)
    await rate(client, staying, "movie", shared_movie, 3)
    await view(client, staying, "movie", shared_movie)
    for caller in (leaving, staying):
        await client.get("/recommendations/popular", headers=caller)
    await app.state.exposure_log.flush(conn)

    response = await client.request("DELETE", "/auth/me", headers=leaving, json={"password": "the-password"})

    assert response.status_code == 204
    assert response.content == b""
    assert await aggregates(conn, "movies", shared_movie) == (1, 3.0, 3.0)
    assert await aggregates(conn, "movies", own_movie) == (0, 0.0, None)
    assert await aggregates(conn, "books", book) == (0, 0.0, None)
    counts = await (
        await conn.execute(
            """SELECT (SELECT count(*) FROM users WHERE email = 'leaving@example.com') AS users,
                      (SELECT count(*) FROM ratings r JOIN users u ON u.id = r.user_id
                       WHERE u.email = 'staying@example.com') AS staying_ratings,
                      (SELECT count(*) FROM interactions) AS interactions,
                      (SELECT count(*) FROM list_exposures) AS lists_shown"""
        )
    ).fetchone()
    assert counts == {"users": 0, "staying_ratings": 1, "interactions": 1, "lists_shown": 1}
    assert await me_status(client, leaving) == 401
    assert (await login(client, "leaving@example.com", "the-password")).status_code == 401


async def test_after_an_account_is_deleted_every_items_counts_still_match_its_ratings(
    client: httpx.AsyncClient, conn
) -> None:
    movies = [await add_movie(conn, title=f"Film {n}") for n in range(4)]
    users = [await register(client, email=f"user{n}@example.com", password="the-password") for n in range(3)]
    for n, headers in enumerate(users):
        for m, movie in enumerate(movies[n:]):
            await rate(client, headers, "movie", movie, 0.5 + m + n)

    response = await client.request("DELETE", "/auth/me", headers=users[1], json={"password": "the-password"})

    assert response.status_code == 204
    mismatched = await (
        await conn.execute(
            """SELECT m.id FROM movies m
               LEFT JOIN (SELECT movie_id, count(*) AS n, sum(rating) AS total FROM ratings GROUP BY movie_id) r
                 ON r.movie_id = m.id
               WHERE m.id = ANY(%s) AND (m.rating_count, m.rating_sum) <> (coalesce(r.n, 0), coalesce(r.total, 0))""",
            (movies,),
        )
    ).fetchall()
    assert mismatched == []
    assert [(await aggregates(conn, "movies", movie))[0] for movie in movies] == [1, 1, 2, 2]


async def test_deleting_the_account_needs_the_password(client: httpx.AsyncClient, conn) -> None:
    movie = await add_movie(conn)
    headers = await register(client, email="careful@example.com", password="the-password")
    await rate(client, headers, "movie", movie, 4)

    wrong = await client.request("DELETE", "/auth/me", headers=headers, json={"password": "not-the-one"})
    missing = await client.request("DELETE", "/auth/me", headers=headers)

    assert wrong.status_code == 422
    assert wrong.json()["error"]["details"] == [{"field": "password", "message": "The password is not correct."}]
    assert missing.status_code == 422
    assert await me_status(client, headers) == 200
    assert await aggregates(conn, "movies", movie) == (1, 4.0, 4.0)


async def test_export_holds_the_account_its_ratings_with_titles_its_interactions_and_lists_shown(
    client: httpx.AsyncClient, conn, app
) -> None:
    movie, book = await add_movie(conn, title="Pather Panchali"), await add_book(conn, title="Malgudi Days")
    headers = await register(client, email="export@example.com", name="Exporter")
    someone_else = await register(client, email="other@example.com")
    await rate(client, headers, "movie", movie, 4.5)
    await rate(client, headers, "book", book, 3)
    await view(client, headers, "movie", movie)
    search = await client.post("/interactions", headers=headers, json={"kind": "search", "query": "village life"})
    assert search.status_code == 201
    await rate(client, someone_else, "movie", movie, 1)
    listed = (await client.get("/recommendations/popular", params={"item_type": "movie"}, headers=headers)).json()
    await client.get("/recommendations/popular", headers=someone_else)
    await app.state.exposure_log.flush(conn)
    history = b"Const,Your Rating,Date Rated,Title,Year\ntt9900001,8,2024-05-01,A Film Nobody Has,1999\n"
    upload = {"file": ("ratings.csv", history, "text/csv")}
    imported = (await client.post("/me/imports", params={"source": "imdb"}, headers=headers, files=upload)).json()

    response = await client.get("/auth/me/export", headers=headers)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"exported_at", "account", "ratings", "interactions", "lists_shown", "imports"}
    assert [(i["import_id"], i["source"], i["rows"]) for i in body["imports"]] == [(imported["import_id"], "imdb", 1)]
    me = (await client.get("/auth/me", headers=headers)).json()
    assert body["account"] == me
    assert [(r["item_type"], r["item_id"], r["title"], r["rating"]) for r in body["ratings"]] == [
        ("movie", movie, "Pather Panchali", 4.5),
        ("book", book, "Malgudi Days", 3.0),
    ]
    assert [(i["kind"], i["item_type"], i["item_id"], i["query"]) for i in body["interactions"]] == [
        ("view", "movie", movie, None),
        ("search", None, None, "village life"),
    ]
    # The popular list it was shown, written by the exposure log; another account's list is not its.
    assert [(shown["surface"], shown["list_id"], shown["items"]) for shown in body["lists_shown"]] == [
        ("popular", listed["list_id"], [{"item_type": "movie", "item_id": movie}])
    ]
    assert (body["lists_shown"][0]["experiment_id"], body["lists_shown"][0]["first_position"]) == (None, 1)


async def test_export_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/me/export")

    assert response.status_code == 401


async def test_a_long_history_is_exported_whole_and_in_order_as_it_is_read(client: httpx.AsyncClient, conn) -> None:
    headers = await register(client, email="long-history@example.com")
    await conn.execute(
        """INSERT INTO interactions (user_id, kind, query)
        SELECT u.id, 'search', 'query ' || n FROM users u, generate_series(1, 450) AS n
        WHERE u.email = 'long-history@example.com' ORDER BY n"""
    )

    response = await client.get("/auth/me/export", headers=headers)

    assert response.status_code == 200
    assert "content-length" not in response.headers  # sent in pieces, not built whole first
    body = response.json()
    assert body["ratings"] == []
    assert [i["query"] for i in body["interactions"]] == [f"query {n}" for n in range(1, 451)]
