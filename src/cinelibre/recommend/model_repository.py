"""Where the trained models live: every rating and view read in bulk for training, new versions
written and activated, the active version looked up, and the lock that lets one process train at
a time. The queries a request makes of a stored model are in repository.py."""

from collections.abc import Iterable
from typing import Any

import numpy as np
from psycopg.types.json import Jsonb

from cinelibre.database import locks
from cinelibre.database.connection import Connection
from cinelibre.database.locks import AdvisoryLock

# A binary COPY row of (bigint, smallint, bigint, real): the field count, then each field's
# length and value, all big-endian. Fixed width, so numpy reads millions of rows without Python
# objects (fetchall() would need about 200 bytes per row).
_FEEDBACK_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("user_len", ">i4"),
        ("user_id", ">i8"),
        ("type_len", ">i4"),
        ("is_book", ">i2"),
        ("item_len", ">i4"),
        ("item_id", ">i8"),
        ("value_len", ">i4"),
        ("value", ">f4"),
    ]
)
_COPY_HEADER_BYTES = 19  # signature, flags, header extension length
_COPY_TRAILER_BYTES = 2


async def _copy_feedback(conn: Connection, query: str, parameters: dict[str, Any] | None = None) -> np.ndarray:
    buffer = bytearray()
    async with conn.cursor() as cursor, cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)", parameters) as copy:
        async for block in copy:
            buffer += block
    rows = (len(buffer) - _COPY_HEADER_BYTES - _COPY_TRAILER_BYTES) // _FEEDBACK_ROW.itemsize
    return np.frombuffer(buffer, dtype=_FEEDBACK_ROW, offset=_COPY_HEADER_BYTES, count=rows)


async def all_ratings(conn: Connection) -> np.ndarray:
    """Every rating as a structured array: user_id, is_book, item_id, value (the stars)."""
    return await _copy_feedback(
        conn, "SELECT user_id, (item_type = 'book')::int::int2, item_id, rating::float4 FROM ratings"
    )


def implicit_feedback(*, one_user: bool) -> str:
    """A query of what users viewed, clicked or want without rating it, one row per (user, item)
    with the strength of the strongest such interaction: %(view_weight)s for a view,
    %(want_weight)s for a want, %(click_weight)s for a click, %(search_click_weight)s for a click
    at most %(search_window)s after the same user searched (they went looking for it). With
    `one_user`, only %(user)s's rows. Its columns:
    user_id, item_type, item_id, strength, last_at (the latest such interaction), times (how many)."""
    return f"""
        SELECT i.user_id, i.item_type, i.item_id,
               max(CASE
                   WHEN i.kind = 'view' THEN %(view_weight)s::float8
                   WHEN i.kind = 'want' THEN %(want_weight)s::float8
                   WHEN EXISTS (
                       SELECT 1 FROM interactions s
                       WHERE s.user_id = i.user_id AND s.kind = 'search'
                         AND s.created_at BETWEEN i.created_at - %(search_window)s::interval AND i.created_at
                   ) THEN %(search_click_weight)s::float8
                   ELSE %(click_weight)s::float8
               END) AS strength,
               max(i.created_at) AS last_at, count(*) AS times
        FROM interactions i
        WHERE i.item_id IS NOT NULL AND i.kind IN ('view', 'click', 'want')
          {"AND i.user_id = %(user)s" if one_user else ""}
          AND NOT EXISTS (
              SELECT 1 FROM ratings r
              WHERE r.user_id = i.user_id AND r.item_type = i.item_type AND r.item_id = i.item_id
          )
        GROUP BY i.user_id, i.item_type, i.item_id
    """


