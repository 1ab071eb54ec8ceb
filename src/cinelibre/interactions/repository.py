from typing import Any

from cinelibre.database.connection import Connection
from cinelibre.types import ItemType

INTERACTION_COLUMNS = "id, kind, item_id, item_type, query, created_at"


async def insert(
    conn: Connection,
    *,
    user_id: int,
    kind: str,
    item_type: ItemType | None,
    item_id: int | None,
    query: str | None,
) -> dict[str, Any]:
    cursor = await conn.execute(
        f"""INSERT INTO interactions (user_id, kind, item_type, item_id, query) VALUES (%s, %s, %s, %s, %s)
        RETURNING {INTERACTION_COLUMNS}""",
        (user_id, kind, item_type, item_id, query),
    )
    row = await cursor.fetchone()
    assert row is not None
    return row


async def list_for_user(conn: Connection, *, user_id: int, skip: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    cursor = await conn.execute(
        f"""SELECT {INTERACTION_COLUMNS} FROM interactions WHERE user_id = %s
        ORDER BY created_at DESC, id DESC OFFSET %s LIMIT %s""",
        (user_id, skip, limit),
    )
    rows = await cursor.fetchall()
    count = await conn.execute("SELECT count(*) AS total FROM interactions WHERE user_id = %s", (user_id,))
    total_row = await count.fetchone()
    assert total_row is not None
    return rows, total_row["total"]


async def delete_all_for_user(conn: Connection, *, user_id: int) -> int:
    cursor = await conn.execute("DELETE FROM interactions WHERE user_id = %s", (user_id,))
    return cursor.rowcount


async def all_for_user(conn: Connection, *, user_id: int) -> list[dict[str, Any]]:
    """Every interaction of the user, oldest first (for a data export)."""
    cursor = await conn.execute(
        f"SELECT {INTERACTION_COLUMNS} FROM interactions WHERE user_id = %s ORDER BY created_at, id", (user_id,)
    )
    return await cursor.fetchall()
