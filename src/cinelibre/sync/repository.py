from typing import Any

from psycopg.types.json import Jsonb

from cinelibre.database import locks
from cinelibre.database.connection import Connection
from cinelibre.sync.schemas import SyncedBook, SyncedMovie

MAX_ERRORS_KEPT = 200

_MOVIE_SCALARS = (
    "title",
    "original_title",
    "year",
    "release_date",
    "original_language",
    "overview",
    "poster_url",
    "runtime_minutes",
    "imdb_id",
    "popularity",
    "vote_average",
    "vote_count",
    "tmdb_list_fingerprint",
)
_MOVIE_LISTS = ("genres", "keywords", "directors", "cast_members", "spoken_languages")
_BOOK_SCALARS = (
    "title",
    "subtitle",
    "description",
    "language",
    "year",
    "published_date",
    "page_count",
    "thumbnail_url",
    "isbn13",
    "upstream_average_rating",
    "upstream_ratings_count",
)
_BOOK_LISTS = ("authors", "categories")


def _merged(table: str, scalars: tuple[str, ...], lists: tuple[str, ...]) -> list[tuple[str, str]]:
    """(column, value) pairs for an upsert's update: what upstream no longer says (null, empty
    list) keeps what we had, so a sync enriches rows (say, a MovieLens import) and never blanks them."""
    return [(c, f"coalesce(EXCLUDED.{c}, {table}.{c})") for c in scalars] + [
        (c, f"CASE WHEN cardinality(EXCLUDED.{c}) = 0 THEN {table}.{c} ELSE EXCLUDED.{c} END") for c in lists
    ]


def _upsert_sql(table: str, key: str, scalars: tuple[str, ...], lists: tuple[str, ...]) -> str:
    columns = [key, *scalars, *lists]
    merged = _merged(table, scalars, lists)
    return f"""
        INSERT INTO {table} ({", ".join(columns)}) VALUES ({", ".join(f"%({c})s" for c in columns)})
        ON CONFLICT ({key}) DO UPDATE SET ({", ".join(c for c, _ in merged)}, updated_at)
                                        = ({", ".join(v for _, v in merged)}, now())
        WHERE ({", ".join(f"{table}.{c}" for c, _ in merged)}) IS DISTINCT FROM ({", ".join(v for _, v in merged)})
        RETURNING (xmax = 0) AS inserted
    """


_UPSERT_MOVIE = _upsert_sql("movies", "tmdb_id", _MOVIE_SCALARS, _MOVIE_LISTS)
_UPSERT_BOOK = _upsert_sql("books", "google_books_id", _BOOK_SCALARS, _BOOK_LISTS)


async def upsert_movie(conn: Connection, movie: SyncedMovie) -> str:
    """Insert or bring up to date the film with this TMDB id: 'new', 'updated' or 'unchanged'.
    A film already imported (from MovieLens) under the same IMDb id is that film, not a new one."""
    await conn.execute(
        """UPDATE movies SET tmdb_id = %(tmdb)s
           WHERE imdb_id = %(imdb)s AND tmdb_id IS NULL
             AND NOT EXISTS (SELECT 1 FROM movies WHERE tmdb_id = %(tmdb)s)""",
        {"tmdb": movie.tmdb_id, "imdb": movie.imdb_id},
    )
    values = movie.model_dump()
    values |= {
        "cast_members": values.pop("cast"),
        "runtime_minutes": values.pop("runtime"),
        "tmdb_list_fingerprint": values.pop("list_fingerprint"),
    }
    row = await (await conn.execute(_UPSERT_MOVIE, values)).fetchone()
    return "unchanged" if row is None else "new" if row["inserted"] else "updated"


async def upsert_book(conn: Connection, book: SyncedBook) -> str:
    values = book.model_dump()
    values |= {
        "upstream_average_rating": values.pop("average_rating"),
        "upstream_ratings_count": values.pop("ratings_count"),
    }
    row = await (await conn.execute(_UPSERT_BOOK, values)).fetchone()
    return "unchanged" if row is None else "new" if row["inserted"] else "updated"


# What enrichment may fill in: each only where the film has nothing yet. Not the title (the film
# has one), the IMDb id (filled apart, below) or the list fingerprint (the list sync's own).
_ENRICHED_SCALARS = tuple(c for c in _MOVIE_SCALARS if c not in ("title", "imdb_id", "tmdb_list_fingerprint"))
_ENRICHED_LISTS = _MOVIE_LISTS
_FILLED = [(c, f"coalesce(movies.{c}, %({c})s)") for c in _ENRICHED_SCALARS] + [
    (c, f"CASE WHEN cardinality(movies.{c}) = 0 THEN %({c})s::text[] ELSE movies.{c} END") for c in _ENRICHED_LISTS
]
# An IMDb id belongs to one film: a film gets TMDB's only if no other film has it.
_FILLED_IMDB = """coalesce(movies.imdb_id, (SELECT %(imdb_id)s::text
                                            WHERE NOT EXISTS (SELECT 1 FROM movies x WHERE x.imdb_id = %(imdb_id)s)))"""
