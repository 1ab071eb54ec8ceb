"""The text each item is embedded from (movies.document, books.document): sentences built from
whatever the catalogue knows, opening with the overview or description (what a description query
is most like), then the title, kind and people, then the long lists."""

from tests.factories import add_book, add_movie


async def document_of(conn, table: str, item_id: int) -> str:
    row = await (await conn.execute(f"SELECT document FROM {table} WHERE id = %s", (item_id,))).fetchone()
    return row["document"]


async def test_a_described_film_reads_overview_then_title_kind_people_and_keywords(conn) -> None:
    film = await add_movie(
        conn,
        title="Drishyam",
        original_title="दृश्यम",
        year=2015,
        original_language="hi",
        genres=["Crime", "Thriller"],
        directors=["Nishikant Kamat"],
        cast=["Ajay Devgn", "Tabu"],
        overview="A cable operator shields his family after a crime.",
    )
    await conn.execute("UPDATE movies SET keywords = '{alibi,police}', tags = '{twist ending}' WHERE id = %s", (film,))

    assert await document_of(conn, "movies", film) == (
        "A cable operator shields his family after a crime. Drishyam (दृश्यम, 2015). Crime, Thriller film "
        "in Hindi. Directed by Nishikant Kamat. Starring Ajay Devgn, Tabu. Tags: twist ending. Keywords: alibi, police."
    )


async def test_a_film_known_only_by_its_title_is_still_called_a_film(conn) -> None:
    assert await document_of(conn, "movies", await add_movie(conn, title="Toys")) == "Toys. Film."


async def test_a_book_reads_description_then_title_kind_authors_and_language(conn) -> None:
    book = await add_book(
        conn,
        title="Cosmos",
        year=1980,
        language="en",
        categories=["Science"],
        authors=["Carl Sagan"],
        description="A journey through space and time.",
    )
    bare = await add_book(conn, title="Godaan")

    assert await document_of(conn, "books", book) == (
        "A journey through space and time. Cosmos (1980). Science book by Carl Sagan in English."
    )
    assert await document_of(conn, "books", bare) == "Godaan. Book."
