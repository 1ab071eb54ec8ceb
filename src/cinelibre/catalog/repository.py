from dataclasses import dataclass
from typing import Any

from psycopg import sql

from cinelibre.catalog.schemas import BookCreate, CatalogueAdaptation, MovieCreate, MovieSort
from cinelibre.database.connection import Connection
from cinelibre.types import ItemType

MOVIE_COLUMNS = sql.SQL(
    """id, title, original_title, year, release_date, original_language, genres, keywords, overview,
    directors, cast_members, poster_url, runtime_minutes, tmdb_id, imdb_id, movielens_id, popularity,
    vote_average, vote_count, spoken_languages, average_rating::float8 AS average_rating, rating_count"""
)
BOOK_COLUMNS = sql.SQL(
    """id, title, subtitle, authors, description, categories, language, year, published_date, page_count,
    thumbnail_url, google_books_id, isbn13, upstream_average_rating, upstream_ratings_count,
    average_rating::float8 AS average_rating, rating_count"""
)
# Every order ends with id so that pages never overlap or skip rows.
MOVIE_ORDER = {
    MovieSort.POPULARITY: sql.SQL("popularity DESC NULLS LAST, rating_count DESC, id"),
    MovieSort.RATING: sql.SQL("average_rating DESC NULLS LAST, rating_count DESC, id"),
    MovieSort.YEAR: sql.SQL("year DESC NULLS LAST, id"),
    MovieSort.TITLE: sql.SQL("lower(title), id"),
}
ITEM_TABLES = {ItemType.MOVIE: sql.Identifier("movies"), ItemType.BOOK: sql.Identifier("books")}


@dataclass(frozen=True)
class MovieFilter:
    language: str | None = None
    genre: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    text: str | None = None


@dataclass(frozen=True)
class BookFilter:
    language: str | None = None
    category: str | None = None
    text: str | None = None


# The text filter keeps an item when the text is close enough to its title, original title or an
# author: pg_trgm's `text <% name`, word_similarity (the share of the text's trigrams found in one
# stretch of the name) at pg_trgm.word_similarity_threshold or above, 0.6 unless the server says
# otherwise. One typo in a short word ("godfathr", 0.78) or a spelling variant ("bahubali", 0.89)
# is kept; unrelated names sharing a few letters are not. The operator, unlike a comparison of
# word_similarity(), can be answered by a GIN trigram index on the column.
MOVIE_TEXT_MATCH = sql.SQL("(%s <%% title OR %s <%% original_title)")
# A book's authors are matched as one text (book_authors_text(), one name per line), the form
# its trigram index holds.
BOOK_TEXT_MATCH = sql.SQL("(%s <%% title OR %s <%% book_authors_text(authors))")
# How closely each kept item matches, closest first.
MOVIE_CLOSENESS = sql.SQL(
    "greatest(word_similarity(%s, title), coalesce(word_similarity(%s, original_title), 0)) DESC, "
)
BOOK_CLOSENESS = sql.SQL(
    "greatest(word_similarity(%s, title), "
    "coalesce((SELECT max(word_similarity(%s, author)) FROM unnest(authors) AS author), 0)) DESC, "
)
BOOK_ORDER = sql.SQL("rating_count DESC, upstream_ratings_count DESC NULLS LAST, id")


def _where(conditions: list[sql.Composable]) -> sql.Composable:
    return sql.SQL("WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")


def _movie_conditions(filters: MovieFilter) -> tuple[list[sql.Composable], list[Any]]:
    conditions: list[sql.Composable] = []
    params: list[Any] = []
    if filters.language is not None:
        conditions.append(sql.SQL("original_language = %s"))
        params.append(filters.language)
    if filters.genre is not None:
        conditions.append(sql.SQL("EXISTS (SELECT 1 FROM unnest(genres) AS g WHERE lower(g) = lower(%s))"))
        params.append(filters.genre)
    if filters.year_from is not None:
        conditions.append(sql.SQL("year >= %s"))
        params.append(filters.year_from)
    if filters.year_to is not None:
        conditions.append(sql.SQL("year <= %s"))
        params.append(filters.year_to)
    if filters.text is not None:
        conditions.append(MOVIE_TEXT_MATCH)
        params.extend([filters.text, filters.text])
    return conditions, params


