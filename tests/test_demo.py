from collections import Counter

import httpx

from cinelibre.demo import service as demo_service
from tests.factories import add_movie

INDIAN_LANGUAGES = ["hi", "ta", "te", "ml", "kn", "bn", "mr", "pa"]


def test_demo_catalogue_has_a_real_spread() -> None:
    movies, books = demo_service.read_catalogue()

    languages = Counter(movie.original_language for movie in movies)
    assert len(movies) >= 300
    assert len(books) >= 100
    assert all(languages[code] >= 10 for code in INDIAN_LANGUAGES), languages
    assert all(movie.overview and movie.directors and movie.genres and movie.year for movie in movies)
    assert all(book.description and book.authors and book.categories for book in books)
    assert len({(movie.title, movie.year) for movie in movies}) == len(movies)


async def test_demo_load_fills_an_empty_catalogue_with_raters(conn) -> None:
    movies, books = demo_service.read_catalogue()

    loaded = await demo_service.load_if_empty(conn)

    assert loaded is not None
    assert (loaded.movies, loaded.books, loaded.users) == (len(movies), len(books), 80)
    # The seeded generator gives every install the same raters; this pins it.
    assert loaded.ratings == 2044
    stored = await (
        await conn.execute(
            """SELECT (SELECT count(*) FROM ratings) AS ratings,
                      (SELECT count(DISTINCT user_id) FROM ratings) AS raters,
                      (SELECT sum(rating_count) FROM movies) + (SELECT sum(rating_count) FROM books) AS counted,
                      (SELECT count(*) FROM users WHERE email IS NOT NULL) AS can_log_in"""
        )
    ).fetchone()
    assert stored["ratings"] == stored["counted"] == loaded.ratings
    assert stored["raters"] == 80
    assert stored["can_log_in"] == 0


async def test_demo_raters_are_the_same_on_every_install(conn) -> None:
    await demo_service.load(conn)
    items = await (
        await conn.execute(
            """SELECT item_type, id, title, year, language, genres FROM (
                SELECT 'movie' AS item_type, id, title, year, original_language AS language, genres FROM movies
                UNION ALL SELECT 'book', id, title, year, language, categories FROM books) AS i
            ORDER BY item_type, title, year, id"""
        )
    ).fetchall()

    assert demo_service.demo_ratings(7, items) == demo_service.demo_ratings(7, items)
    stored = await (
        await conn.execute(
            """SELECT r.item_type, r.item_id, r.rating::float8 AS rating FROM ratings r JOIN users u ON u.id = r.user_id
            WHERE u.imported_from = 'demo' AND u.external_id = 7 ORDER BY 1, 2"""
        )
    ).fetchall()
    assert [tuple(row.values()) for row in stored] == demo_service.demo_ratings(7, items)


async def test_demo_is_not_loaded_over_an_existing_catalogue(conn) -> None:
    await add_movie(conn, title="Only film")

    assert await demo_service.load_if_empty(conn) is None
    assert (await (await conn.execute("SELECT count(*) AS n FROM movies")).fetchone())["n"] == 1


async def test_demo_movies_are_served_by_the_api(client: httpx.AsyncClient, conn) -> None:
    await demo_service.load(conn)

    tamil = await client.get("/movies", params={"language": "ta", "limit": 100})
    top = await client.get("/movies", params={"sort": "rating", "limit": 1})

    assert tamil.json()["total"] == sum(
        1 for movie in demo_service.read_catalogue()[0] if movie.original_language == "ta"
    )
    assert top.json()["items"][0]["rating_count"] >= 1
