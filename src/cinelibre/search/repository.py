"""SQL for embeddings and the three retrievers that hybrid search fuses."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from psycopg import sql

from cinelibre.database import locks
from cinelibre.database.connection import Connection
from cinelibre.database.locks import AdvisoryLock
from cinelibre.search.schemas import Candidate, NameMatch
from cinelibre.types import ItemType

TABLES = {ItemType.MOVIE: sql.Identifier("movies"), ItemType.BOOK: sql.Identifier("books")}
# Each item's vector lives in a table of its own (see migration 0009), keyed by the item's id.
VECTOR_TABLES = {ItemType.MOVIE: sql.Identifier("movie_embeddings"), ItemType.BOOK: sql.Identifier("book_embeddings")}
VECTOR_KEYS = {ItemType.MOVIE: sql.Identifier("movie_id"), ItemType.BOOK: sql.Identifier("book_id")}
MATCH_FUNCTIONS = {ItemType.MOVIE: sql.Identifier("match_movies"), ItemType.BOOK: sql.Identifier("match_books")}
LANGUAGE_COLUMNS = {ItemType.MOVIE: sql.Identifier("original_language"), ItemType.BOOK: sql.Identifier("language")}
GENRE_COLUMNS = {ItemType.MOVIE: sql.Identifier("genres"), ItemType.BOOK: sql.Identifier("categories")}
# What says, in words of its own, what an item is about (MovieLens films have none).
DESCRIPTION_COLUMNS = {ItemType.MOVIE: sql.Identifier("overview"), ItemType.BOOK: sql.Identifier("description")}
# A film's original title is a title too; a book's subtitle usually describes it, so only its title counts.
OTHER_TITLES = {ItemType.MOVIE: sql.Identifier("original_title"), ItemType.BOOK: sql.SQL("NULL::text")}
PEOPLE = {
    ItemType.MOVIE: sql.SQL("directors || cast_members"),
    ItemType.BOOK: sql.SQL("authors"),
}
# A misspelt word of a title or name still shares many trigrams with the right spelling.
MIN_SPELLING_SIMILARITY = 0.3
CORRECTIONS_PER_WORD = 3


@dataclass(frozen=True)
class SearchFilters:
    language: str | None = None
    genre: str | None = None
    year_from: int | None = None
    year_to: int | None = None

    def params(self) -> dict[str, Any]:
        return {"language": self.language, "genre": self.genre, "year_from": self.year_from, "year_to": self.year_to}


@dataclass(frozen=True)
class FullTextQuery:
    """Two tsquery strings (lexemes already quoted): items matching all_words rank first."""

    all_words: str
    any_word: str


# ----- embeddings -----------------------------------------------------------------------------


async def id_range(conn: Connection, item_type: ItemType) -> tuple[int, int] | None:
    """The lowest and highest item id, None for an empty table."""
    query = sql.SQL("SELECT min(id) AS lowest, max(id) AS highest FROM {}").format(TABLES[item_type])
    row = await (await conn.execute(query)).fetchone()
    return (row["lowest"], row["highest"]) if row and row["lowest"] is not None else None


async def pending_documents(
    conn: Connection, item_type: ItemType, *, model: str, after_id: int, up_to_id: int | None, limit: int
) -> list[dict]:
    """Items with ids in (after_id, up_to_id] whose embedding is missing, from another model, or
    from an older document, by id. No row is locked: the model runs for seconds, and a rating of
    the item must not wait for it (store_embeddings checks that the text is still the same)."""
    query = sql.SQL(
        """
        SELECT item.id, item.document, md5(item.document) AS content_hash
        FROM {table} AS item LEFT JOIN {vectors} AS vector ON vector.{key} = item.id
        WHERE item.id > %(after_id)s AND (%(up_to_id)s::bigint IS NULL OR item.id <= %(up_to_id)s)
          AND (vector.model IS DISTINCT FROM %(model)s OR vector.content_hash IS DISTINCT FROM md5(item.document))
        ORDER BY item.id LIMIT %(limit)s
        """
    ).format(table=TABLES[item_type], vectors=VECTOR_TABLES[item_type], key=VECTOR_KEYS[item_type])
    params = {"model": model, "after_id": after_id, "up_to_id": up_to_id, "limit": limit}
    return await (await conn.execute(query, params)).fetchall()


async def store_embeddings(
    conn: Connection, item_type: ItemType, *, model: str, rows: list[tuple[int, str, np.ndarray]]
) -> int:
    """Write each (item id, md5 of the embedded document, vector) if the item's document still has
    that md5 and the item does not already have this model's vector of it (another process may
    have embedded it meanwhile); returns how many were written. An item whose text changed since
    it was read keeps its old vector, which no longer matches: the next pass embeds it again.
    Each vector records whether that text had an overview (a description), which search ranks by.
    Writing any vector advances the search generation in the same transaction."""
    query = sql.SQL(
        """INSERT INTO {vectors} ({key}, model, content_hash, embedding, described)
        SELECT item.id, %(model)s, %(content_hash)s, %(embedding)s, coalesce(item.{description} <> '', false)
        FROM {table} AS item
        WHERE item.id = %(id)s AND md5(item.document) = %(content_hash)s
        ON CONFLICT ({key}) DO UPDATE
        SET model = excluded.model, content_hash = excluded.content_hash, embedding = excluded.embedding,
            described = excluded.described
        WHERE ({vectors}.model, {vectors}.content_hash) IS DISTINCT FROM (excluded.model, excluded.content_hash)"""
    ).format(
        table=TABLES[item_type],
        vectors=VECTOR_TABLES[item_type],
        key=VECTOR_KEYS[item_type],
        description=DESCRIPTION_COLUMNS[item_type],
    )
    params = [
        {"id": item_id, "model": model, "content_hash": digest, "embedding": vector} for item_id, digest, vector in rows
    ]
    async with conn.cursor() as cursor:
        await cursor.executemany(query, params)
        written = cursor.rowcount
    if written:
        await advance_generation(conn)
    return written


async def forget_content_hashes(conn: Connection, item_type: ItemType) -> None:
    """Mark every item for embedding again (keeps the old vectors until the new ones are written)."""
    await conn.execute(sql.SQL("UPDATE {} SET content_hash = NULL").format(VECTOR_TABLES[item_type]))
    await advance_generation(conn)


async def advance_generation(conn: Connection) -> None:
    """Move the search generation on: answers cached under the previous one are no longer read.
    The row stays locked until the transaction ends, so processes writing vectors at the same time
    take turns only for their commit."""
    await conn.execute("UPDATE search_generation SET generation = generation + 1")


async def search_version(conn: Connection) -> str:
    """What a cached search answer depends on, read in three index lookups: the search generation
    and the newest movie and book ids (so that items added since show at once)."""
    cursor = await conn.execute(
        """SELECT generation, (SELECT max(id) FROM movies) AS newest_movie, (SELECT max(id) FROM books) AS newest_book
        FROM search_generation"""
    )
    row = await cursor.fetchone()
    assert row is not None
    return f"{row['generation']}-{row['newest_movie']}-{row['newest_book']}"


async def embedding_status(conn: Connection, *, model: str) -> dict[str, int]:
    cursor = await conn.execute(
        """
        SELECT
            count(*) FILTER (WHERE model = %(model)s AND content_hash = md5(document)) AS current,
            count(*) FILTER (WHERE model IS NULL) AS missing,
            count(*) FILTER (WHERE model <> %(model)s) AS other_model,
            count(*) FILTER (WHERE model = %(model)s AND content_hash IS DISTINCT FROM md5(document)) AS outdated
        FROM (SELECT v.model, v.content_hash, m.document FROM movies m LEFT JOIN movie_embeddings v ON v.movie_id = m.id
              UNION ALL
              SELECT v.model, v.content_hash, b.document FROM books b LEFT JOIN book_embeddings v ON v.book_id = b.id
        ) AS items
        """,
        {"model": model},
    )
    row = await cursor.fetchone()
    assert row is not None
    return dict(row)


async def other_models(conn: Connection, *, model: str) -> list[str]:
    cursor = await conn.execute(
        """SELECT DISTINCT model FROM (
            SELECT model FROM movie_embeddings UNION ALL SELECT model FROM book_embeddings) AS m
        WHERE model <> %s ORDER BY 1""",
        (model,),
    )
    return [row["model"] for row in await cursor.fetchall()]


async def item_embedding(conn: Connection, item_type: ItemType, item_id: int) -> dict[str, Any] | None:
    """The item's vector and model (both None when it has none); None when the item does not exist."""
    query = sql.SQL(
        """SELECT vector.embedding, vector.model AS embedding_model
        FROM {table} AS item LEFT JOIN {vectors} AS vector ON vector.{key} = item.id WHERE item.id = %s"""
    ).format(table=TABLES[item_type], vectors=VECTOR_TABLES[item_type], key=VECTOR_KEYS[item_type])
    return await (await conn.execute(query, (item_id,))).fetchone()


