import httpx

from tests.factories import add_book, add_movie


async def test_get_movie_returns_every_catalogue_field(client: httpx.AsyncClient, conn) -> None:
    movie_id = await add_movie(
        conn,
        title="Drishyam",
        year=2013,
        original_language="ml",
        genres=["Crime", "Drama"],
        overview="A cable operator protects his family.",
        directors=["Jeethu Joseph"],
        cast=["Mohanlal", "Meena"],
        runtime=160,
        tmdb_id=248937,
        imdb_id="tt3417422",
    )

    response = await client.get(f"/movies/{movie_id}")

    assert response.status_code == 200
    assert response.json() == {
        "id": movie_id,
        "title": "Drishyam",
        "original_title": None,
        "year": 2013,
        "release_date": None,
        "original_language": "ml",
        "genres": ["Crime", "Drama"],
        "keywords": [],
        "overview": "A cable operator protects his family.",
        "directors": ["Jeethu Joseph"],
        "cast": ["Mohanlal", "Meena"],
        "poster_url": None,
        "runtime": 160,
        "tmdb_id": 248937,
        "imdb_id": "tt3417422",
        "movielens_id": None,
        "popularity": None,
        "vote_average": None,
        "vote_count": None,
        "spoken_languages": [],
        "average_rating": None,
        "rating_count": 0,
    }


async def test_unknown_movie_and_book_are_404(client: httpx.AsyncClient) -> None:
    movie = await client.get("/movies/999999")
    book = await client.get("/books/999999")

    assert movie.status_code == book.status_code == 404
    assert movie.json()["error"] == {"code": "not_found", "message": "Movie 999999 does not exist.", "details": []}
    assert book.json()["error"]["message"] == "Book 999999 does not exist."


async def test_movie_list_uses_the_envelope_and_pages(client: httpx.AsyncClient, conn) -> None:
    ids = [await add_movie(conn, title=f"Film {n}", year=2000 + n) for n in range(5)]

    first = await client.get("/movies", params={"sort": "year", "limit": 2})
    third = await client.get("/movies", params={"sort": "year", "skip": 4, "limit": 2})

    assert first.json()["total"] == 5
    assert (first.json()["skip"], first.json()["limit"]) == (0, 2)
    assert [m["id"] for m in first.json()["items"]] == [ids[4], ids[3]]
    assert [m["id"] for m in third.json()["items"]] == [ids[0]]


async def test_movie_list_defaults_to_twenty(client: httpx.AsyncClient, conn) -> None:
    for n in range(25):
        await add_movie(conn, title=f"Film {n:02d}")

    response = await client.get("/movies")

    assert len(response.json()["items"]) == 20
    assert response.json()["limit"] == 20
    assert response.json()["total"] == 25


async def test_movie_filters_combine(client: httpx.AsyncClient, conn) -> None:
    kept = await add_movie(conn, title="Kaithi", year=2019, original_language="ta", genres=["Action", "Thriller"])
    await add_movie(conn, title="Vikram Vedha", year=2017, original_language="ta", genres=["Action", "Crime"])
    await add_movie(conn, title="Andhadhun", year=2018, original_language="hi", genres=["Thriller"])
    await add_movie(conn, title="Thuppakki", year=2012, original_language="ta", genres=["Thriller"])

    response = await client.get(
        "/movies", params={"language": "ta", "genre": "thriller", "year_from": 2015, "year_to": 2020}
    )

    assert response.json()["total"] == 1
    assert [m["id"] for m in response.json()["items"]] == [kept]


async def test_movie_sorts(client: httpx.AsyncClient, conn) -> None:
    a = await add_movie(conn, title="Zindagi", year=1990)
    b = await add_movie(conn, title="anand", year=1971)
    c = await add_movie(conn, title="Mughal-e-Azam", year=1960)
    await conn.execute("UPDATE movies SET popularity = 5 WHERE id = %s", (c,))
    await conn.execute("UPDATE movies SET popularity = 9 WHERE id = %s", (b,))
    await conn.execute("UPDATE movies SET rating_count = 2, rating_sum = 9 WHERE id = %s", (a,))
    await conn.execute("UPDATE movies SET rating_count = 1, rating_sum = 3 WHERE id = %s", (c,))

    async def order(sort: str) -> list[int]:
        return [m["id"] for m in (await client.get("/movies", params={"sort": sort})).json()["items"]]

    assert await order("title") == [b, c, a]
    assert await order("year") == [a, b, c]
    assert await order("popularity") == [b, c, a]
    assert await order("rating") == [a, c, b]


async def test_book_list_filters_by_language_and_category(client: httpx.AsyncClient, conn) -> None:
    kept = await add_book(
        conn, title="Godaan", language="hi", categories=["Fiction", "Classics"], authors=["Premchand"]
    )
    await add_book(conn, title="Gitanjali", language="bn", categories=["Poetry"])
    await add_book(conn, title="Nirmala", language="hi", categories=["Fiction"])

    response = await client.get("/books", params={"language": "hi", "category": "classics"})

    assert response.json()["total"] == 1
    item = response.json()["items"][0]
    assert item["id"] == kept
    assert item["authors"] == ["Premchand"]


async def test_get_book(client: httpx.AsyncClient, conn) -> None:
    book_id = await add_book(conn, title="The Guide", year=1958, authors=["R. K. Narayan"], page_count=220)

    response = await client.get(f"/books/{book_id}")

    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["year"], body["authors"], body["page_count"]) == (
        "The Guide",
        1958,
        ["R. K. Narayan"],
        220,
    )
    assert body["average_rating"] is None
    assert body["rating_count"] == 0


async def test_a_book_known_by_its_isbn_alone_gets_its_open_library_cover(client: httpx.AsyncClient, conn) -> None:
    by_isbn = await add_book(conn, title="Godaan", isbn13="9788126415922")
    with_thumbnail = await add_book(conn, title="Nirmala", isbn13="9788171828920")
    await conn.execute(
        "UPDATE books SET thumbnail_url = 'http://books.google.com/books/content?id=x' WHERE id = %s",
        (with_thumbnail,),
    )
    unknown = await add_book(conn, title="Gitanjali")

    books = [by_isbn, with_thumbnail, unknown]
    covers = [(await client.get(f"/books/{book}")).json()["thumbnail_url"] for book in books]

    assert covers == [
        "https://covers.openlibrary.org/b/isbn/9788126415922-M.jpg?default=false",
        "http://books.google.com/books/content?id=x",
        None,
    ]
