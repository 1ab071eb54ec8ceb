import uuid
from typing import Any

from psycopg.types.json import Jsonb

from cinelibre.database.connection import Connection

IMPORT_COLUMNS = """id AS import_id, source, rows, matched, ambiguous, not_found, ratings_added, ratings_updated,
    wants_added, created_at"""


async def movies_by_imdb_id(conn: Connection, imdb_ids: list[str]) -> list[dict[str, Any]]:
    """The films with these IMDb ids (one lookup for all of them): id, imdb_id, title, year."""
    cursor = await conn.execute(
        "SELECT id, imdb_id, title, year FROM movies WHERE imdb_id = ANY(%s::text[])", (imdb_ids,)
    )
    return await cursor.fetchall()


async def books_by_isbn13(conn: Connection, isbns: list[str]) -> list[dict[str, Any]]:
    """The books with these ISBN-13s (one lookup for all of them): id, isbn13, title, year, authors."""
    cursor = await conn.execute(
        "SELECT id, isbn13, title, year, authors FROM books WHERE isbn13 = ANY(%s::text[])", (isbns,)
    )
    return await cursor.fetchall()


async def _use_similarity_floor(conn: Connection, floor: float) -> None:
    # pg_trgm's `%` operator (which its GIN indexes serve) keeps pairs whose similarity reaches
    # this setting; set for the transaction only, so the server's default does not decide.
    await conn.execute("SELECT set_config('pg_trgm.similarity_threshold', %s, true)", (str(floor),))


async def movie_title_candidates(
    conn: Connection, wanted: list[tuple[str, int | None]], *, floor: float, per_row: int
) -> list[dict[str, Any]]:
    """For each (title, year) of `wanted`, up to `per_row` films whose title or original title is
    at least `floor` similar to it (pg_trgm similarity), released within a year of it when both
    years are known; best first. Rows: position (index in `wanted`), id, title, year, score."""
    await _use_similarity_floor(conn, floor)
    cursor = await conn.execute(
        """
        SELECT wanted.position - 1 AS position, found.id, found.title, found.year, found.score
        FROM unnest(%(titles)s::text[], %(years)s::int[]) WITH ORDINALITY AS wanted(title, year, position)
        CROSS JOIN LATERAL (
            SELECT m.id, m.title, m.year,
                   greatest(similarity(m.title, wanted.title),
                            coalesce(similarity(m.original_title, wanted.title), 0))::float8 AS score
            FROM movies m
            WHERE (m.title %% wanted.title OR m.original_title %% wanted.title)
              AND (wanted.year IS NULL OR m.year IS NULL OR m.year BETWEEN wanted.year - 1 AND wanted.year + 1)
            ORDER BY score DESC, m.id
            LIMIT %(per_row)s
        ) AS found
        ORDER BY wanted.position, found.score DESC, found.id
        """,
        {"titles": [title for title, _ in wanted], "years": [year for _, year in wanted], "per_row": per_row},
    )
    return await cursor.fetchall()


async def book_title_candidates(
    conn: Connection,
    wanted: list[tuple[str, str, str | None]],
    *,
    floor: float,
    author_floor: float,
    per_row: int,
) -> list[dict[str, Any]]:
    """For each (title, main title, author) of `wanted`, up to `per_row` books whose title is at
    least `floor` similar to the title or to its main part (before a colon); when both the row
    and the book name an author, the row's author must be found in the book's authors with a
    word similarity of `author_floor` or more. Scored by the similarity of the row's title to
    the book's title, or to its title and subtitle, whichever is higher; best first. Rows:
    position, id, title, year, authors, score."""
    await _use_similarity_floor(conn, floor)
    cursor = await conn.execute(
        """
        SELECT wanted.position - 1 AS position, found.id, found.title, found.year, found.authors, found.score
        FROM unnest(%(titles)s::text[], %(main_titles)s::text[], %(authors)s::text[])
            WITH ORDINALITY AS wanted(title, main_title, author, position)
        CROSS JOIN LATERAL (
            SELECT b.id, b.title, b.year, b.authors,
                   greatest(similarity(b.title, wanted.title),
                            similarity(concat_ws(': ', b.title, b.subtitle), wanted.title))::float8 AS score
            FROM books b
            WHERE (b.title %% wanted.title OR b.title %% wanted.main_title)
              AND (wanted.author IS NULL OR b.authors = '{}'
                   OR word_similarity(wanted.author, book_authors_text(b.authors)) >= %(author_floor)s)
            ORDER BY score DESC, b.id
            LIMIT %(per_row)s
        ) AS found
        ORDER BY wanted.position, found.score DESC, found.id
        """,
        {
            "titles": [title for title, _, _ in wanted],
            "main_titles": [main for _, main, _ in wanted],
            "authors": [author for _, _, author in wanted],
            "author_floor": author_floor,
            "per_row": per_row,
        },
    )
    return await cursor.fetchall()


async def insert(
    conn: Connection,
    *,
    import_id: uuid.UUID,
    user_id: int,
    source: str,
    file_sha256: str,
    rows: int,
    matched: int,
    ratings_added: int,
    ratings_updated: int,
    wants_added: int,
    ambiguous: list[dict[str, Any]],
    not_found: list[dict[str, Any]],
) -> dict[str, Any]:
    cursor = await conn.execute(
        f"""
        INSERT INTO history_imports (id, user_id, source, file_sha256, rows, matched, ratings_added,
                                     ratings_updated, wants_added, ambiguous, not_found, created_at)
        -- The clock, not the transaction's start: imports made in one transaction keep their order.
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, clock_timestamp())
        RETURNING {IMPORT_COLUMNS}
        """,
        (
            import_id,
            user_id,
            source,
            file_sha256,
            rows,
            matched,
            ratings_added,
            ratings_updated,
            wants_added,
            Jsonb(ambiguous),
            Jsonb(not_found),
        ),
    )
    row = await cursor.fetchone()
    assert row is not None
    return row


async def list_for_user(conn: Connection, *, user_id: int, limit: int | None) -> list[dict[str, Any]]:
    """The user's latest `limit` imports (None: all), newest first."""
    cursor = await conn.execute(
        f"""SELECT {IMPORT_COLUMNS} FROM history_imports WHERE user_id = %s
        ORDER BY created_at DESC, id LIMIT %s""",
        (user_id, limit),
    )
    return await cursor.fetchall()


async def get_for_update(conn: Connection, *, import_id: uuid.UUID, user_id: int) -> dict[str, Any] | None:
    """The user's import, locked until the transaction ends (two resolutions of one import queue);
    None when it does not exist or is another user's."""
    cursor = await conn.execute(
        f"SELECT {IMPORT_COLUMNS} FROM history_imports WHERE id = %s AND user_id = %s FOR UPDATE",
        (import_id, user_id),
    )
    return await cursor.fetchone()


async def update_after_choices(
    conn: Connection,
    *,
    import_id: uuid.UUID,
    matched: int,
    ratings_added: int,
    ratings_updated: int,
    wants_added: int,
    ambiguous: list[dict[str, Any]],
    not_found: list[dict[str, Any]],
) -> dict[str, Any]:
    cursor = await conn.execute(
        f"""
        UPDATE history_imports
        SET matched = %s, ratings_added = %s, ratings_updated = %s, wants_added = %s, ambiguous = %s, not_found = %s
        WHERE id = %s
        RETURNING {IMPORT_COLUMNS}
        """,
        (matched, ratings_added, ratings_updated, wants_added, Jsonb(ambiguous), Jsonb(not_found), import_id),
    )
    row = await cursor.fetchone()
    assert row is not None
    return row
