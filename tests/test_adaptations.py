"""Films linked to the books they adapt: the demo catalogue's links, the two catalogue routes,
the TMDB sync's links from credits and keywords, and the personalized reasons they give."""

import httpx
from psycopg.rows import dict_row

from cinelibre.catalog import service as catalog_service
from cinelibre.catalog.schemas import CatalogueAdaptation
from cinelibre.demo import service as demo_service
from tests.factories import add_book, add_movie, register
from tests.fake_upstream import FakeUpstream, make_movies
from tests.test_sync import enrich_films, rows, sync_films, sync_pool, sync_template  # noqa: F401 (fixtures)


def pair(movie: str, year: int, book: str, *authors: str) -> CatalogueAdaptation:
    return CatalogueAdaptation.model_validate(
        {"movie": {"title": movie, "year": year}, "book": {"title": book, "authors": list(authors)}}
    )


async def links(conn) -> list[tuple[str, int | None, str, str]]:
    rows = await (
        await conn.execute(
            """SELECT m.title AS film, m.year, b.title AS book, a.found_by FROM adaptations a
               JOIN movies m ON m.id = a.movie_id JOIN books b ON b.id = a.book_id ORDER BY 1, 2, 3"""
        )
    ).fetchall()
    return [(row["film"], row["year"], row["book"], row["found_by"]) for row in rows]


async def test_the_demo_catalogue_links_52_films_to_the_books_they_adapt(conn) -> None:
    loaded = await demo_service.load(conn)

    stored = await links(conn)
    assert loaded.adaptations == len(stored) == 52
    assert {found_by for *_, found_by in stored} == {"catalogue"}
    assert ("Guide", 1965, "The Guide", "catalogue") in stored
    assert [(film, year) for film, year, book, _ in stored if book == "Devdas"] == [("Devdas", 1955), ("Devdas", 2002)]
    assert [film for film, _, book, _ in stored if book == "Aparajito"] == ["Aparajito", "Apur Sansar"]
    assert [book for film, _, book, _ in stored if film == "Aparajito"] == ["Aparajito", "Pather Panchali"]


async def test_linking_the_demo_pairs_again_changes_nothing(conn) -> None:
    await demo_service.load(conn)
    await conn.execute(
        "UPDATE adaptations SET found_by = 'tmdb_credits' "
        "WHERE movie_id = (SELECT id FROM movies WHERE title = 'Guide')"
    )
    before = await links(conn)

    again = await catalog_service.link_catalogue_adaptations(conn, demo_service.read_adaptations())

    assert again == 52
    assert await links(conn) == before  # a link made another way keeps its found_by
    assert ("Guide", 1965, "The Guide", "tmdb_credits") in before


async def test_a_pair_naming_an_item_the_catalogue_lacks_links_nothing(conn) -> None:
    await add_movie(conn, title="Devdas", year=1955)
    await add_book(conn, title="Devdas", authors=["Sarat Chandra Chattopadhyay"])

    linked = await catalog_service.link_catalogue_adaptations(
        conn,
        [
            pair("Devdas", 1955, "Devdas", "Sarat Chandra Chattopadhyay"),
            pair("Devdas", 2002, "Devdas", "Sarat Chandra Chattopadhyay"),  # no such film here
            pair("Devdas", 1955, "Devdas", "Someone Else"),  # another author's Devdas
        ],
    )

    assert linked == 1
    assert await links(conn) == [("Devdas", 1955, "Devdas", "catalogue")]


async def test_a_films_source_books_and_a_books_films(client: httpx.AsyncClient, conn) -> None:
    book = await add_book(conn, title="Devdas", authors=["Sarat Chandra Chattopadhyay"], year=1917, language="bn")
    later = await add_movie(conn, title="Devdas", year=2002, original_language="hi")
    earlier = await add_movie(conn, title="Devdas", year=1955, original_language="hi")
    unlinked = await add_movie(conn, title="Sholay", year=1975)
    await catalog_service.link_catalogue_adaptations(
        conn,
        [
            pair("Devdas", 2002, "Devdas", "Sarat Chandra Chattopadhyay"),
            pair("Devdas", 1955, "Devdas", "Sarat Chandra Chattopadhyay"),
        ],
    )

    books = await client.get(f"/movies/{later}/source-books")
    films = await client.get(f"/books/{book}/adaptations")
    none = await client.get(f"/movies/{unlinked}/source-books")

    assert books.status_code == films.status_code == none.status_code == 200
    assert books.json() == {"items": [(await client.get(f"/books/{book}")).json() | {"found_by": "catalogue"}]}
    assert films.json() == {
        "items": [
            (await client.get(f"/movies/{earlier}")).json() | {"found_by": "catalogue"},
            (await client.get(f"/movies/{later}")).json() | {"found_by": "catalogue"},
        ]
    }
    assert none.json() == {"items": []}