# ----- retrieval ------------------------------------------------------------------------------


def _filter_sql(item_type: ItemType) -> sql.Composable:
    return sql.SQL(
        """(%(language)s::text IS NULL OR {language} = %(language)s)
        AND (%(genre)s::text IS NULL OR EXISTS (SELECT 1 FROM unnest({genres}) AS g WHERE lower(g) = lower(%(genre)s)))
        AND (%(year_from)s::int IS NULL OR year >= %(year_from)s)
        AND (%(year_to)s::int IS NULL OR year <= %(year_to)s)"""
    ).format(language=LANGUAGE_COLUMNS[item_type], genres=GENRE_COLUMNS[item_type])


async def nearest(
    conn: Connection,
    item_types: Sequence[ItemType],
    *,
    vector: np.ndarray,
    model: str,
    limit: int,
    threshold: float = 0.0,
    filters: SearchFilters = SearchFilters(),
    exclude: tuple[ItemType, int] | None = None,
    undescribed_penalty: float = 0.0,
) -> list[Candidate]:
    """Vector neighbours of each item type (up to `limit` each) through the SQL functions
    match_movies()/match_books(), in one statement, best first. An item without an overview or
    description scores its similarity less `undescribed_penalty`."""
    parts = [
        sql.SQL(
            """SELECT {item_type} AS item_type, id, similarity, score
            FROM {function}(%(vector)s, %(threshold)s, %(limit)s, %(model)s,
                %(language)s, %(genre)s, %(year_from)s, %(year_to)s, {exclude_id}, %(undescribed_penalty)s)"""
        ).format(
            item_type=sql.Literal(item_type.value),
            function=MATCH_FUNCTIONS[item_type],
            exclude_id=sql.Literal(exclude[1] if exclude and exclude[0] is item_type else None) + sql.SQL("::bigint"),
        )
        for item_type in item_types
    ]
    query = sql.SQL(" UNION ALL ").join(parts) + sql.SQL(" ORDER BY score DESC, item_type, id")
    params = {
        "vector": vector,
        "threshold": threshold,
        "limit": limit,
        "model": model,
        "undescribed_penalty": undescribed_penalty,
        **filters.params(),
    }
    rows = await (await conn.execute(query, params)).fetchall()
    return [Candidate(ItemType(row["item_type"]), row["id"], row["score"], row["similarity"]) for row in rows]