async def all_viewed(conn: Connection, weights: dict[str, Any]) -> np.ndarray:
    """Every (user, item) viewed or clicked and not rated, once each, in all_ratings()'s layout
    with the interaction's strength as the value (implicit_feedback(); `weights` fills its
    parameters)."""
    return await _copy_feedback(
        conn,
        f"""SELECT user_id, (item_type = 'book')::int::int2, item_id, strength::float4
            FROM ({implicit_feedback(one_user=False)}) AS viewed""",
        weights,
    )


async def _new_version(conn: Connection, *, kind: str, ratings_seen: int, parameters: dict[str, Any]) -> dict[str, Any]:
    cursor = await conn.execute(
        """
        INSERT INTO recommender_models (kind, version, ratings_seen, parameters)
        SELECT %(kind)s, coalesce(max(version), 0) + 1, %(seen)s, %(parameters)s
        FROM recommender_models WHERE kind = %(kind)s
        RETURNING id, version
        """,
        {"kind": kind, "seen": ratings_seen, "parameters": Jsonb(parameters)},
    )
    model = await cursor.fetchone()
    assert model is not None
    return model


async def _activate(conn: Connection, *, kind: str, model: dict[str, Any], versions_kept: int) -> int:
    """Make this version the one served, and drop versions older than the last few."""
    await conn.execute("UPDATE recommender_models SET is_active = false WHERE kind = %s AND is_active", (kind,))
    await conn.execute("UPDATE recommender_models SET is_active = true WHERE id = %s", (model["id"],))
    await conn.execute(
        "DELETE FROM recommender_models WHERE kind = %s AND version <= %s", (kind, model["version"] - versions_kept)
    )
    return model["version"]


async def store_item_model(
    conn: Connection,
    *,
    kind: str,
    ratings_seen: int,
    parameters: dict[str, Any],
    links: Iterable[tuple[str, int, str, int, float]],
    versions_kept: int,
) -> int:
    model = await _new_version(conn, kind=kind, ratings_seen=ratings_seen, parameters=parameters)
    await _copy_links(conn, model["id"], links)
    return await _activate(conn, kind=kind, model=model, versions_kept=versions_kept)


async def _copy_links(conn: Connection, model_id: int, links: Iterable[tuple[str, int, str, int, float]]) -> None:
    async with (
        conn.cursor() as cursor,
        cursor.copy(
            "COPY model_item_neighbours (model_id, item_type, item_id, neighbour_type, neighbour_id, weight) FROM STDIN"
        ) as copy,
    ):
        for link in links:
            await copy.write_row((model_id, *link))


async def store_rating_model(
    conn: Connection,
    *,
    kind: str,
    ratings_seen: int,
    parameters: dict[str, Any],
    items: list[tuple[str, int]],
    biases: np.ndarray,
    factors: np.ndarray,
    item_ratings: np.ndarray,
    neighbours: Iterable[tuple[str, int, str, int, float]],
    versions_kept: int,
) -> int:
    """Write a new version with the items' biases, factors, numbers of ratings and rating
    neighbours, and make it the active one."""
    model = await _new_version(conn, kind=kind, ratings_seen=ratings_seen, parameters=parameters)
    async with (
        conn.cursor() as copy_cursor,
        copy_cursor.copy(
            "COPY model_item_factors (model_id, item_type, item_id, bias, factors, ratings) FROM STDIN"
        ) as copy,
    ):
        for (item_type, item_id), bias, vector, count in zip(items, biases, factors, item_ratings, strict=True):
            await copy.write_row((model["id"], item_type, item_id, float(bias), vector.astype(np.float32), int(count)))
    await _copy_links(conn, model["id"], neighbours)
    return await _activate(conn, kind=kind, model=model, versions_kept=versions_kept)


# A model version is read as a few byte strings, one per column, each the column's values back to
# back in the order of the rows (PostgreSQL's binary send format, big-endian): one value per
# column instead of one message per row, which made reading a million links take seconds. Item
# keys pack (is_book, id) as is_book << 62 | id, as training numbers them.
_PACKED_ITEM = "int8send((item_type = 'book')::int::int8 << 62 | item_id)"
_PACKED_NEIGHBOUR = "int8send((neighbour_type = 'book')::int::int8 << 62 | neighbour_id)"


