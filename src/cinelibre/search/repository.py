"""SQL for embeddings and the three retrievers that hybrid search fuses."""

from dataclasses import dataclass
from typing import Any

import numpy as np
from psycopg import sql

from cinelibre.database.connection import Connection
from cinelibre.types import ItemType

TABLES = {ItemType.MOVIE: sql.Identifier("movies"), ItemType.BOOK: sql.Identifier("books")}
MATCH_FUNCTIONS = {ItemType.MOVIE: sql.Identifier("match_movies"), ItemType.BOOK: sql.Identifier("match_books")}
LANGUAGE_COLUMNS = {ItemType.MOVIE: sql.Identifier("original_language"), ItemType.BOOK: sql.Identifier("language")}
GENRE_COLUMNS = {ItemType.MOVIE: sql.Identifier("genres"), ItemType.BOOK: sql.Identifier("categories")}
# A misspelt title or name still shares most of its trigrams with the right one.
TRIGRAM_MIN_WORD_SIMILARITY = 0.45


@dataclass(frozen=True)
class SearchFilters:
    language: str | None = None
    genre: str | None = None
    year_from: int | None = None
    year_to: int | None = None

    def params(self) -> dict[str, Any]:
        return {"language": self.language, "genre": self.genre, "year_from": self.year_from, "year_to": self.year_to}


@dataclass(frozen=True)
class Candidate:
    item_type: ItemType
    item_id: int
    # The retriever's own score (cosine similarity, text rank or word similarity): higher is better.
    score: float
    # Cosine similarity to the query, when the item has an embedding from the current model.
    similarity: float | None


# ----- embeddings -----------------------------------------------------------------------------


async def claim_pending_documents(conn: Connection, item_type: ItemType, *, model: str, limit: int) -> list[dict]:
    """Items whose embedding is missing, from another model, or from an older document. Locked
    with SKIP LOCKED so that several processes embedding at once share the work."""
    query = sql.SQL(
        """
        SELECT id, document, md5(document) AS content_hash FROM {table}
        WHERE embedding IS NULL OR embedding_model IS DISTINCT FROM %(model)s
           OR content_hash IS DISTINCT FROM md5(document)
        ORDER BY id LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
        """
    ).format(table=TABLES[item_type])
    return await (await conn.execute(query, {"model": model, "limit": limit})).fetchall()


async def store_embeddings(
    conn: Connection, item_type: ItemType, *, model: str, rows: list[tuple[int, str, np.ndarray]]
) -> None:
    query = sql.SQL("UPDATE {table} SET embedding = %s, embedding_model = %s, content_hash = %s WHERE id = %s").format(
        table=TABLES[item_type]
    )
    async with conn.cursor() as cursor:
        await cursor.executemany(query, [(vector, model, digest, item_id) for item_id, digest, vector in rows])


async def forget_content_hashes(conn: Connection, item_type: ItemType) -> None:
    """Mark every item for embedding again (keeps the old vectors until the new ones are written)."""
    await conn.execute(sql.SQL("UPDATE {} SET content_hash = NULL").format(TABLES[item_type]))


async def embedding_status(conn: Connection, *, model: str) -> dict[str, int]:
    cursor = await conn.execute(
        """
        SELECT
            count(*) FILTER (WHERE embedding_model = %(model)s AND content_hash = md5(document)) AS current,
            count(*) FILTER (WHERE embedding IS NULL) AS missing,
            count(*) FILTER (WHERE embedding IS NOT NULL AND embedding_model IS DISTINCT FROM %(model)s)
                AS other_model,
            count(*) FILTER (WHERE embedding_model = %(model)s AND content_hash IS DISTINCT FROM md5(document))
                AS outdated
        FROM (SELECT embedding, embedding_model, content_hash, document FROM movies
              UNION ALL SELECT embedding, embedding_model, content_hash, document FROM books) AS items
        """,
        {"model": model},
    )
    row = await cursor.fetchone()
    assert row is not None
    return dict(row)