async def refresh_vocabulary(conn: Connection) -> None:
    """Rebuild search_terms and search_words from the catalogue (one process at a time)."""
    await locks.wait_in_transaction(conn, AdvisoryLock.SEARCH_VOCABULARY)
    await conn.execute("DELETE FROM search_terms")
    await conn.execute(
        """
        INSERT INTO search_terms (lexeme, documents)
        SELECT word, sum(ndoc)::int FROM (
            SELECT word, ndoc FROM ts_stat('SELECT search_vector FROM movies')
            UNION ALL SELECT word, ndoc FROM ts_stat('SELECT search_vector FROM books')
        ) AS stats GROUP BY word
        """
    )
    await conn.execute("DELETE FROM search_words")
    await conn.execute(
        """
        INSERT INTO search_words (word, documents)
        SELECT word, sum(ndoc)::int FROM (
            SELECT word, ndoc FROM ts_stat('SELECT name_vector FROM movies')
            UNION ALL SELECT word, ndoc FROM ts_stat('SELECT name_vector FROM books')
        ) AS stats GROUP BY word
        """
    )
    await advance_generation(conn)


async def query_lexemes(conn: Connection, text: str) -> tuple[list[tuple[str, int]], float]:
    """The query's full-text lexemes with how many items contain each, and the catalogue's size
    (the planner's estimate: cheap, and close enough for deciding what counts as common)."""
    cursor = await conn.execute(
        """
        SELECT lexeme, coalesce(t.documents, 0) AS documents,
               (SELECT sum(greatest(reltuples, 0)) FROM pg_class
                WHERE oid IN ('movies'::regclass, 'books'::regclass)) AS catalogue_size
        FROM unnest(tsvector_to_array(to_tsvector('english', %s))) AS lexeme
        LEFT JOIN search_terms t USING (lexeme)
        """,
        (text,),
    )
    rows = await cursor.fetchall()
    size = float(rows[0]["catalogue_size"] or 0) if rows else 0.0
    return [(row["lexeme"], row["documents"]) for row in rows], size


