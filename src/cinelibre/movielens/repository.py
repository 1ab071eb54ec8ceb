"""Bulk SQL for MovieLens imports: staging tables filled with COPY, merged in set-based statements."""

from collections.abc import Callable, Iterable
from typing import IO

import numpy as np
from psycopg import sql

from cinelibre.database.connection import Connection
from cinelibre.movielens.reader import MovieLensMovie
from cinelibre.movielens.synthetic import SyntheticFilm

COPY_CHUNK_BYTES = 1 << 20


async def stage_movies(conn: Connection, movies: Iterable[MovieLensMovie]) -> None:
    await conn.execute("DROP TABLE IF EXISTS ml_movies")
    await conn.execute(
        """CREATE TEMPORARY TABLE ml_movies (
            movielens_id integer PRIMARY KEY, title text, original_title text, year integer,
            genres text[], imdb_id text, tmdb_id integer, tags text[]
        ) ON COMMIT DROP"""
    )
    async with (
        conn.cursor() as cursor,
        cursor.copy(
            "COPY ml_movies (movielens_id, title, original_title, year, genres, imdb_id, tmdb_id, tags) FROM STDIN"
        ) as copy,
    ):
        for m in movies:
            await copy.write_row(
                (m.movielens_id, m.title, m.original_title, m.year, m.genres, m.imdb_id, m.tmdb_id, m.tags)
            )
    # Outside id spaces are unique in our catalogue; MovieLens occasionally links two films to one.
    await conn.execute(
        """
        UPDATE ml_movies s SET tmdb_id = NULL
        WHERE EXISTS (SELECT 1 FROM ml_movies o WHERE o.tmdb_id = s.tmdb_id AND o.movielens_id < s.movielens_id);
        UPDATE ml_movies s SET imdb_id = NULL
        WHERE EXISTS (SELECT 1 FROM ml_movies o WHERE o.imdb_id = s.imdb_id AND o.movielens_id < s.movielens_id);
        """
    )


async def merge_movies(conn: Connection, id_column: str) -> tuple[int, int]:
    """Link staged films to catalogue films that are already there (by our MovieLens id, then TMDB
    id, then IMDb id, then title and year), insert the rest. Returns (linked, inserted)."""
    column = sql.Identifier(id_column)
    linked = 0
    for match in (
        sql.SQL("m.tmdb_id = s.tmdb_id"),
        sql.SQL("m.imdb_id = s.imdb_id"),
        sql.SQL("lower(m.title) = lower(s.title) AND m.year = s.year"),
    ):
        cursor = await conn.execute(
            sql.SQL(
                """
                WITH candidates AS (
                    SELECT DISTINCT ON (m.id) m.id AS movie_id, s.movielens_id
                    FROM ml_movies s JOIN movies m ON {match}
                    WHERE m.{column} IS NULL
                      AND NOT EXISTS (SELECT 1 FROM movies taken WHERE taken.{column} = s.movielens_id)
                    ORDER BY m.id, s.movielens_id
                ), unique_candidates AS (
                    SELECT DISTINCT ON (movielens_id) movie_id, movielens_id FROM candidates
                    ORDER BY movielens_id, movie_id
                )
                UPDATE movies m SET {column} = c.movielens_id, updated_at = now()
                FROM unique_candidates c WHERE m.id = c.movie_id
                """
            ).format(match=match, column=column)
        )
        linked += cursor.rowcount
    cursor = await conn.execute(
        sql.SQL(
            """
            INSERT INTO movies ({column}, title, original_title, year, genres, tags, imdb_id, tmdb_id)
            SELECT s.movielens_id, s.title, s.original_title, s.year, s.genres, s.tags,
                   CASE WHEN NOT EXISTS (SELECT 1 FROM movies x WHERE x.imdb_id = s.imdb_id) THEN s.imdb_id END,
                   CASE WHEN NOT EXISTS (SELECT 1 FROM movies x WHERE x.tmdb_id = s.tmdb_id) THEN s.tmdb_id END
            FROM ml_movies s
            WHERE NOT EXISTS (SELECT 1 FROM movies m WHERE m.{column} = s.movielens_id)
            ORDER BY s.movielens_id
            """
        ).format(column=column)
    )
    return linked, cursor.rowcount