async def _columns(conn: Connection, query: str, parameters: dict[str, Any]) -> dict[str, bytes]:
    cursor = await conn.execute(query, parameters, binary=True)
    row = await cursor.fetchone()
    assert row is not None
    return {name: value or b"" for name, value in row.items()}


async def model_links(conn: Connection, model_id: int) -> dict[str, np.ndarray]:
    """Every stored link of a model version as arrays: items and neighbours (packed keys), weights."""
    columns = await _columns(
        conn,
        f"""SELECT string_agg({_PACKED_ITEM}, ''::bytea) AS items,
                   string_agg({_PACKED_NEIGHBOUR}, ''::bytea) AS neighbours,
                   string_agg(float4send(weight), ''::bytea) AS weights
            FROM model_item_neighbours WHERE model_id = %(model)s""",
        {"model": model_id},
    )
    return {
        "items": np.frombuffer(columns["items"], ">i8").astype(np.int64),
        "neighbours": np.frombuffer(columns["neighbours"], ">i8").astype(np.int64),
        "weights": np.frombuffer(columns["weights"], ">f4").astype(np.float32),
    }


async def model_factors(conn: Connection, model_id: int, dimensions: int) -> dict[str, np.ndarray]:
    """Every item of a rating-model version as arrays: items (packed keys), biases, ratings (-1
    where the version did not store them) and factors (items × dimensions)."""
    columns = await _columns(
        conn,
        f"""SELECT string_agg({_PACKED_ITEM}, ''::bytea) AS items,
                   string_agg(float8send(bias), ''::bytea) AS biases,
                   string_agg(int4send(coalesce(ratings, -1)), ''::bytea) AS ratings,
                   string_agg(vector_send(factors), ''::bytea) AS factors
            FROM model_item_factors WHERE model_id = %(model)s""",
        {"model": model_id},
    )
    # vector_send: the dimension count and an unused int16, then the float4 values.
    vector = np.dtype([("dimensions", ">i2"), ("unused", ">i2"), ("values", ">f4", (dimensions,))])
    return {
        "items": np.frombuffer(columns["items"], ">i8").astype(np.int64),
        "biases": np.frombuffer(columns["biases"], ">f8").astype(np.float64),
        "ratings": np.frombuffer(columns["ratings"], ">i4").astype(np.int64),
        "factors": np.frombuffer(columns["factors"], vector)["values"].astype(np.float32),
    }


async def active_models(conn: Connection) -> dict[str, dict[str, Any]]:
    """The version of each kind that is served, by kind."""
    cursor = await conn.execute(
        "SELECT id, kind, version, parameters, trained_at FROM recommender_models WHERE is_active"
    )
    return {row["kind"]: row for row in await cursor.fetchall()}


async def active_model(conn: Connection, kind: str) -> dict[str, Any] | None:
    cursor = await conn.execute(
        "SELECT id, version, parameters, trained_at FROM recommender_models WHERE kind = %s AND is_active", (kind,)
    )
    return await cursor.fetchone()


async def try_training_lock(conn: Connection) -> bool:
    """Held for the whole training run (session level), so only one process trains at a time."""
    return await locks.try_for_session(conn, AdvisoryLock.TRAINING)


async def release_training_lock(conn: Connection) -> None:
    await locks.release(conn, AdvisoryLock.TRAINING)


async def new_ratings_since_training(conn: Connection, kind: str) -> int:
    """Ratings beyond what the active model learnt from (all of them if there is no model)."""
    cursor = await conn.execute(
        """SELECT (SELECT count(*) FROM ratings)
                  - coalesce((SELECT ratings_seen FROM recommender_models WHERE kind = %s AND is_active), 0) AS n""",
        (kind,),
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row["n"])
