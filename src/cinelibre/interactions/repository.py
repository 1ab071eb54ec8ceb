import uuid
from collections.abc import AsyncIterator
from typing import Any

from cinelibre.database.connection import Connection
from cinelibre.types import ItemType


def _with_title(interactions: str) -> str:
    """The select list and FROM clause of interactions (`interactions`, a table or CTE aliased i)
    with each one's item title: null for a search, which names no item."""
    return f"""i.id, i.kind, i.item_id, i.item_type, i.query, i.created_at, coalesce(m.title, b.title) AS title
    FROM {interactions} i LEFT JOIN movies m ON m.id = i.movie_id LEFT JOIN books b ON b.id = i.book_id"""


WITH_TITLE = _with_title("interactions")


async def insert(
    conn: Connection,
    *,
    user_id: int,
    kind: str,
    item_type: ItemType | None,
    item_id: int | None,
    query: str | None,
    list_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    cursor = await conn.execute(
        f"""WITH inserted AS (
            INSERT INTO interactions (user_id, kind, item_type, item_id, query, list_id)
            VALUES (%s, %s, %s, %s, %s, %s)
            RETURNING *
        )
        SELECT {_with_title("inserted")}""",
        (user_id, kind, item_type, item_id, query, list_id),
    )
    row = await cursor.fetchone()
    assert row is not None
    return row


async def existing_want(conn: Connection, *, user_id: int, item_type: ItemType, item_id: int) -> dict[str, Any] | None:
    """The user's want of the item, if they have one."""
    cursor = await conn.execute(
        f"""SELECT {WITH_TITLE}
        WHERE i.user_id = %s AND i.kind = 'want' AND i.item_type = %s AND i.item_id = %s
        ORDER BY i.id LIMIT 1""",
        (user_id, item_type, item_id),
    )
    return await cursor.fetchone()


async def insert_missing_wants(conn: Connection, *, user_id: int, items: list[tuple[ItemType, int]]) -> int:
    """Add a want of each (item_type, item_id) the user does not want yet, in one statement;
    returns how many were added. Callers hold lock_user_activity(), so that two requests at once
    cannot both add the same want."""
    cursor = await conn.execute(
        """
        INSERT INTO interactions (user_id, kind, item_type, item_id)
        SELECT DISTINCT %(user)s::bigint, 'want', wanted.item_type, wanted.item_id
        FROM unnest(%(types)s::text[], %(ids)s::bigint[]) AS wanted(item_type, item_id)
        WHERE NOT EXISTS (
            SELECT 1 FROM interactions i
            WHERE i.user_id = %(user)s AND i.kind = 'want'
              AND i.item_type = wanted.item_type AND i.item_id = wanted.item_id
        )
        """,
        {"user": user_id, "types": [t.value for t, _ in items], "ids": [i for _, i in items]},
    )
    return cursor.rowcount


async def list_for_user(conn: Connection, *, user_id: int, skip: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    cursor = await conn.execute(
        f"""SELECT {WITH_TITLE} WHERE i.user_id = %s
        ORDER BY i.created_at DESC, i.id DESC OFFSET %s LIMIT %s""",
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


async def each_for_user(conn: Connection, *, user_id: int) -> AsyncIterator[dict[str, Any]]:
    """Every interaction of the user, oldest first (for a data export), read through a server-side
    cursor: a few hundred rows in memory at a time, however many the user has."""
    async with conn.cursor(name="interactions_export") as cursor:
        await cursor.execute(f"SELECT {WITH_TITLE} WHERE i.user_id = %s ORDER BY i.created_at, i.id", (user_id,))
        async for row in cursor:
            yield row


async def lock_user_activity(conn: Connection, *, user_id: int) -> None:
    """Serialise one user's interaction writes until the transaction ends, so two requests at once
    cannot both find room under a quota (the row the activity trigger updates anyway)."""
    await conn.execute("SELECT 1 FROM users WHERE id = %s FOR NO KEY UPDATE", (user_id,))


async def recent_count(conn: Connection, *, user_id: int, seconds: int, most: int) -> tuple[int, int]:
    """How many of the user's interactions are younger than `seconds` (counted up to `most`), and
    in how many seconds the oldest of those counted leaves that window."""
    cursor = await conn.execute(
        """
        SELECT count(*) AS recent,
               coalesce(ceil(extract(epoch FROM min(created_at) + make_interval(secs => %(seconds)s) - now())), 0)
                   ::int AS frees_in
        FROM (
            SELECT created_at FROM interactions
            WHERE user_id = %(user)s AND created_at > now() - make_interval(secs => %(seconds)s)
            ORDER BY created_at DESC LIMIT %(most)s
        ) AS latest
        """,
        {"user": user_id, "seconds": seconds, "most": most},
    )
    row = await cursor.fetchone()
    assert row is not None
    return row["recent"], row["frees_in"]


async def experiment_of_list(
    conn: Connection, *, list_id: uuid.UUID, user_id: int, item_type: str, item_id: int
) -> dict[str, Any] | None:
    """The experiment and variant of a list shown to this user that held this item (None: not
    such a list, outside experiments, or not written yet), for counting credited interactions."""
    cursor = await conn.execute(
        """SELECT experiment_id, variant FROM list_exposures
        WHERE list_id = %s AND user_id = %s AND experiment_id IS NOT NULL
          AND (%s, %s::bigint) IN (SELECT * FROM unnest(item_types, item_ids))""",
        (list_id, user_id, item_type, item_id),
    )
    return await cursor.fetchone()