def _with_similarity(item_type: ItemType, ranked: sql.Composable, vector: np.ndarray | None) -> sql.Composable:
    """Add the cosine similarity to the query, computed only for the rows `ranked` kept (none
    without a query vector: the embedding model is unavailable)."""
    if vector is None:
        return sql.SQL(
            "SELECT ranked.*, NULL::float8 AS similarity FROM ({ranked}) AS ranked "
            "ORDER BY ranked.score DESC, ranked.id"
        ).format(ranked=ranked)
    return sql.SQL(
        """
        SELECT ranked.*,
               CASE WHEN vector.model = %(model)s THEN 1 - (vector.embedding <=> %(vector)s) END AS similarity
        FROM ({ranked}) AS ranked LEFT JOIN {vectors} AS vector ON vector.{key} = ranked.id
        ORDER BY ranked.score DESC, ranked.id
        """
    ).format(ranked=ranked, vectors=VECTOR_TABLES[item_type], key=VECTOR_KEYS[item_type])


def _each_type(item_types: Sequence[ItemType], query_of: Callable[[ItemType], sql.Composable]) -> sql.Composable:
    """One statement asking `query_of(item_type)` for every type (each with its own ORDER BY and
    LIMIT), its rows marked with their item_type and merged by score, best first."""
    parts = [
        sql.SQL("SELECT {item_type} AS item_type, part.* FROM ({query}) AS part").format(
            item_type=sql.Literal(item_type.value), query=query_of(item_type)
        )
        for item_type in item_types
    ]
    return sql.SQL(" UNION ALL ").join(parts) + sql.SQL(" ORDER BY score DESC, item_type, id")


async def full_text(
    conn: Connection,
    item_types: Sequence[ItemType],
    *,
    query: FullTextQuery,
    vector: np.ndarray | None,
    model: str,
    limit: int,
    filters: SearchFilters,
) -> list[Candidate]:
    """PostgreSQL full-text search, ranked by ts_rank after the items that have every word: up to
    `limit` items of each type, in one statement, best first."""

    def ranked(item_type: ItemType) -> sql.Composable:
        return sql.SQL(
            """
            SELECT id, (search_vector @@ %(all)s::tsquery)::int + ts_rank(search_vector, %(any)s::tsquery) AS score
            FROM {table}
            WHERE search_vector @@ %(any)s::tsquery AND {filters}
            ORDER BY score DESC, id LIMIT %(limit)s
            """
        ).format(table=TABLES[item_type], filters=_filter_sql(item_type))

    params = {
        "all": query.all_words,
        "any": query.any_word,
        "vector": vector,
        "model": model,
        "limit": limit,
        **filters.params(),
    }
    query = _each_type(item_types, lambda item_type: _with_similarity(item_type, ranked(item_type), vector))
    rows = await (await conn.execute(query, params)).fetchall()
    return [Candidate(ItemType(row["item_type"]), row["id"], row["score"], row["similarity"]) for row in rows]