async def test_adaptations_of_an_unknown_film_or_book_are_404(client: httpx.AsyncClient, conn) -> None:
    movie = await client.get("/movies/987654/source-books")
    book = await client.get("/books/987654/adaptations")

    assert (movie.status_code, book.status_code) == (404, 404)
    assert movie.json()["error"]["message"] == "Movie 987654 does not exist."
    assert book.json()["error"]["message"] == "Book 987654 does not exist."


async def personalized(client: httpx.AsyncClient, headers: dict, **params) -> dict[str, str]:
    response = await client.get("/recommendations/personalized", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return {item["title"]: item["reason"] for item in response.json()["items"]}


async def rate(client: httpx.AsyncClient, headers: dict, item_type: str, item_id: int, stars: float) -> None:
    response = await client.post(
        "/ratings", headers=headers, json={"item_type": item_type, "item_id": item_id, "rating": stars}
    )
    assert response.status_code == 201, response.text


async def test_a_film_of_a_novel_the_user_loved_is_listed_with_that_reason(client: httpx.AsyncClient, conn) -> None:
    books = {
        title: await add_book(conn, title=title, authors=[author], categories=categories)
        for title, author, categories in [
            ("Devdas", "Sarat Chandra Chattopadhyay", ["Fiction", "Classics"]),
            ("Parineeta", "Sarat Chandra Chattopadhyay", ["Fiction"]),
            ("Pather Panchali", "Bibhutibhushan Bandyopadhyay", ["Fiction"]),
            ("Aparajito", "Bibhutibhushan Bandyopadhyay", ["Fiction"]),
            ("Othello", "William Shakespeare", ["Drama", "Plays"]),
        ]
    }
    for title, year in [("Devdas", 1955), ("Parineeta", 2005), ("Aparajito", 1956), ("Omkara", 2006), ("Sholay", 1975)]:
        await add_movie(conn, title=title, year=year, original_language="hi")
    await catalog_service.link_catalogue_adaptations(
        conn,
        [
            pair("Devdas", 1955, "Devdas", "Sarat Chandra Chattopadhyay"),
            pair("Parineeta", 2005, "Parineeta", "Sarat Chandra Chattopadhyay"),
            pair("Aparajito", 1956, "Pather Panchali", "Bibhutibhushan Bandyopadhyay"),
            pair("Aparajito", 1956, "Aparajito", "Bibhutibhushan Bandyopadhyay"),
            pair("Omkara", 2006, "Othello", "William Shakespeare"),
        ],
    )
    headers = await register(client)
    for title, stars in [("Devdas", 5), ("Parineeta", 3.5), ("Aparajito", 4.5), ("Pather Panchali", 4), ("Othello", 4)]:
        await rate(client, headers, "book", books[title], stars)

    films = await personalized(client, headers, item_type="movie", limit=10)

    # Nobody rated these films: the adaptations alone bring them. Parineeta's novel was rated below
    # 4 stars, so neither its film nor Sholay is among the candidates. Aparajito adapts two liked
    # novels and names the better rated; a play is called a play.
    assert films == {
        "Devdas": "you rated the novel Devdas 5★ — its film",
        "Aparajito": "you rated the novel Aparajito 4.5★ — its film",
        "Omkara": "you rated the play Othello 4★ — its film",
    }


async def test_the_book_of_a_film_the_user_loved_is_listed_with_that_reason(client: httpx.AsyncClient, conn) -> None:
    film = await add_movie(conn, title="Maqbool", year=2003, original_language="hi")
    await add_book(conn, title="Macbeth", authors=["William Shakespeare"])
    await add_book(conn, title="Othello", authors=["William Shakespeare"])
    await catalog_service.link_catalogue_adaptations(conn, [pair("Maqbool", 2003, "Macbeth", "William Shakespeare")])
    headers = await register(client)
    await rate(client, headers, "movie", film, 4.5)

    books = await personalized(client, headers, item_type="book", limit=10)
    films = await personalized(client, headers, item_type="movie", limit=10)

    assert books == {"Macbeth": "you rated the film Maqbool 4.5★ — the book it adapts"}
    assert films == {}  # the rated film itself is never listed, and a book list brings no film


BASED_ON_A_BOOK = {"id": 818, "name": "based on novel or book"}


def tmdb_film(film: dict, title: str, released: str, *, novelist: str | None = None, tagged: bool = False) -> None:
    """Make a generated TMDB film this title, crediting `novelist` for the Novel and tagged as
    based on a book or not."""
    film.update(title=title, original_title=title, release_date=released)
    if novelist:
        film["credits"]["crew"].append({"id": 9_000_001, "name": novelist, "job": "Novel", "department": "Writing"})
    film["keywords"] = {"keywords": [BASED_ON_A_BOOK] if tagged else []}


async def test_a_sync_links_films_to_books_by_their_credits_and_keywords(sync_pool) -> None:  # noqa: F811
    films = make_movies(6, ("hi",))
    tmdb_film(films[0], "Guide", "1965-02-06", novelist="R.K. Narayan")  # spelt otherwise than the book's
    tmdb_film(films[1], "Swami", "1987-05-01", novelist="R. K. Narayan")  # his, but no book of that title
    tmdb_film(films[2], "Devdas", "1955-12-30", tagged=True)
    tmdb_film(films[3], "Parineeta", "2005-06-10", tagged=True)  # two books are as close: neither
    tmdb_film(films[4], "The White Tiger", "1990-01-01", tagged=True)  # the novel came out later
    tmdb_film(films[5], "Malgudi Days", "1987-01-01")  # neither credited nor tagged
    async with sync_pool.connection() as conn:
        conn.row_factory = dict_row
        for title, year, author in [
            ("The Guide", 1958, "R. K. Narayan"),
            ("Malgudi Days", 1943, "R. K. Narayan"),
            ("Swami and Friends", 1935, "R. K. Narayan"),
            ("Devdas", 1917, "Sarat Chandra Chattopadhyay"),
            ("Parineeta", 1914, "Sarat Chandra Chattopadhyay"),
            ("Parineeta", 1999, "Someone Else"),
            ("The White Tiger", 2008, "Aravind Adiga"),
        ]:
            await add_book(conn, title=title, year=year, authors=[author])
    linked = """SELECT m.title AS film, b.title AS book, a.found_by FROM adaptations a
                JOIN movies m ON m.id = a.movie_id JOIN books b ON b.id = a.book_id ORDER BY 1, 2"""

    with FakeUpstream(movies=films) as upstream:
        first = await sync_films(sync_pool, upstream, None, languages=["hi"])
        after_first = await rows(sync_pool, linked)
        again = await sync_films(sync_pool, upstream, None, languages=["hi"], full=True)

    assert (first.new, first.failed, again.failed) == (6, 0, 0)
    assert after_first == [
        {"film": "Devdas", "book": "Devdas", "found_by": "tmdb_keywords"},
        {"film": "Guide", "book": "The Guide", "found_by": "tmdb_credits"},
    ]
    assert await rows(sync_pool, linked) == after_first  # fetched again: the same links, once each


async def test_enriching_a_film_links_it_to_the_book_its_credits_name(sync_pool) -> None:  # noqa: F811
    films = make_movies(1, ("en",))
    tmdb_film(films[0], "Pride & Prejudice", "2005-09-16", novelist="Jane Austen")
    async with sync_pool.connection() as conn:
        conn.row_factory = dict_row
        # As a MovieLens import leaves it: a TMDB id and no overview.
        await add_movie(conn, title="Pride & Prejudice", year=2005, tmdb_id=films[0]["id"])
        await add_book(conn, title="Pride and Prejudice", year=1813, authors=["Jane Austen"])
        await add_book(conn, title="Emma", year=1815, authors=["Jane Austen"])

    with FakeUpstream(movies=films) as upstream:
        report = await enrich_films(sync_pool, upstream, None)

    assert (report.fetched, report.updated, report.failed) == (1, 1, 0)
    assert await rows(
        sync_pool,
        """SELECT b.title, a.found_by FROM adaptations a JOIN books b ON b.id = a.book_id
           WHERE a.movie_id = (SELECT id FROM movies WHERE tmdb_id = %s)""",
        (films[0]["id"],),
    ) == [{"title": "Pride and Prejudice", "found_by": "tmdb_credits"}]
