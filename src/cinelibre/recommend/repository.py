from typing import Any

from cinelibre.database.connection import Connection
from cinelibre.recommend import model_repository
from cinelibre.types import ItemType

# A collaborative prediction for one item asks the item's latest raters at most, and of those
# the users who share the most rated items with the caller: a popular item's thousands of raters
# would otherwise each be correlated with the caller on every request.
PREDICTION_RATERS_CONSIDERED = 2000
PREDICTION_CO_RATERS_CONSIDERED = 200
MIN_COMMON_ITEMS = 3
MIN_CORRELATION = 0.3
MAX_NEIGHBOURS = 50


async def popular_items(
    conn: Connection, *, item_type: ItemType | None, window_days: int | None, skip: int = 0, limit: int
) -> list[dict[str, Any]]:
    """`limit` items of the popular list after its first `skip`."""
    cursor = await conn.execute(
        "SELECT * FROM get_popular_items(%s, %s, %s) OFFSET %s",
        (item_type.value if item_type else None, window_days, skip + limit, skip),
    )
    return await cursor.fetchall()


async def collaborative_recommendations(
    conn: Connection, *, user_id: int, item_type: ItemType | None, limit: int
) -> list[dict[str, Any]]:
    cursor = await conn.execute(
        "SELECT * FROM get_collaborative_recommendations(%s, %s, %s)",
        (user_id, limit, item_type.value if item_type else None),
    )
    return await cursor.fetchall()


async def user_feedback(conn: Connection, user_id: int, implicit_weights: dict[str, Any]) -> list[dict[str, Any]]:
    """In one round trip, everything a user's list starts from: rows with `source` 'rating' (what
    they rated: item, stars, when), 'view' (what they viewed or clicked without rating it: item,
    model_repository.implicit_feedback()'s strength, how many times, when last), and one row per
    active model version (source is its kind, item_id its id)."""
    cursor = await conn.execute(
        f"""
        SELECT 'rating' AS source, item_type, item_id, rating::float8 AS value, 0::bigint AS times, updated_at AS at
        FROM ratings WHERE user_id = %(user)s
        UNION ALL
        SELECT 'view', item_type, item_id, strength, times, last_at
        FROM ({model_repository.implicit_feedback(one_user=True)}) AS viewed
        UNION ALL
        SELECT kind, NULL, id, NULL, NULL, trained_at FROM recommender_models WHERE is_active
        """,
        {"user": user_id, **implicit_weights},
        prepare=False,  # as item_model_candidates: planned for each user
    )
    return await cursor.fetchall()