_FILL_MOVIE = f"""
    UPDATE movies SET ({", ".join(c for c, _ in _FILLED)}, imdb_id, updated_at)
                    = ({", ".join(v for _, v in _FILLED)}, {_FILLED_IMDB}, now())
    WHERE id = %(id)s
      AND ({", ".join(f"movies.{c}" for c, _ in _FILLED)}, imdb_id)
          IS DISTINCT FROM ({", ".join(v for _, v in _FILLED)}, {_FILLED_IMDB})
"""


async def films_to_enrich(conn: Connection, limit: int | None) -> list[dict[str, Any]]:
    """(id, tmdb_id) of the films with a TMDB id and no overview or no poster that enrichment has
    not asked TMDB about yet, the most rated first (what people look at most is worth filling in
    first). A catalogue film linked to MovieLens gets its TMDB id that way, and its poster here."""
    cursor = await conn.execute(
        """SELECT id, tmdb_id FROM movies
           WHERE tmdb_id IS NOT NULL AND (overview IS NULL OR poster_url IS NULL) AND tmdb_enriched_at IS NULL
           ORDER BY rating_count DESC, id LIMIT %s""",
        (limit,),
    )
    return await cursor.fetchall()


async def fill_movie_details(conn: Connection, movie_id: int, movie: SyncedMovie) -> bool:
    """Fill in what the film lacks from TMDB's details, never replacing what it has; returns
    whether anything was filled."""
    values = movie.model_dump() | {"id": movie_id, "cast_members": movie.cast, "runtime_minutes": movie.runtime}
    cursor = await conn.execute(_FILL_MOVIE, values)
    return cursor.rowcount == 1


async def mark_enriched(conn: Connection, movie_ids: list[int]) -> None:
    await conn.execute("UPDATE movies SET tmdb_enriched_at = now() WHERE id = ANY(%s)", (movie_ids,))


async def list_fingerprints(conn: Connection, tmdb_ids: list[int]) -> dict[int, str | None]:
    """For the films of a list page we already have: the fingerprint their details were fetched for."""
    cursor = await conn.execute(
        "SELECT tmdb_id, tmdb_list_fingerprint FROM movies WHERE tmdb_id = ANY(%s)", (tmdb_ids,)
    )
    return {row["tmdb_id"]: row["tmdb_list_fingerprint"] for row in await cursor.fetchall()}


async def update_movie_standing(
    conn: Connection, rows: list[tuple[int, float | None, float | None, int | None]]
) -> int:
    """Popularity and votes move daily without the film changing: set them from the list page
    (tmdb_id, popularity, vote_average, vote_count), writing only what differs."""
    if not rows:
        return 0
    cursor = await conn.execute(
        """
        UPDATE movies m SET popularity = coalesce(s.popularity, m.popularity),
                            vote_average = coalesce(s.vote_average, m.vote_average),
                            vote_count = coalesce(s.vote_count, m.vote_count), updated_at = now()
        FROM unnest(%s::int[], %s::float8[], %s::float8[], %s::int[])
             AS s(tmdb_id, popularity, vote_average, vote_count)
        WHERE m.tmdb_id = s.tmdb_id
          AND (m.popularity, m.vote_average, m.vote_count) IS DISTINCT FROM
              (coalesce(s.popularity, m.popularity), coalesce(s.vote_average, m.vote_average),
               coalesce(s.vote_count, m.vote_count))
        """,
        ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]),
    )
    return cursor.rowcount


async def try_sync_lock(conn: Connection, source: str) -> bool:
    return await locks.try_for_session(conn, locks.sync_lock(source))


async def release_sync_lock(conn: Connection, source: str) -> None:
    await locks.release(conn, locks.sync_lock(source))


async def unfinished_run(conn: Connection, source: str) -> dict[str, Any] | None:
    """The source's latest run if it never finished (its process died): the one to resume."""
    cursor = await conn.execute(
        """SELECT id, options, counts FROM sync_runs WHERE source = %s AND status = 'running'
           ORDER BY started_at DESC, id DESC LIMIT 1""",
        (source,),
    )
    return await cursor.fetchone()


async def start_run(conn: Connection, source: str, options: dict[str, Any]) -> int:
    row = await (
        await conn.execute(
            "INSERT INTO sync_runs (source, options) VALUES (%s, %s) RETURNING id", (source, Jsonb(options))
        )
    ).fetchone()
    assert row is not None
    return row["id"]


async def checkpoints(conn: Connection, run_id: int) -> dict[str, tuple[int, bool]]:
    cursor = await conn.execute(
        "SELECT listing, pages_done, finished FROM sync_checkpoints WHERE run_id = %s", (run_id,)
    )
    return {row["listing"]: (row["pages_done"], row["finished"]) for row in await cursor.fetchall()}


