from typing import Any

from cinelibre.database.connection import Connection
from cinelibre.types import ItemType

RATING_COLUMNS = "id, item_id, item_type, rating::float8 AS rating, created_at, updated_at"


async def get_for_update(conn: Connection, *, user_id: int, item_type: ItemType, item_id: int) -> dict[str, Any] | None:
    cursor = await conn.execute(
        f"""SELECT {RATING_COLUMNS} FROM ratings
        WHERE user_id = %s AND item_type = %s AND item_id = %s FOR UPDATE""",
        (user_id, item_type, item_id),
    )
    return await cursor.fetchone()


async def insert(
    conn: Connection, *, user_id: int, item_type: ItemType, item_id: int, rating: float
) -> dict[str, Any] | None:
    """Returns None if a concurrent request inserted the same rating first."""
    cursor = await conn.execute(
        f"""INSERT INTO ratings (user_id, item_type, item_id, rating) VALUES (%s, %s, %s, %s)
        ON CONFLICT ON CONSTRAINT ratings_one_per_item DO NOTHING
        RETURNING {RATING_COLUMNS}""",
        (user_id, item_type, item_id, rating),
    )
    return await cursor.fetchone()


async def update_value(conn: Connection, *, rating_id: int, rating: float) -> dict[str, Any]:
    cursor = await conn.execute(
        f"UPDATE ratings SET rating = %s, updated_at = now() WHERE id = %s RETURNING {RATING_COLUMNS}",
        (rating, rating_id),
    )
    row = await cursor.fetchone()
    assert row is not None
    return row


async def delete_owned(conn: Connection, *, rating_id: int, user_id: int) -> dict[str, Any] | None:
    cursor = await conn.execute(
        f"DELETE FROM ratings WHERE id = %s AND user_id = %s RETURNING {RATING_COLUMNS}",
        (rating_id, user_id),
    )
    return await cursor.fetchone()


async def list_for_user(
    conn: Connection, *, user_id: int, item_type: ItemType | None, skip: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    cursor = await conn.execute(
        """
        SELECT r.id, r.item_id, r.item_type, r.rating::float8 AS rating, r.created_at, r.updated_at,
               coalesce(m.title, b.title) AS title
        FROM ratings r
        LEFT JOIN movies m ON m.id = r.movie_id
        LEFT JOIN books b ON b.id = r.book_id
        WHERE r.user_id = %(user_id)s AND (%(item_type)s::text IS NULL OR r.item_type = %(item_type)s)
        ORDER BY r.updated_at DESC, r.id DESC
        OFFSET %(skip)s LIMIT %(limit)s
        """,
        {"user_id": user_id, "item_type": item_type, "skip": skip, "limit": limit},
    )
    rows = await cursor.fetchall()
    count = await conn.execute(
        "SELECT count(*) AS total FROM ratings WHERE user_id = %(user_id)s "
        "AND (%(item_type)s::text IS NULL OR item_type = %(item_type)s)",
        {"user_id": user_id, "item_type": item_type},
    )
    total_row = await count.fetchone()
    assert total_row is not None
    return rows, total_row["total"]


async def insert_many(conn: Connection, rows: list[tuple[int, str, int, float]]) -> None:
    """Bulk-insert (user_id, item_type, item_id, rating) rows; existing ratings are kept.
    Item aggregates are not touched: recompute them after the load."""
    async with conn.cursor() as cursor:
        await cursor.executemany(
            """INSERT INTO ratings (user_id, item_type, item_id, rating) VALUES (%s, %s, %s, %s)
            ON CONFLICT ON CONSTRAINT ratings_one_per_item DO NOTHING""",
            rows,
        )