async def candidate_signals(
    conn: Connection,
    *,
    user_id: int,
    candidates: list[tuple[str, int]],
    item_types: list[ItemType] | None,
    model: str,
    nearest: int,
) -> list[dict[str, Any]]:
    """One round trip for what scoring a user's candidates needs besides the models: each of
    `candidates` and, for each of `item_types` (none: no search), up to `nearest` items nearest
    the user's content profile (the mean embedding of what they liked: rated 4 stars or more, or
    their best-rated if none; for a user who rated nothing, of what they viewed or clicked)
    through match_movies()/match_books(), with `similarity` to it (NULL for the others); each
    with when it joined the catalogue (created_at) and its language's name (NULL if unknown).
    An item that no longer exists is left out."""
    functions = {ItemType.MOVIE: "match_movies", ItemType.BOOK: "match_books"}
    searches = (
        " UNION ALL ".join(
            f"SELECT '{kind.value}' AS item_type, found.id AS item_id, found.similarity "
            f"FROM profile, {functions[kind]}(profile.vector, 0, %(nearest)s, %(model)s) AS found "
            "WHERE profile.vector IS NOT NULL"
            for kind in item_types or []
        )
        or "SELECT NULL::text AS item_type, NULL::bigint AS item_id, NULL::float8 AS similarity WHERE false"
    )
    cursor = await conn.execute(
        f"""
        WITH rated AS (
            SELECT r.rating, coalesce(mv.embedding, bv.embedding) AS embedding, coalesce(mv.model, bv.model) AS model
            FROM ratings r LEFT JOIN movie_embeddings mv ON mv.movie_id = r.movie_id
                 LEFT JOIN book_embeddings bv ON bv.book_id = r.book_id
            WHERE r.user_id = %(user)s
        ), viewed AS (
            SELECT DISTINCT movie_id, book_id FROM interactions
            WHERE user_id = %(user)s AND item_id IS NOT NULL AND kind IN ('view', 'click', 'want')
              AND NOT EXISTS (SELECT 1 FROM rated)
        ), liked AS (
            SELECT embedding FROM rated
            WHERE model = %(model)s AND rating >= least(4, (SELECT max(rating) FROM rated))
            UNION ALL
            SELECT coalesce(mv.embedding, bv.embedding) FROM viewed
            LEFT JOIN movie_embeddings mv ON mv.movie_id = viewed.movie_id AND mv.model = %(model)s
            LEFT JOIN book_embeddings bv ON bv.book_id = viewed.book_id AND bv.model = %(model)s
            WHERE coalesce(mv.embedding, bv.embedding) IS NOT NULL
        ), profile AS MATERIALIZED (
            SELECT avg(embedding) AS vector FROM liked WHERE %(search)s
        ), nearest AS MATERIALIZED ({searches}
        ), wanted AS (
            SELECT c.item_type, c.item_id FROM unnest(%(types)s::text[], %(ids)s::bigint[]) AS c(item_type, item_id)
            UNION
            SELECT item_type, item_id FROM nearest
        )
        SELECT w.item_type, w.item_id, nearest.similarity::float8 AS similarity, found.created_at, found.language
        FROM wanted w
        LEFT JOIN nearest USING (item_type, item_id)
        -- One index lookup per candidate, whatever the planner guesses of how many there are; an
        -- item deleted since the model was trained has no row and drops out.
        CROSS JOIN LATERAL (
            SELECT m.created_at, language_name(m.original_language) AS language
            FROM movies m WHERE w.item_type = 'movie' AND m.id = w.item_id
            UNION ALL
            SELECT b.created_at, language_name(b.language)
            FROM books b WHERE w.item_type = 'book' AND b.id = w.item_id
        ) AS found
        """,
        {
            "user": user_id,
            "model": model,
            "nearest": nearest,
            "search": bool(item_types),
            "types": [t for t, _ in candidates],
            "ids": [i for _, i in candidates],
        },
        prepare=False,
    )
    return await cursor.fetchall()


async def embeddings_with_liked(
    conn: Connection, *, user_id: int, items: list[tuple[str, int]], model: str, liked: int
) -> list[dict[str, Any]]:
    """The embeddings under `model` of `items` (`liked` false; an item not embedded has none),
    and of the user's `liked` latest ratings of 4 stars or more of embedded items (`liked` true,
    with the stars), for the diversity step and "because you rated X"."""
    cursor = await conn.execute(
        """
        SELECT false AS liked, c.item_type, c.item_id, NULL::float8 AS rating,
               coalesce(mv.embedding, bv.embedding) AS embedding
        FROM unnest(%(types)s::text[], %(ids)s::bigint[]) AS c(item_type, item_id)
        LEFT JOIN movie_embeddings mv ON c.item_type = 'movie' AND mv.movie_id = c.item_id AND mv.model = %(model)s
        LEFT JOIN book_embeddings bv ON c.item_type = 'book' AND bv.book_id = c.item_id AND bv.model = %(model)s
        UNION ALL
        (SELECT true, r.item_type, r.item_id, r.rating::float8, coalesce(mv.embedding, bv.embedding)
         FROM ratings r
         LEFT JOIN movie_embeddings mv ON mv.movie_id = r.movie_id AND mv.model = %(model)s
         LEFT JOIN book_embeddings bv ON bv.book_id = r.book_id AND bv.model = %(model)s
         WHERE r.user_id = %(user)s AND r.rating >= 4 AND coalesce(mv.embedding, bv.embedding) IS NOT NULL
         ORDER BY r.updated_at DESC, r.item_type, r.item_id LIMIT %(liked)s)
        """,
        {
            "user": user_id,
            "model": model,
            "liked": liked,
            "types": [t for t, _ in items],
            "ids": [i for _, i in items],
        },
        binary=True,  # vectors arrive as numpy arrays, without parsing their text
        prepare=False,
    )
    return await cursor.fetchall()