async def spelling_corrections(conn: Connection, raw_query: str, *, max_documents: float) -> list[str]:
    """The words of titles and names the query means: each query word itself where titles or names
    have it, and for a word the catalogue has nowhere (a typo, probably) the closest few spellings
    (pg_trgm similarity). Words in more than max_documents items are too common to help."""
    cursor = await conn.execute(
        """
        WITH typed AS (
            SELECT DISTINCT typed AS word FROM unnest(tsvector_to_array(to_tsvector('simple', %(raw)s))) AS typed
            WHERE length(typed) >= 3
        ), unknown AS (
            SELECT typed.word FROM typed
            WHERE NOT EXISTS (SELECT 1 FROM search_words known WHERE known.word = typed.word)
              AND NOT EXISTS (SELECT 1 FROM search_terms known
                              WHERE known.lexeme = ANY(tsvector_to_array(to_tsvector('english', typed.word))))
        )
        SELECT typed.word FROM typed JOIN search_words known USING (word)
        WHERE known.documents <= %(max_documents)s
        UNION
        SELECT closest.word FROM unknown CROSS JOIN LATERAL (
            SELECT candidate.word, similarity(candidate.word, unknown.word) AS score FROM search_words candidate
            WHERE candidate.word %% unknown.word AND candidate.documents <= %(max_documents)s
            ORDER BY score DESC, candidate.word LIMIT %(per_word)s
        ) AS closest
        WHERE closest.score >= %(min_similarity)s
        ORDER BY 1
        """,
        {
            "raw": raw_query,
            "max_documents": max_documents,
            "per_word": CORRECTIONS_PER_WORD,
            "min_similarity": MIN_SPELLING_SIMILARITY,
        },
    )
    return [row["word"] for row in await cursor.fetchall()]


async def name_matches(
    conn: Connection,
    item_types: Sequence[ItemType],
    *,
    raw_query: str,
    name_query: str,
    vector: np.ndarray | None,
    model: str,
    limit: int,
    filters: SearchFilters,
) -> list[NameMatch]:
    """Items whose titles or people contain the corrected words (`name_query`, a tsquery), closest
    first, with how closely the whole query matches their title and each of their people: pg_trgm
    word_similarity, the share of the query's trigrams found in that one title or name. Comparing
    with whole names keeps "Satyajit Rai" on Satyajit Ray's films rather than Aishwarya Rai's. Up
    to `limit` items of each type, in one statement."""

    def ranked(item_type: ItemType) -> sql.Composable:
        return sql.SQL(
            """
            SELECT id, greatest(title_match, person_match) AS score, title_match, person_match, whole_title_match
            FROM (
                SELECT id,
                       greatest(word_similarity(%(raw)s, title), coalesce(word_similarity(%(raw)s, {other_title}), 0))
                           AS title_match,
                       greatest(similarity(%(raw)s, title), coalesce(similarity(%(raw)s, {other_title}), 0))
                           AS whole_title_match,
                       coalesce((SELECT max(word_similarity(%(raw)s, person)) FROM unnest({people}) AS person), 0)
                           AS person_match
                FROM {table}
                WHERE name_vector @@ %(query)s::tsquery AND {filters}
            ) AS matched
            ORDER BY score DESC, id LIMIT %(limit)s
            """
        ).format(
            table=TABLES[item_type],
            other_title=OTHER_TITLES[item_type],
            people=PEOPLE[item_type],
            filters=_filter_sql(item_type),
        )

    params = {
        "raw": raw_query,
        "query": name_query,
        "vector": vector,
        "model": model,
        "limit": limit,
        **filters.params(),
    }
    query = _each_type(item_types, lambda item_type: _with_similarity(item_type, ranked(item_type), vector))
    rows = await (await conn.execute(query, params)).fetchall()
    return [
        NameMatch(
            ItemType(row["item_type"]),
            row["id"],
            row["score"],
            row["similarity"],
            row["title_match"],
            row["person_match"],
            row["whole_title_match"],
        )
        for row in rows
    ]