async def save_progress(
    conn: Connection,
    run_id: int,
    *,
    listing: str,
    pages_done: int,
    finished: bool,
    counts: dict[str, int],
    errors: list[str],
) -> None:
    """Record a finished page: its listing's checkpoint, the run's counts so far and new errors."""
    await conn.execute(
        """INSERT INTO sync_checkpoints (run_id, listing, pages_done, finished) VALUES (%s, %s, %s, %s)
           ON CONFLICT (run_id, listing)
           DO UPDATE SET pages_done = EXCLUDED.pages_done, finished = EXCLUDED.finished""",
        (run_id, listing, pages_done, finished),
    )
    await conn.execute(
        """UPDATE sync_runs SET counts = %s,
               errors = (SELECT coalesce(jsonb_agg(e), '[]') FROM (
                   SELECT e FROM jsonb_array_elements(errors || %s) AS e LIMIT %s) AS kept)
           WHERE id = %s""",
        (Jsonb(counts), Jsonb(errors), MAX_ERRORS_KEPT, run_id),
    )


async def finish_run(conn: Connection, run_id: int, counts: dict[str, int]) -> None:
    await conn.execute(
        "UPDATE sync_runs SET status = 'finished', finished_at = now(), counts = %s WHERE id = %s",
        (Jsonb(counts), run_id),
    )


async def recent_runs(conn: Connection, limit: int) -> list[dict[str, Any]]:
    cursor = await conn.execute(
        """SELECT id, source, started_at, finished_at, status, options, counts,
                  jsonb_array_length(errors) AS error_count
           FROM sync_runs ORDER BY started_at DESC, id DESC LIMIT %s""",
        (limit,),
    )
    return await cursor.fetchall()


# How close a credited name must come to a book's author (pg_trgm word_similarity: the share of
# the name's trigrams found in one stretch of the book's authors), and a book's title to the
# film's: "R.K. Narayan" matches "R. K. Narayan", and "The Two Towers" stands in "The Lord of
# the Rings: The Two Towers".
AUTHOR_MATCH = 0.7
CREDITED_TITLE_MATCH = 0.6
# A keyword alone says nothing of the author, so the title must be close on both sides
# (similarity, not word_similarity): "Guide" and "The Guide" (0.6), not "Dune" and "Dune: Part Two".
KEYWORD_TITLE_MATCH = 0.6


async def link_adapted_books(conn: Connection, tmdb_id: int, *, authors: list[str], by_keyword: bool) -> int:
    """Link the film with this TMDB id to the books it adapts; returns how many links are new.
    By its credits (found_by 'tmdb_credits'): books by one of `authors` whose title is the
    film's or stands in it. By its keywords (`by_keyword`, found_by 'tmdb_keywords'): the one
    book whose title is closest to the film's, when close enough and no other book is as close.
    Never a book published after the film; links already made stay as they are."""
    cursor = await conn.execute(
        """
        WITH film AS (
            SELECT id, title, coalesce(original_title, title) AS original_title, year
            FROM movies WHERE tmdb_id = %(tmdb)s
        ), credited AS (
            SELECT DISTINCT b.id AS book_id
            FROM film, unnest(%(authors)s::text[]) AS credit(name)
            JOIN books b ON credit.name <%% book_authors_text(b.authors)
            WHERE word_similarity(credit.name, book_authors_text(b.authors)) >= %(author_match)s
              AND greatest(word_similarity(b.title, film.title), word_similarity(b.title, film.original_title))
                  >= %(credited_title)s
              AND (b.year IS NULL OR film.year IS NULL OR b.year <= film.year)
        ), titled AS (
            SELECT b.id AS book_id,
                   greatest(similarity(b.title, film.title), similarity(b.title, film.original_title)) AS closeness
            FROM film JOIN books b ON b.title %% film.title OR b.title %% film.original_title
            WHERE %(by_keyword)s AND (b.year IS NULL OR film.year IS NULL OR b.year <= film.year)
        ), closest AS (
            SELECT book_id FROM titled
            WHERE closeness >= %(keyword_title)s AND closeness = (SELECT max(closeness) FROM titled)
              AND (SELECT count(*) FROM titled WHERE closeness = (SELECT max(closeness) FROM titled)) = 1
        ), found AS (
            SELECT book_id, 'tmdb_credits' AS found_by FROM credited
            UNION ALL
            SELECT book_id, 'tmdb_keywords' FROM closest WHERE book_id NOT IN (SELECT book_id FROM credited)
        )
        INSERT INTO adaptations (movie_id, book_id, found_by)
        SELECT film.id, found.book_id, found.found_by FROM film, found
        ON CONFLICT (movie_id, book_id) DO NOTHING
        """,
        {
            "tmdb": tmdb_id,
            "authors": authors,
            "by_keyword": by_keyword,
            "author_match": AUTHOR_MATCH,
            "credited_title": CREDITED_TITLE_MATCH,
            "keyword_title": KEYWORD_TITLE_MATCH,
        },
    )
    return cursor.rowcount
