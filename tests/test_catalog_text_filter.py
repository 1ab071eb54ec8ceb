"""`q` on the movie and book lists: typo-tolerant matching of titles, original titles and authors."""

import httpx
import pytest
from hypothesis import given, note
from psycopg import sql

from cinelibre.catalog.repository import BOOK_TEXT_MATCH, MOVIE_TEXT_MATCH
from tests.factories import add_book, add_movie
from tests.test_properties import WHITE_SPACE, assert_error_shape, hostile, search_texts


@pytest.fixture
async def films(conn) -> dict[str, int]:
    ids = {
        "godfather": await add_movie(conn, title="The Godfather", year=1972, original_language="en"),
        "part_two": await add_movie(conn, title="The Godfather Part II", year=1974, original_language="en"),
        "godzilla": await add_movie(conn, title="Godzilla", year=1954, original_language="ja"),
        "good_father": await add_movie(conn, title="The Good Father", year=1985, original_language="en"),
        "spirited_away": await add_movie(
            conn, title="Spirited Away", original_title="Sen to Chihiro no Kamikakushi", year=2001
        ),
    }
    # Popularity puts Part II before the first film, and Godzilla before both.
    for key, popularity in [("godfather", 10), ("part_two", 50), ("godzilla", 100)]:
        await conn.execute("UPDATE movies SET popularity = %s WHERE id = %s", (popularity, ids[key]))
    return ids


async def movie_ids(client: httpx.AsyncClient, **params) -> tuple[list[int], int]:
    response = await client.get("/movies", params=params)
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["items"]], response.json()["total"]


async def test_a_misspelt_title_finds_the_films_that_carry_it(client: httpx.AsyncClient, films) -> None:
    # "godfathr" shares 7 of its 9 trigrams with "Godfather" (0.78); "Godzilla" 3 (0.33) and
    # "The Good Father" 0.5, both under the 0.6 needed.
    found = await movie_ids(client, q="godfathr")

    # Equally close, so popularity decides between them.
    assert found == ([films["part_two"], films["godfather"]], 2)


async def test_the_original_title_is_matched_too(client: httpx.AsyncClient, films) -> None:
    assert await movie_ids(client, q="chihiro") == ([films["spirited_away"]], 1)


async def test_closeness_orders_before_popularity(client: httpx.AsyncClient, conn, films) -> None:
    godzillas = await add_movie(conn, title="Godzillas", year=2000)
    await conn.execute("UPDATE movies SET popularity = 1000 WHERE id = %s", (godzillas,))

    # "Godzilla" matches itself exactly (1.0); "Godzillas" a little less (0.89) though far more popular.
    assert await movie_ids(client, q="Godzilla") == ([films["godzilla"], godzillas], 2)


async def test_an_explicit_sort_wins_over_closeness(client: httpx.AsyncClient, films) -> None:
    assert await movie_ids(client, q="godfathr", sort="title") == ([films["godfather"], films["part_two"]], 2)
    assert await movie_ids(client, q="godfathr", sort="year") == ([films["part_two"], films["godfather"]], 2)


async def test_the_other_filters_and_paging_still_apply(client: httpx.AsyncClient, films) -> None:
    assert await movie_ids(client, q="godfathr", year_to=1973) == ([films["godfather"]], 1)
    assert await movie_ids(client, q="godfathr", language="ja") == ([], 0)
    assert await movie_ids(client, q="godfathr", skip=1, limit=1) == ([films["godfather"]], 2)


async def test_text_without_any_word_character_matches_nothing(client: httpx.AsyncClient, films) -> None:
    assert await movie_ids(client, q="!!!") == ([], 0)


async def test_books_match_titles_and_authors_closest_first(client: httpx.AsyncClient, conn) -> None:
    malgudi = await add_book(conn, title="Malgudi Days", authors=["R. K. Narayan"])
    narayani = await add_book(conn, title="Narayani", authors=["Someone Else"])
    await add_book(conn, title="Godaan", authors=["Premchand"])
    await conn.execute("UPDATE books SET rating_count = 10 WHERE id = %s", (narayani,))

    response = await client.get("/books", params={"q": "narayan"})

    # The author's name is an exact match (1.0); the title "Narayani" 0.875, though more rated.
    assert response.status_code == 200
    body = response.json()
    assert ([b["id"] for b in body["items"]], body["total"]) == ([malgudi, narayani], 2)


async def test_books_forgive_a_misspelt_author_and_keep_their_filters(client: httpx.AsyncClient, conn) -> None:
    godaan = await add_book(conn, title="Godaan", language="hi", authors=["Premchand"])
    nirmala = await add_book(conn, title="Nirmala", language="hi", authors=["Premchand"])
    await add_book(conn, title="Gitanjali", language="bn", authors=["Rabindranath Tagore"])
    await conn.execute("UPDATE books SET rating_count = 3 WHERE id = %s", (nirmala,))

    everything = (await client.get("/books", params={"q": "premchnd"})).json()
    in_bengali = (await client.get("/books", params={"q": "premchnd", "language": "bn"})).json()

    assert ([b["id"] for b in everything["items"]], everything["total"]) == ([nirmala, godaan], 2)
    assert (in_bengali["items"], in_bengali["total"]) == ([], 0)


@pytest.mark.parametrize("path", ["/movies", "/books"])
@pytest.mark.parametrize("text", ["", "   "])
async def test_empty_text_is_refused_in_the_error_shape(client: httpx.AsyncClient, path: str, text: str) -> None:
    response = await client.get(path, params={"q": text})

    assert response.status_code == 422
    message = "String should have at least 1 character"
    assert response.json() == {
        "error": {
            "code": "validation_error",
            "message": f"Invalid request: query.q: {message}",
            "details": [{"field": "query.q", "message": message}],
        }
    }


async def test_overlong_text_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/movies", params={"q": "x" * 201})

    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"field": "query.q", "message": "String should have at most 200 characters"}
    ]


@pytest.mark.parametrize("path", ["/movies", "/books"])
@hostile(150)
@given(q=search_texts)
async def test_any_text_is_matched_or_refused_by_its_length_never_500(
    catalogue_client: httpx.AsyncClient, path: str, q: str
) -> None:
    note(f"q {q!r}")
    response = await catalogue_client.get(path, params={"q": q, "limit": 100})

    if "\x00" in q or not 1 <= len(q.strip(WHITE_SPACE)) <= 200:
        assert_error_shape(response, 422, "validation_error", "query.q")
    else:
        assert response.status_code == 200, response.text
        assert len(response.json()["items"]) == min(100, response.json()["total"])


@pytest.mark.parametrize(
    ("table", "match", "indexes"),
    [
        ("movies", MOVIE_TEXT_MATCH, {"movies_title_trgm_idx", "movies_original_title_trgm_idx"}),
        ("books", BOOK_TEXT_MATCH, {"books_title_trgm_idx", "books_authors_trgm_idx"}),
    ],
)
async def test_the_text_filter_can_be_answered_by_the_trigram_indexes(conn, table, match, indexes) -> None:
    # With table scans ruled out, the planner can answer the filter only if each of its
    # comparisons has an index: what keeps `q` fast on a large catalogue.
    await conn.execute("SET LOCAL enable_seqscan = off")
    query = sql.SQL("EXPLAIN SELECT id FROM {} WHERE {}").format(sql.Identifier(table), match)
    plan = "\n".join(
        row["QUERY PLAN"] for row in await (await conn.execute(query, ("godfathr", "godfathr"))).fetchall()
    )

    assert {index for index in indexes if index in plan} == indexes, plan
    assert "Seq Scan" not in plan, plan
