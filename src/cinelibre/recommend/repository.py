from typing import Any

from cinelibre.database.connection import Connection
from cinelibre.recommend import model_repository
from cinelibre.types import ItemType

# Per request, the ranking model scores from the user's latest ratings and the rating model
# solves the user's factors from their latest ratings: enough to be personal, and bounded for
# users with thousands of ratings.
FEEDBACK_CONSIDERED = 300
FOLD_IN_RATINGS = 300
# Items the user only viewed or clicked count from the most recently viewed this many: each
# brings up to 200 stored neighbours, and a heavy browser's whole history would multiply that.
VIEWS_CONSIDERED = 100
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


async def user_feedback(
    conn: Connection, user_id: int
) -> tuple[dict[tuple[str, int], float], dict[tuple[str, int], int]]:
    """What the user rated (item → stars), and what they viewed or clicked without rating it
    (item → how many times), in one round trip."""
    cursor = await conn.execute(
        """
        SELECT item_type, item_id, rating::float8 AS stars, 0 AS times FROM ratings WHERE user_id = %(user)s
        UNION ALL
        SELECT i.item_type, i.item_id, NULL, count(*) FROM interactions i
        WHERE i.user_id = %(user)s AND i.item_id IS NOT NULL AND i.kind IN ('view', 'click')
          AND NOT EXISTS (
              SELECT 1 FROM ratings r
              WHERE r.user_id = i.user_id AND r.item_type = i.item_type AND r.item_id = i.item_id
          )
        GROUP BY i.item_type, i.item_id
        """,
        {"user": user_id},
    )
    rows = await cursor.fetchall()
    return (
        {(row["item_type"], row["item_id"]): row["stars"] for row in rows if row["stars"] is not None},
        {(row["item_type"], row["item_id"]): row["times"] for row in rows if row["stars"] is None},
    )