async def complete_linked_movies(conn: Connection, id_column: str) -> int:
    """Give the films of the catalogue that the staged films are linked to the TMDB and IMDb ids
    they lack (unless another film has that id: ids are unique) and the data set's tags, if it
    has any for them. An id a film has already is never changed. Returns how many films gained
    an id."""
    cursor = await conn.execute(
        sql.SQL(
            """
            WITH offered AS (
                SELECT m.id, m.tmdb_id, m.imdb_id, m.tags,
                       CASE WHEN NOT EXISTS (SELECT 1 FROM movies x WHERE x.tmdb_id = s.tmdb_id) THEN s.tmdb_id END
                           AS free_tmdb_id,
                       CASE WHEN NOT EXISTS (SELECT 1 FROM movies x WHERE x.imdb_id = s.imdb_id) THEN s.imdb_id END
                           AS free_imdb_id,
                       s.tags AS staged_tags
                FROM ml_movies s JOIN movies m ON m.{column} = s.movielens_id
            ), completed AS (
                SELECT id, coalesce(tmdb_id, free_tmdb_id) AS tmdb_id, coalesce(imdb_id, free_imdb_id) AS imdb_id,
                       CASE WHEN cardinality(staged_tags) > 0 THEN staged_tags ELSE tags END AS tags,
                       (tmdb_id IS NULL AND free_tmdb_id IS NOT NULL) OR (imdb_id IS NULL AND free_imdb_id IS NOT NULL)
                           AS gains_id
                FROM offered
            ), changed AS (
                UPDATE movies m SET tmdb_id = c.tmdb_id, imdb_id = c.imdb_id, tags = c.tags, updated_at = now()
                FROM completed c
                WHERE m.id = c.id AND (m.tmdb_id, m.imdb_id, m.tags) IS DISTINCT FROM (c.tmdb_id, c.imdb_id, c.tags)
                RETURNING c.gains_id
            )
            SELECT count(*) FILTER (WHERE gains_id) AS gained_ids FROM changed
            """
        ).format(column=sql.Identifier(id_column))
    )
    row = await cursor.fetchone()
    assert row is not None
    return row["gained_ids"]


async def stage_ratings(
    conn: Connection, file: IO[bytes], *, csv_layout: bool, on_progress: Callable[[int], None]
) -> None:
    """COPY the ratings file as it is: PostgreSQL parses it far faster than Python would."""
    await _create_ratings_stage(conn)
    options = "FORMAT csv, HEADER true" if csv_layout else "FORMAT text, DELIMITER E'\\t'"
    async with (
        conn.cursor() as cursor,
        cursor.copy(sql.SQL("COPY ml_ratings FROM STDIN WITH ({})").format(sql.SQL(options))) as copy,
    ):
        while chunk := file.read(COPY_CHUNK_BYTES):
            await copy.write(chunk)
            on_progress(len(chunk))
    await conn.execute("ANALYZE ml_ratings")


async def _create_ratings_stage(conn: Connection) -> None:
    await conn.execute("DROP TABLE IF EXISTS ml_ratings")
    await conn.execute(
        """CREATE TEMPORARY TABLE ml_ratings (
            user_external_id bigint, movielens_id integer, rating numeric(2, 1), rated_at bigint
        ) ON COMMIT DROP"""
    )


# One ml_ratings row in COPY's binary format, every field fixed-width: the field count, then each
# field's length and value, big-endian. A half-star rating is a numeric of two base-10000 digits
# (whole stars, then 0 or 5000 for the half) with one decimal place.
_BINARY_RATING = np.dtype(
    [
        ("fields", ">i2"),
        ("user_length", ">i4"),
        ("user", ">i8"),
        ("movie_length", ">i4"),
        ("movie", ">i4"),
        ("rating_length", ">i4"),
        ("digit_count", ">i2"),
        ("weight", ">i2"),
        ("sign", ">i2"),
        ("scale", ">i2"),
        ("stars", ">i2"),
        ("half", ">i2"),
        ("rated_at_length", ">i4"),
        ("rated_at", ">i8"),
    ]
)
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_BINARY_TRAILER = (-1).to_bytes(2, "big", signed=True)


def _binary_ratings(chunk: np.ndarray) -> bytes:
    rows = np.zeros(len(chunk), _BINARY_RATING)
    rows["fields"] = 4
    rows["user_length"], rows["movie_length"], rows["rating_length"], rows["rated_at_length"] = 8, 4, 12, 8
    rows["digit_count"], rows["scale"] = 2, 1
    rows["user"], rows["movie"], rows["rated_at"] = chunk["user"], chunk["movie"], chunk["rated_at"]
    stars = np.floor(chunk["rating"])
    rows["stars"], rows["half"] = stars, np.where(chunk["rating"] > stars, 5000, 0)
    return rows.tobytes()


async def stage_rating_arrays(
    conn: Connection, chunks: Iterable[np.ndarray], *, on_progress: Callable[[int], None] = lambda rows: None
) -> None:
    """COPY ratings made in numpy (arrays with fields user, movie, rating and rated_at, as
    synthetic.RATING_DTYPE) into the same staging table as a ratings file, in COPY's binary
    format built by numpy: no Python object per row."""
    await _create_ratings_stage(conn)
    async with (
        conn.cursor() as cursor,
        cursor.copy("COPY ml_ratings FROM STDIN WITH (FORMAT binary)") as copy,
    ):
        await copy.write(_BINARY_HEADER)
        for chunk in chunks:
            data = memoryview(_binary_ratings(chunk))
            for start in range(0, len(data), COPY_CHUNK_BYTES):
                await copy.write(data[start : start + COPY_CHUNK_BYTES])
            on_progress(len(chunk))
        await copy.write(_BINARY_TRAILER)
    await conn.execute("ANALYZE ml_ratings")


