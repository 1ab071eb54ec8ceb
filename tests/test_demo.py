from collections import Counter

import httpx

from cinelibre.demo import raters, standing
from cinelibre.demo import service as demo_service
from tests.factories import add_movie

INDIAN_LANGUAGES = ["hi", "ta", "te", "ml", "kn", "bn", "mr", "pa"]


async def catalogue_items(conn) -> list[dict]:
    return await (
        await conn.execute(
            """SELECT item_type, id, title, year, language, genres FROM (
                SELECT 'movie' AS item_type, id, title, year, original_language AS language, genres FROM movies
                UNION ALL SELECT 'book', id, title, year, language, categories FROM books) AS i
            ORDER BY item_type, title, year, id"""
        )
    ).fetchall()


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
    assert loaded.ratings == 3024
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
    items = await catalogue_items(conn)

    generated = raters.demo_ratings(items)
    assert generated == raters.demo_ratings(items)
    stored = await (
        await conn.execute(
            """SELECT r.item_type, r.item_id, r.rating::float8 AS rating FROM ratings r JOIN users u ON u.id = r.user_id
            WHERE u.imported_from = 'demo' AND u.external_id = 7 ORDER BY 1, 2"""
        )
    ).fetchall()
    assert [tuple(row.values()) for row in stored] == generated[7]


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


def test_every_standing_names_a_title_of_the_catalogue() -> None:
    movies, books = demo_service.read_catalogue()
    movie_titles = {f"{movie.title} ({movie.year})" for movie in movies}
    book_titles = {f"{book.title} ({book.year})" for book in books}

    for named in (standing.LANDMARK_MOVIES, standing.DIVISIVE_MOVIES, standing.WIDELY_SEEN_MOVIES):
        assert named - movie_titles == set()
    for named in (standing.LANDMARK_BOOKS, standing.DIVISIVE_BOOKS, standing.WIDELY_READ_BOOKS):
        assert named - book_titles == set()
    assert standing.LANDMARK_MOVIES.isdisjoint(standing.DIVISIVE_MOVIES)
    assert standing.LANDMARK_BOOKS.isdisjoint(standing.DIVISIVE_BOOKS)


async def test_demo_ratings_are_half_stars_with_a_long_tail_of_raters_and_every_item_rated(conn) -> None:
    await demo_service.load(conn)
    generated = raters.demo_ratings(await catalogue_items(conn))

    counts = sorted(len(rated) for rated in generated.values())
    stars = Counter(rating for rated in generated.values() for _, _, rating in rated)
    per_item = Counter((item_type, item_id) for rated in generated.values() for item_type, item_id, _ in rated)

    assert (counts[0], counts[len(counts) // 2], counts[-1]) == (12, 35, 99)
    assert sum(counts) == 3024
    assert set(stars) <= {step / 2 for step in range(1, 11)}
    assert (stars[5.0], stars[1.0], stars[0.5]) == (387, 0, 0)
    assert round(sum(rating * n for rating, n in stars.items()) / sum(counts), 2) == 3.84
    assert len(per_item) == 690 and min(per_item.values()) == 3


async def test_demo_lists_put_acclaimed_titles_first(client: httpx.AsyncClient, conn) -> None:
    await demo_service.load(conn)

    popular = (await client.get("/recommendations/popular", params={"item_type": "movie", "limit": 5})).json()
    books = (await client.get("/recommendations/popular", params={"item_type": "book", "limit": 3})).json()
    top_rated = (await client.get("/movies", params={"sort": "rating", "limit": 4})).json()
    hindi = (await client.get("/movies", params={"language": "hi", "limit": 3})).json()
    spirited = await (
        await conn.execute(
            "SELECT rating_count, average_rating::float8 AS stars FROM movies WHERE title = 'Spirited Away'"
        )
    ).fetchone()

    assert [item["title"] for item in popular["items"]] == [
        "Fight Club",
        "Taare Zameen Par",
        "Sholay",
        "Forrest Gump",
        "Inception",
    ]
    assert [item["title"] for item in books["items"]] == [
        "The Fellowship of the Ring",
        "The God of Small Things",
        "Nineteen Eighty-Four",
    ]
    assert [(m["title"], m["average_rating"], m["rating_count"]) for m in top_rated["items"]] == [
        ("Oldboy", 5.0, 3),
        ("The Lunchbox", 4.83, 3),
        ("Thevar Magan", 4.83, 3),
        ("Kireedam", 4.83, 3),
    ]
    assert [(m["title"], m["rating_count"]) for m in hindi["items"]] == [
        ("Dilwale Dulhania Le Jayenge", 22),
        ("Munna Bhai M.B.B.S.", 19),
        ("Zindagi Na Milegi Dobara", 19),
    ]
    assert (spirited["rating_count"], round(spirited["stars"], 2)) == (10, 4.35)