async def content_candidates(
    conn: Connection, *, user_id: int, item_types: list[ItemType], model: str, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` items of each of `item_types` nearest to the user's content profile, through
    match_movies()/match_books(): the mean embedding of what they liked (rated 4 stars or more, or
    their best-rated if none), or for a user who rated nothing, of what they viewed or clicked.
    Empty if none of those is embedded."""
    functions = {ItemType.MOVIE: "match_movies", ItemType.BOOK: "match_books"}
    nearest = " UNION ALL ".join(
        f"SELECT '{kind.value}' AS item_type, found.id AS item_id, found.similarity "
        f"FROM profile, {functions[kind]}(profile.vector, 0, %(limit)s, %(model)s) AS found "
        "WHERE profile.vector IS NOT NULL"
        for kind in item_types
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
            WHERE user_id = %(user)s AND item_id IS NOT NULL AND kind IN ('view', 'click')
              AND NOT EXISTS (SELECT 1 FROM rated)
        ), liked AS (
            SELECT embedding FROM rated
            WHERE model = %(model)s AND rating >= least(4, (SELECT max(rating) FROM rated))
            UNION ALL
            SELECT coalesce(mv.embedding, bv.embedding) FROM viewed
            LEFT JOIN movie_embeddings mv ON mv.movie_id = viewed.movie_id AND mv.model = %(model)s
            LEFT JOIN book_embeddings bv ON bv.book_id = viewed.book_id AND bv.model = %(model)s
            WHERE coalesce(mv.embedding, bv.embedding) IS NOT NULL
        ), profile AS MATERIALIZED (SELECT avg(embedding) AS vector FROM liked)
        {nearest}
        """,
        {"user": user_id, "model": model, "limit": limit},
    )
    return await cursor.fetchall()


async def closest_liked_items(
    conn: Connection, *, user_id: int, candidates: list[tuple[str, int]], model: str
) -> dict[tuple[str, int], dict[str, Any]]:
    """For each candidate, the item the user rated 4+ stars that it is most like (for reasons)."""
    if not candidates:
        return {}
    cursor = await conn.execute(
        """
        WITH liked AS (
            SELECT r.rating::float8 AS rating, coalesce(m.title, b.title) AS title,
                   coalesce(mv.embedding, bv.embedding) AS embedding
            FROM ratings r LEFT JOIN movies m ON m.id = r.movie_id LEFT JOIN books b ON b.id = r.book_id
                 LEFT JOIN movie_embeddings mv ON mv.movie_id = r.movie_id
                 LEFT JOIN book_embeddings bv ON bv.book_id = r.book_id
            WHERE r.user_id = %(user)s AND r.rating >= 4 AND coalesce(mv.model, bv.model) = %(model)s
        ), candidate AS (
            SELECT c.item_type, c.item_id, coalesce(mv.embedding, bv.embedding) AS embedding
            FROM unnest(%(types)s::text[], %(ids)s::bigint[]) AS c(item_type, item_id)
            LEFT JOIN movie_embeddings mv ON c.item_type = 'movie' AND mv.movie_id = c.item_id
            LEFT JOIN book_embeddings bv ON c.item_type = 'book' AND bv.book_id = c.item_id
        )
        SELECT candidate.item_type, candidate.item_id, best.title, best.rating
        FROM candidate CROSS JOIN LATERAL (
            SELECT liked.title, liked.rating FROM liked
            ORDER BY liked.embedding <=> candidate.embedding LIMIT 1
        ) AS best
        WHERE candidate.embedding IS NOT NULL
        """,
        {"user": user_id, "model": model, "types": [t for t, _ in candidates], "ids": [i for _, i in candidates]},
    )
    return {(row["item_type"], row["item_id"]): row for row in await cursor.fetchall()}


async def candidate_details(
    conn: Connection, candidates: list[tuple[str, int]], *, model: str
) -> dict[tuple[str, int], dict[str, Any]]:
    """What ranking and explaining need to know of each candidate, in one round trip: its
    embedding under `model` (None if not embedded), when it joined the catalogue (created_at),
    how many of our users rated it (rating_count), and its language's name (None if unknown)."""
    cursor = await conn.execute(
        """
        SELECT c.item_type, c.item_id, coalesce(mv.embedding, bv.embedding) AS embedding,
               coalesce(m.created_at, b.created_at) AS created_at,
               coalesce(m.rating_count, b.rating_count, 0) AS rating_count,
               language_name(coalesce(m.original_language, b.language)) AS language
        FROM unnest(%(types)s::text[], %(ids)s::bigint[]) AS c(item_type, item_id)
        LEFT JOIN movies m ON c.item_type = 'movie' AND m.id = c.item_id
        LEFT JOIN books b ON c.item_type = 'book' AND b.id = c.item_id
        LEFT JOIN movie_embeddings mv ON c.item_type = 'movie' AND mv.movie_id = c.item_id AND mv.model = %(model)s
        LEFT JOIN book_embeddings bv ON c.item_type = 'book' AND bv.book_id = c.item_id AND bv.model = %(model)s
        """,
        {"types": [t for t, _ in candidates], "ids": [i for _, i in candidates], "model": model},
        binary=True,  # vectors arrive as numpy arrays, without parsing their text
    )
    return {(row["item_type"], row["item_id"]): row for row in await cursor.fetchall()}


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


async def item_model_candidates(
    conn: Connection,
    *,
    model_id: int,
    user_id: int,
    item_type: ItemType | None,
    implicit_weights: dict[str, Any],
    rating_emphasis: float,
    limit: int,
) -> list[dict[str, Any]]:
    """Items the stored ranking model links to the user's feedback (their latest ratings count
    1 + rating_emphasis × (stars - their mean stars), as blend.rating_strength() weighs them in
    training; the VIEWS_CONSIDERED items they most recently viewed or clicked without rating them count as
    model_repository.implicit_feedback() weighs them, with `implicit_weights`), by summed
    weight, leaving out what they rated; each with the item they liked (3 stars or more) that
    links to it most, for the reason."""
    cursor = await conn.execute(
        f"""
        WITH mine AS MATERIALIZED (
            SELECT item_type, item_id, rating, updated_at, avg(rating) OVER () AS mean_rating
            FROM ratings WHERE user_id = %(user)s
        ), feedback AS (
            (SELECT item_type, item_id, 1.0 + %(emphasis)s::float8 * (rating - mean_rating)::float8 AS strength, rating
             FROM mine ORDER BY updated_at DESC LIMIT %(considered)s)
            UNION ALL
            (SELECT viewed.item_type, viewed.item_id, viewed.strength, NULL::numeric
             FROM ({model_repository.implicit_feedback(one_user=True)}) AS viewed
             ORDER BY viewed.last_at DESC, viewed.item_type, viewed.item_id LIMIT %(views)s)
        ), links AS MATERIALIZED (
            SELECT n.neighbour_type, n.neighbour_id, n.weight * feedback.strength AS weight,
                   n.item_type, n.item_id, feedback.rating
            FROM feedback JOIN model_item_neighbours n
              ON n.model_id = %(model)s AND n.item_type = feedback.item_type AND n.item_id = feedback.item_id
            WHERE %(type)s::text IS NULL OR n.neighbour_type = %(type)s
        ), strongest AS (
            -- Summed first, then what the user rated left out: one probe per item, not per link.
            SELECT summed.* FROM (
                SELECT neighbour_type, neighbour_id, sum(weight) AS weight FROM links GROUP BY 1, 2
            ) AS summed
            WHERE NOT EXISTS (
                SELECT 1 FROM mine WHERE mine.item_type = summed.neighbour_type AND mine.item_id = summed.neighbour_id
            )
            ORDER BY weight DESC, neighbour_type, neighbour_id LIMIT %(limit)s
        ), because AS (
            SELECT DISTINCT ON (links.neighbour_type, links.neighbour_id)
                   links.neighbour_type, links.neighbour_id, links.item_type, links.item_id, links.rating
            FROM links JOIN strongest USING (neighbour_type, neighbour_id)
            WHERE links.rating >= 3
            ORDER BY links.neighbour_type, links.neighbour_id, links.weight DESC
        )
        SELECT strongest.neighbour_type AS item_type, strongest.neighbour_id AS item_id,
               strongest.weight::float8 AS weight, coalesce(m.title, b.title) AS because_title,
               because.rating::float8 AS because_rating
        FROM strongest
        LEFT JOIN because USING (neighbour_type, neighbour_id)
        LEFT JOIN movies m ON because.item_type = 'movie' AND m.id = because.item_id
        LEFT JOIN books b ON because.item_type = 'book' AND b.id = because.item_id
        ORDER BY strongest.weight DESC, 1, 2
        """,
        {
            "model": model_id,
            "user": user_id,
            "type": item_type.value if item_type else None,
            "limit": limit,
            "considered": FEEDBACK_CONSIDERED,
            "views": VIEWS_CONSIDERED,
            "emphasis": rating_emphasis,
            **implicit_weights,
        },
        # Planned for each user: a prepared (generic) plan measured four times slower here.
        prepare=False,
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


async def user_ratings_with_factors(conn: Connection, *, model_id: int, user_id: int) -> list[dict[str, Any]]:
    """The user's latest ratings with the model's factors of those items (binary: vectors arrive
    as numpy arrays without text parsing)."""
    cursor = await conn.execute(
        """
        SELECT r.item_type, r.item_id, r.rating::float8 AS rating, f.bias, f.factors
        FROM ratings r JOIN model_item_factors f
          ON f.model_id = %s AND f.item_type = r.item_type AND f.item_id = r.item_id
        WHERE r.user_id = %s
        ORDER BY r.updated_at DESC LIMIT %s
        """,
        (model_id, user_id, FOLD_IN_RATINGS),
        binary=True,
    )
    return await cursor.fetchall()


async def item_factors(
    conn: Connection, *, model_id: int, items: list[tuple[str, int]]
) -> dict[tuple[str, int], dict[str, Any]]:
    cursor = await conn.execute(
        """
        SELECT f.item_type, f.item_id, f.bias, f.factors, f.ratings
        FROM unnest(%(types)s::text[], %(ids)s::bigint[]) AS c(item_type, item_id)
        JOIN model_item_factors f ON f.model_id = %(model)s AND f.item_type = c.item_type AND f.item_id = c.item_id
        """,
        {"model": model_id, "types": [t for t, _ in items], "ids": [i for _, i in items]},
        binary=True,  # vectors arrive as numpy arrays: parsing their text was a sixth of a list's time
    )
    return {(row["item_type"], row["item_id"]): row for row in await cursor.fetchall()}


async def rating_neighbours(
    conn: Connection, *, model_id: int, user_id: int, items: list[tuple[str, int]]
) -> list[dict[str, Any]]:
    """For each given item, its stored rating-model neighbours that the user rated."""
    cursor = await conn.execute(
        """
        WITH mine AS MATERIALIZED (SELECT item_type, item_id FROM ratings WHERE user_id = %(user)s)
        SELECT n.item_type, n.item_id, n.neighbour_type, n.neighbour_id, n.weight::float8 AS weight
        FROM unnest(%(types)s::text[], %(ids)s::bigint[]) AS c(item_type, item_id)
        JOIN model_item_neighbours n ON n.model_id = %(model)s AND n.item_type = c.item_type AND n.item_id = c.item_id
        JOIN mine ON mine.item_type = n.neighbour_type AND mine.item_id = n.neighbour_id
        """,
        {"model": model_id, "user": user_id, "types": [t for t, _ in items], "ids": [i for _, i in items]},
        prepare=False,  # as item_model_candidates: the generic plan is slower
    )
    return await cursor.fetchall()