async def add_films(conn: Connection, films: Iterable[SyntheticFilm]) -> int:
    """Add made-up films (with their overviews) under MovieLens ids not yet in the catalogue;
    returns how many were added."""
    await conn.execute("DROP TABLE IF EXISTS ml_films")
    await conn.execute(
        """CREATE TEMPORARY TABLE ml_films (
            movielens_id integer PRIMARY KEY, title text, year integer, genres text[], overview text
        ) ON COMMIT DROP"""
    )
    async with (
        conn.cursor() as cursor,
        cursor.copy("COPY ml_films (movielens_id, title, year, genres, overview) FROM STDIN") as copy,
    ):
        for film in films:
            await copy.write_row((film.movielens_id, film.title, film.year, film.genres, film.overview))
    cursor = await conn.execute(
        """
        INSERT INTO movies (movielens_id, title, year, genres, overview)
        SELECT s.movielens_id, s.title, s.year, s.genres, s.overview FROM ml_films s
        WHERE NOT EXISTS (SELECT 1 FROM movies m WHERE m.movielens_id = s.movielens_id)
        ORDER BY s.movielens_id
        """
    )
    return cursor.rowcount


async def create_staged_users(conn: Connection, source: str) -> int:
    cursor = await conn.execute(
        """
        INSERT INTO users (name, imported_from, external_id)
        SELECT %(source)s || ' user ' || ext, %(source)s, ext
        FROM (SELECT DISTINCT user_external_id AS ext FROM ml_ratings) AS staged
        ORDER BY ext
        ON CONFLICT (imported_from, external_id) WHERE imported_from IS NOT NULL DO NOTHING
        """,
        {"source": source},
    )
    return cursor.rowcount


async def merge_staged_ratings(conn: Connection, *, source: str, id_column: str) -> int:
    """Insert staged ratings; one already there is changed only if the value differs."""
    cursor = await conn.execute(
        sql.SQL(
            """
            INSERT INTO ratings (user_id, item_type, item_id, rating, created_at, updated_at)
            SELECT u.id, 'movie', m.id, r.rating, to_timestamp(r.rated_at), to_timestamp(r.rated_at)
            FROM ml_ratings r
            JOIN users u ON u.imported_from = %s AND u.external_id = r.user_external_id
            JOIN movies m ON m.{column} = r.movielens_id
            ON CONFLICT ON CONSTRAINT ratings_one_per_item DO UPDATE
                SET rating = excluded.rating, updated_at = excluded.updated_at
                WHERE ratings.rating IS DISTINCT FROM excluded.rating
            """
        ).format(column=sql.Identifier(id_column)),
        (source,),
    )
    return cursor.rowcount


async def recount_imported_films(conn: Connection, *, id_column: str) -> None:
    """Set the rating count and sum of every film the staged ratings are about from its rating rows,
    while people may be rating those films. The films are locked first, in id order (the order
    every other multi-film update takes), and counted in the next statement: its snapshot holds
    every rating committed before the locks were granted, and a rating arriving later waits for
    them and then adds itself to the new count. (Counting in the statement that waits would
    overwrite the ratings committed while it waited.)"""
    films = sql.SQL("SELECT m.id FROM ml_ratings r JOIN movies m ON m.{column} = r.movielens_id").format(
        column=sql.Identifier(id_column)
    )
    # The planner's row counts are from before this import (none at all, for tables analysed while
    # empty): counted as near-empty, the films and their ratings were joined by nested loops that
    # read every rating for each film, for minutes. ANALYZE here sees this transaction's rows.
    await conn.execute("ANALYZE movies, ratings")
    await conn.execute(
        sql.SQL("SELECT id FROM movies WHERE id IN ({films}) ORDER BY id FOR NO KEY UPDATE").format(films=films)
    )
    await conn.execute(
        sql.SQL(
            """
            UPDATE movies SET rating_count = counted.n, rating_sum = counted.total
            FROM (
                SELECT film.id, count(r.id) AS n, coalesce(sum(r.rating), 0) AS total
                -- By (item_type, item_id), which ratings_item_idx serves: a plan that loops over the
                -- films must not scan every rating for each one.
                FROM movies film LEFT JOIN ratings r ON r.item_type = 'movie' AND r.item_id = film.id
                WHERE film.id IN ({films})
                GROUP BY film.id
            ) AS counted
            WHERE movies.id = counted.id
              AND (movies.rating_count, movies.rating_sum) IS DISTINCT FROM (counted.n, counted.total)
            """
        ).format(films=films)
    )