async def collaborative_prediction(
    conn: Connection, *, user_id: int, item_type: ItemType, item_id: int
) -> dict[str, Any] | None:
    """The Pearson user-kNN's stars for one item (the weighing of get_collaborative_recommendations),
    from the users who rated it: of its latest PREDICTION_RATERS_CONSIDERED raters, the
    PREDICTION_CO_RATERS_CONSIDERED sharing the most rated items with the user are correlated,
    and the closest MAX_NEIGHBOURS above MIN_CORRELATION predict. None when none qualifies.
    Every step reads through an index: the item's raters, then each rater's ratings."""
    cursor = await conn.execute(
        """
        WITH target AS MATERIALIZED (
            SELECT item_type, item_id, rating::float8 AS rating FROM ratings WHERE user_id = %(user)s
        ), raters AS MATERIALIZED (
            SELECT user_id, rating::float8 AS rating FROM ratings
            WHERE item_type = %(type)s AND item_id = %(item)s AND user_id <> %(user)s
            ORDER BY updated_at DESC LIMIT %(raters)s
        ), overlap AS MATERIALIZED (
            SELECT other.user_id, count(*) AS common, corr(target.rating, other.rating::float8) AS pearson
            FROM raters
            JOIN ratings other ON other.user_id = raters.user_id
            JOIN target ON target.item_type = other.item_type AND target.item_id = other.item_id
            GROUP BY other.user_id
            HAVING count(*) >= %(min_common)s
            ORDER BY count(*) DESC, other.user_id LIMIT %(co_raters)s
        ), neighbours AS (
            SELECT user_id, pearson FROM overlap WHERE pearson > %(min_correlation)s
            ORDER BY pearson DESC, user_id LIMIT %(neighbours)s
        ), neighbour_means AS (
            SELECT r.user_id, avg(r.rating::float8) AS mean
            FROM ratings r JOIN neighbours n ON n.user_id = r.user_id GROUP BY r.user_id
        )
        SELECT (SELECT avg(rating) FROM target)
                   + sum(n.pearson * (raters.rating - m.mean)) / sum(abs(n.pearson)) AS predicted_rating,
               count(*) AS neighbour_count
        FROM neighbours n JOIN raters USING (user_id) JOIN neighbour_means m USING (user_id)
        HAVING count(*) > 0
        """,
        {
            "user": user_id,
            "type": item_type.value,
            "item": item_id,
            "raters": PREDICTION_RATERS_CONSIDERED,
            "co_raters": PREDICTION_CO_RATERS_CONSIDERED,
            "min_common": MIN_COMMON_ITEMS,
            "min_correlation": MIN_CORRELATION,
            "neighbours": MAX_NEIGHBOURS,
        },
    )
    return await cursor.fetchone()


async def baseline_prediction(conn: Connection, *, user_id: int, item_type: ItemType, item_id: int) -> dict[str, Any]:
    """The user's mean plus the item's damped offset from the mean of all ratings (bias baseline)."""
    cursor = await conn.execute(
        """
        WITH overall AS (SELECT coalesce(avg(rating)::float8, 3.0) AS mean FROM ratings),
        mine AS (SELECT avg(rating)::float8 AS mean, count(*) AS n FROM ratings WHERE user_id = %(user)s),
        item AS (
            SELECT sum(rating - (SELECT mean FROM overall))::float8 / (count(*) + 10) AS offset_from_mean,
                   count(*) AS n
            FROM ratings WHERE item_type = %(type)s AND item_id = %(item)s
        ),
        own AS (
            SELECT rating::float8 FROM ratings
            WHERE user_id = %(user)s AND item_type = %(type)s AND item_id = %(item)s
        )
        SELECT (SELECT rating FROM own) AS own_rating,
               coalesce(mine.mean, overall.mean) + coalesce(item.offset_from_mean, 0) AS predicted_rating,
               mine.n AS user_ratings, item.n AS item_ratings
        FROM overall, mine, item
        """,
        {"user": user_id, "type": item_type.value, "item": item_id},
    )
    row = await cursor.fetchone()
    assert row is not None
    return row