def _book_conditions(filters: BookFilter) -> tuple[list[sql.Composable], list[Any]]:
    conditions: list[sql.Composable] = []
    params: list[Any] = []
    if filters.language is not None:
        conditions.append(sql.SQL("language = %s"))
        params.append(filters.language)
    if filters.category is not None:
        conditions.append(sql.SQL("EXISTS (SELECT 1 FROM unnest(categories) AS c WHERE lower(c) = lower(%s))"))
        params.append(filters.category)
    if filters.text is not None:
        conditions.append(BOOK_TEXT_MATCH)
        params.extend([filters.text, filters.text])
    return conditions, params


async def get_movie(conn: Connection, movie_id: int) -> dict[str, Any] | None:
    query = sql.SQL("SELECT {} FROM movies WHERE id = %s").format(MOVIE_COLUMNS)
    cursor = await conn.execute(query, (movie_id,))
    return await cursor.fetchone()


async def get_book(conn: Connection, book_id: int) -> dict[str, Any] | None:
    query = sql.SQL("SELECT {} FROM books WHERE id = %s").format(BOOK_COLUMNS)
    cursor = await conn.execute(query, (book_id,))
    return await cursor.fetchone()


async def list_movies(
    conn: Connection, *, filters: MovieFilter, sort: MovieSort | None, skip: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of films and how many match in all. Without `sort`, a text filter orders them by
    how closely they match it (then by popularity); otherwise by popularity."""
    conditions, params = _movie_conditions(filters)
    order, order_params = MOVIE_ORDER[sort or MovieSort.POPULARITY], []
    if filters.text is not None and sort is None:
        order, order_params = MOVIE_CLOSENESS + order, [filters.text, filters.text]
    return await _page(
        conn, sql.Identifier("movies"), MOVIE_COLUMNS, conditions, params, order, order_params, skip, limit
    )


async def list_books(
    conn: Connection, *, filters: BookFilter, skip: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of books, the most rated first; with a text filter, the closest matches first."""
    conditions, params = _book_conditions(filters)
    order, order_params = BOOK_ORDER, []
    if filters.text is not None:
        order, order_params = BOOK_CLOSENESS + order, [filters.text, filters.text]
    return await _page(
        conn, sql.Identifier("books"), BOOK_COLUMNS, conditions, params, order, order_params, skip, limit
    )


async def _page(
    conn: Connection,
    table: sql.Identifier,
    columns: sql.Composable,
    conditions: list[sql.Composable],
    params: list[Any],
    order: sql.Composable,
    order_params: list[Any],
    skip: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    where = _where(conditions)
    rows_query = sql.SQL("SELECT {} FROM {} {} ORDER BY {} OFFSET %s LIMIT %s").format(columns, table, where, order)
    rows = await (await conn.execute(rows_query, [*params, *order_params, skip, limit])).fetchall()
    count_query = sql.SQL("SELECT count(*) AS total FROM {} {}").format(table, where)
    count_row = await (await conn.execute(count_query, params)).fetchone()
    assert count_row is not None
    return rows, count_row["total"]


async def item_exists(conn: Connection, item_type: ItemType, item_id: int) -> bool:
    query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE id = %s) AS found").format(ITEM_TABLES[item_type])
    row = await (await conn.execute(query, (item_id,))).fetchone()
    return bool(row and row["found"])


_MOVIE_FIELDS = (
    "title, original_title, year, original_language, genres, overview, directors, cast_members, runtime_minutes, "
    "tmdb_id, imdb_id"
)
_BOOK_FIELDS = "title, year, language, categories, description, authors, page_count, google_books_id, isbn13"


def _movie_values(m: MovieCreate) -> tuple[Any, ...]:
    return (
        m.title,
        m.original_title,
        m.year,
        m.original_language,
        m.genres,
        m.overview,
        m.directors,
        m.cast,
        m.runtime,
        m.tmdb_id,
        m.imdb_id,
    )


def _book_values(b: BookCreate) -> tuple[Any, ...]:
    return (
        b.title,
        b.year,
        b.language,
        b.categories,
        b.description,
        b.authors,
        b.page_count,
        b.google_books_id,
        b.isbn13,
    )


async def insert_movies(conn: Connection, movies: list[MovieCreate]) -> None:
    async with conn.cursor() as cursor:
        await cursor.executemany(
            f"INSERT INTO movies ({_MOVIE_FIELDS}) VALUES ({', '.join(['%s'] * 11)})",
            [_movie_values(m) for m in movies],
        )


async def insert_books(conn: Connection, books: list[BookCreate]) -> None:
    async with conn.cursor() as cursor:
        await cursor.executemany(
            f"INSERT INTO books ({_BOOK_FIELDS}) VALUES ({', '.join(['%s'] * 9)})",
            [_book_values(b) for b in books],
        )


async def count_items(conn: Connection) -> int:
    row = await (
        await conn.execute("SELECT (SELECT count(*) FROM movies) + (SELECT count(*) FROM books) AS n")
    ).fetchone()
    assert row is not None
    return row["n"]


async def item_summaries(conn: Connection) -> list[dict[str, Any]]:
    """Every item with the fields a taste model needs, in a stable order."""
    cursor = await conn.execute(
        """
        SELECT 'movie' AS item_type, id, title, year, original_language AS language, genres
        FROM movies
        UNION ALL
        SELECT 'book', id, title, year, language, categories FROM books
        ORDER BY item_type, title, year, id
        """
    )
    return await cursor.fetchall()


async def recompute_rating_aggregates(conn: Connection) -> None:
    """Rebuild every item's rating count and sum from the ratings (after bulk loads)."""
    for item_type, table in ITEM_TABLES.items():
        await conn.execute(
            sql.SQL(
                """
                UPDATE {table} AS item SET rating_count = coalesce(agg.n, 0), rating_sum = coalesce(agg.total, 0)
                FROM {table} AS target
                LEFT JOIN (
                    SELECT item_id, count(*) AS n, sum(rating) AS total FROM ratings WHERE item_type = %s
                    GROUP BY item_id
                ) AS agg ON agg.item_id = target.id
                WHERE item.id = target.id
                  AND (item.rating_count, item.rating_sum) IS DISTINCT FROM (coalesce(agg.n, 0), coalesce(agg.total, 0))
                """
            ).format(table=table),
            (item_type.value,),
        )


async def find_movie(conn: Connection, movie: MovieCreate) -> int | None:
    """The catalogue film this description is about: by TMDB id, IMDb id, then title and year."""
    cursor = await conn.execute(
        """
        SELECT id FROM movies
        WHERE tmdb_id = %(tmdb)s OR imdb_id = %(imdb)s
           OR (%(tmdb)s::int IS NULL AND %(imdb)s::text IS NULL AND lower(title) = lower(%(title)s)
               AND year IS NOT DISTINCT FROM %(year)s)
        ORDER BY (tmdb_id = %(tmdb)s) DESC NULLS LAST, (imdb_id = %(imdb)s) DESC NULLS LAST, id
        LIMIT 1
        """,
        {"tmdb": movie.tmdb_id, "imdb": movie.imdb_id, "title": movie.title, "year": movie.year},
    )
    row = await cursor.fetchone()
    return row["id"] if row else None


async def find_book(conn: Connection, book: BookCreate) -> int | None:
    cursor = await conn.execute(
        """
        SELECT id FROM books
        WHERE google_books_id = %(gid)s OR isbn13 = %(isbn)s
           OR (%(gid)s::text IS NULL AND %(isbn)s::text IS NULL AND lower(title) = lower(%(title)s)
               AND year IS NOT DISTINCT FROM %(year)s)
        ORDER BY (google_books_id = %(gid)s) DESC NULLS LAST, (isbn13 = %(isbn)s) DESC NULLS LAST, id
        LIMIT 1
        """,
        {"gid": book.google_books_id, "isbn": book.isbn13, "title": book.title, "year": book.year},
    )
    row = await cursor.fetchone()
    return row["id"] if row else None


async def insert_movie(conn: Connection, movie: MovieCreate) -> int:
    cursor = await conn.execute(
        f"INSERT INTO movies ({_MOVIE_FIELDS}) VALUES ({', '.join(['%s'] * 11)}) RETURNING id", _movie_values(movie)
    )
    row = await cursor.fetchone()
    assert row is not None
    return row["id"]


async def insert_book(conn: Connection, book: BookCreate) -> int:
    cursor = await conn.execute(
        f"INSERT INTO books ({_BOOK_FIELDS}) VALUES ({', '.join(['%s'] * 9)}) RETURNING id", _book_values(book)
    )
    row = await cursor.fetchone()
    assert row is not None
    return row["id"]


async def update_movie(conn: Connection, movie_id: int, movie: MovieCreate) -> bool:
    """Overwrite the film's described fields; returns False (and writes nothing) if none changed."""
    cursor = await conn.execute(
        f"""
        UPDATE movies SET ({_MOVIE_FIELDS}, updated_at) = ({", ".join(["%s"] * 11)}, now())
        WHERE id = %s AND ({_MOVIE_FIELDS}) IS DISTINCT FROM ({", ".join(["%s"] * 11)})
        """,
        (*_movie_values(movie), movie_id, *_movie_values(movie)),
    )
    return cursor.rowcount == 1


async def update_book(conn: Connection, book_id: int, book: BookCreate) -> bool:
    cursor = await conn.execute(
        f"""
        UPDATE books SET ({_BOOK_FIELDS}, updated_at) = ({", ".join(["%s"] * 9)}, now())
        WHERE id = %s AND ({_BOOK_FIELDS}) IS DISTINCT FROM ({", ".join(["%s"] * 9)})
        """,
        (*_book_values(book), book_id, *_book_values(book)),
    )
    return cursor.rowcount == 1


async def get_movies(conn: Connection, ids: list[int]) -> list[dict[str, Any]]:
    query = sql.SQL("SELECT {} FROM movies WHERE id = ANY(%s)").format(MOVIE_COLUMNS)
    return await (await conn.execute(query, (ids,))).fetchall()


async def get_books(conn: Connection, ids: list[int]) -> list[dict[str, Any]]:
    query = sql.SQL("SELECT {} FROM books WHERE id = ANY(%s)").format(BOOK_COLUMNS)
    return await (await conn.execute(query, (ids,))).fetchall()


async def rating_count(conn: Connection, item_type: ItemType, item_id: int) -> int:
    query = sql.SQL("SELECT rating_count FROM {} WHERE id = %s").format(ITEM_TABLES[item_type])
    row = await (await conn.execute(query, (item_id,))).fetchone()
    return row["rating_count"] if row else 0


async def source_books(conn: Connection, movie_id: int) -> list[dict[str, Any]]:
    """The books the film adapts, each with how the link was found; by title."""
    query = sql.SQL(
        "SELECT {}, a.found_by FROM adaptations a JOIN books ON books.id = a.book_id "
        "WHERE a.movie_id = %s ORDER BY lower(title), id"
    ).format(BOOK_COLUMNS)
    return await (await conn.execute(query, (movie_id,))).fetchall()


async def book_adaptations(conn: Connection, book_id: int) -> list[dict[str, Any]]:
    """The films adapting the book, each with how the link was found; oldest first."""
    query = sql.SQL(
        "SELECT {}, a.found_by FROM adaptations a JOIN movies ON movies.id = a.movie_id "
        "WHERE a.book_id = %s ORDER BY year NULLS LAST, lower(title), id"
    ).format(MOVIE_COLUMNS)
    return await (await conn.execute(query, (book_id,))).fetchall()


async def link_catalogue_adaptations(conn: Connection, pairs: list[CatalogueAdaptation]) -> int:
    """Link each named film (title and year) to its book (title and authors), found_by
    'catalogue', keeping links already made; returns how many of the pairs are linked now. A
    pair naming a film or book the catalogue does not hold links nothing."""
    cursor = await conn.execute(
        """
        WITH pairs AS (
            SELECT * FROM unnest(%(movie_titles)s::text[], %(years)s::int[], %(book_titles)s::text[],
                                 %(authors)s::text[]) AS p(movie_title, year, book_title, authors)
        ), found AS (
            SELECT DISTINCT m.id AS movie_id, b.id AS book_id
            FROM pairs
            JOIN movies m ON lower(m.title) = lower(pairs.movie_title) AND m.year = pairs.year
            JOIN books b ON lower(b.title) = lower(pairs.book_title)
                        AND book_authors_text(b.authors) = pairs.authors
        ), added AS (
            INSERT INTO adaptations (movie_id, book_id, found_by)
            SELECT movie_id, book_id, 'catalogue' FROM found
            ON CONFLICT (movie_id, book_id) DO NOTHING
        )
        SELECT count(*) AS linked FROM found
        """,
        {
            "movie_titles": [pair.movie.title for pair in pairs],
            "years": [pair.movie.year for pair in pairs],
            "book_titles": [pair.book.title for pair in pairs],
            # One name per line, as book_authors_text() joins them: arrays of arrays must be
            # rectangular, authors lists are not.
            "authors": ["\n".join(pair.book.authors) for pair in pairs],
        },
    )
    row = await cursor.fetchone()
    assert row is not None
    return row["linked"]