async def other_models(conn: Connection, *, model: str) -> list[str]:
    cursor = await conn.execute(
        """SELECT DISTINCT embedding_model FROM (
            SELECT embedding_model FROM movies UNION ALL SELECT embedding_model FROM books) AS m
        WHERE embedding_model IS NOT NULL AND embedding_model <> %s ORDER BY 1""",
        (model,),
    )
    return [row["embedding_model"] for row in await cursor.fetchall()]


async def item_embedding(conn: Connection, item_type: ItemType, item_id: int) -> dict[str, Any] | None:
    query = sql.SQL("SELECT embedding, embedding_model FROM {} WHERE id = %s").format(TABLES[item_type])
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
    item_type: ItemType,
    *,
    vector: np.ndarray,
    model: str,
    limit: int,
    threshold: float = 0.0,
    filters: SearchFilters = SearchFilters(),
    exclude_id: int | None = None,
) -> list[Candidate]:
    """Vector neighbours through the seed's match_movies()/match_books()."""
    query = sql.SQL(
        """SELECT id, similarity FROM {function}(%(vector)s, %(threshold)s, %(limit)s, %(model)s,
            %(language)s, %(genre)s, %(year_from)s, %(year_to)s, %(exclude_id)s)"""
    ).format(function=MATCH_FUNCTIONS[item_type])
    params = {
        "vector": vector, "threshold": threshold, "limit": limit, "model": model, "exclude_id": exclude_id,
        **filters.params(),
    }  # fmt: skip
    rows = await (await conn.execute(query, params)).fetchall()
    return [Candidate(item_type, row["id"], row["similarity"], row["similarity"]) for row in rows]


async def full_text(
    conn: Connection,
    item_type: ItemType,
    *,
    text_query: str,
    vector: np.ndarray,
    model: str,
    limit: int,
    filters: SearchFilters,
) -> list[Candidate]:
    """PostgreSQL full-text search; `text_query` is websearch syntax, which never raises."""
    query = sql.SQL(
        """
        SELECT id, ts_rank(search_vector, query) AS score,
               CASE WHEN embedding_model = %(model)s THEN 1 - (embedding <=> %(vector)s) END AS similarity
        FROM {table}, websearch_to_tsquery('english', %(text)s) AS query
        WHERE search_vector @@ query AND {filters}
        ORDER BY score DESC, id
        LIMIT %(limit)s
        """
    ).format(table=TABLES[item_type], filters=_filter_sql(item_type))
    params = {"text": text_query, "vector": vector, "model": model, "limit": limit, **filters.params()}
    rows = await (await conn.execute(query, params)).fetchall()
    return [Candidate(item_type, row["id"], row["score"], row["similarity"]) for row in rows]


async def similar_names(
    conn: Connection,
    item_type: ItemType,
    *,
    raw_query: str,
    vector: np.ndarray,
    model: str,
    limit: int,
    filters: SearchFilters,
) -> list[Candidate]:
    """Titles and people whose spelling is close to the query (pg_trgm word similarity)."""
    query = sql.SQL(
        """
        SELECT id, word_similarity(%(raw)s, names) AS score,
               CASE WHEN embedding_model = %(model)s THEN 1 - (embedding <=> %(vector)s) END AS similarity
        FROM {table}
        WHERE word_similarity(%(raw)s, names) >= %(min_similarity)s AND {filters}
        ORDER BY %(raw)s <<-> names, id
        LIMIT %(limit)s
        """
    ).format(table=TABLES[item_type], filters=_filter_sql(item_type))
    params = {
        "raw": raw_query.lower(), "min_similarity": TRIGRAM_MIN_WORD_SIMILARITY, "vector": vector, "model": model,
        "limit": limit, **filters.params(),
    }  # fmt: skip
    rows = await (await conn.execute(query, params)).fetchall()
    return [Candidate(item_type, row["id"], row["score"], row["similarity"]) for row in rows]