async def co_rated_items(
    conn: Connection, *, item_type: ItemType, item_id: int, target_type: ItemType, limit: int, min_co_raters: int
) -> list[dict[str, Any]]:
    """Items rated by the same users, by cosine similarity of their rater sets (item-to-item CF)."""
    table = "movies" if target_type is ItemType.MOVIE else "books"
    cursor = await conn.execute(
        f"""
        WITH raters AS (SELECT user_id FROM ratings WHERE item_type = %(type)s AND item_id = %(item)s),
        shared AS (
            SELECT r.item_id, count(*) AS co_raters FROM ratings r JOIN raters USING (user_id)
            WHERE r.item_type = %(target)s AND NOT (r.item_type = %(type)s AND r.item_id = %(item)s)
            GROUP BY r.item_id HAVING count(*) >= %(min_co)s
        )
        SELECT shared.item_id, shared.co_raters,
               shared.co_raters / sqrt((SELECT count(*) FROM raters)::float8 * t.rating_count) AS cosine
        FROM shared JOIN {table} t ON t.id = shared.item_id
        ORDER BY cosine DESC, shared.item_id LIMIT %(limit)s
        """,
        {
            "type": item_type.value,
            "item": item_id,
            "target": target_type.value,
            "min_co": min_co_raters,
            "limit": limit,
        },
    )
    return await cursor.fetchall()


async def similar_by_ratings(
    conn: Connection, *, model_id: int, item_type: ItemType, item_id: int, target_type: ItemType, limit: int
) -> list[dict[str, Any]]:
    """Items whose rating-model factors are closest to this item's (HNSW top-k)."""
    cursor = await conn.execute(
        "SELECT item_id, similarity FROM similar_by_ratings(%s, %s, %s, %s, %s)",
        (model_id, item_type.value, item_id, target_type.value, limit),
    )
    return await cursor.fetchall()


async def cache_state(conn: Connection, user_id: int) -> str:
    """What a cached personalized list depends on besides the request: the user's activity
    version (moved by triggers on every rating and interaction) and the serving models."""
    cursor = await conn.execute(
        """
        SELECT u.activity_version::text || '.' || coalesce(
                   (SELECT string_agg(id::text, '.' ORDER BY kind) FROM recommender_models WHERE is_active), '')
        FROM users u WHERE u.id = %s
        """,
        (user_id,),
    )
    row = await cursor.fetchone()
    return next(iter(row.values())) if row else "gone"


async def adaptations_of(
    conn: Connection, *, items: list[tuple[str, int]], item_type: ItemType | None
) -> list[dict[str, Any]]:
    """For the films among `items`, the books they adapt, and for the books, the films adapting
    them (only those of `item_type`, when given): rows of the linked item (item_type, item_id)
    and the item of `items` it is linked to (source_type, source_id)."""
    cursor = await conn.execute(
        """
        SELECT 'movie' AS item_type, movie_id AS item_id, 'book' AS source_type, book_id AS source_id
        FROM adaptations WHERE book_id = ANY(%(books)s) AND %(films_wanted)s
        UNION ALL
        SELECT 'book', book_id, 'movie', movie_id
        FROM adaptations WHERE movie_id = ANY(%(movies)s) AND %(books_wanted)s
        ORDER BY 1, 2, 3, 4
        """,
        {
            "books": [item_id for kind, item_id in items if kind == ItemType.BOOK.value],
            "movies": [item_id for kind, item_id in items if kind == ItemType.MOVIE.value],
            "films_wanted": item_type in (None, ItemType.MOVIE),
            "books_wanted": item_type in (None, ItemType.BOOK),
        },
    )
    return await cursor.fetchall()
