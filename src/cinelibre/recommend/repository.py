from typing import Any

from cinelibre.database.connection import Connection
from cinelibre.types import ItemType


async def popular_items(
    conn: Connection, *, item_type: ItemType | None, window_days: int | None, limit: int
) -> list[dict[str, Any]]:
    cursor = await conn.execute(
        "SELECT * FROM get_popular_items(%s, %s, %s)",
        (item_type.value if item_type else None, window_days, limit),
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
