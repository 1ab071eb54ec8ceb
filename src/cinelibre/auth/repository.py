from typing import Any

from cinelibre.database.connection import Connection

USER_COLUMNS = "id, email, name, password_hash, created_at"


async def insert_user(conn: Connection, *, email: str, name: str, password_hash: str) -> dict[str, Any] | None:
    """Returns None when the email is taken (compared case-insensitively)."""
    cursor = await conn.execute(
        f"""
        INSERT INTO users (email, name, password_hash) VALUES (%s, %s, %s)
        ON CONFLICT (lower(email)) WHERE email IS NOT NULL DO NOTHING
        RETURNING {USER_COLUMNS}
        """,
        (email, name, password_hash),
    )
    return await cursor.fetchone()


async def get_by_email(conn: Connection, email: str) -> dict[str, Any] | None:
    cursor = await conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower(%s)", (email,))
    return await cursor.fetchone()


async def get_login_user(conn: Connection, user_id: int) -> dict[str, Any] | None:
    cursor = await conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE id = %s AND email IS NOT NULL", (user_id,))
    return await cursor.fetchone()


async def ensure_imported_users(conn: Connection, *, source: str, external_ids: list[int]) -> dict[int, int]:
    """Create the users an import brings (who cannot log in) and map their external ids to ours."""
    await conn.execute(
        """
        INSERT INTO users (name, imported_from, external_id)
        SELECT %(source)s || ' user ' || ext, %(source)s, ext FROM unnest(%(ids)s::bigint[]) AS ext
        ON CONFLICT (imported_from, external_id) WHERE imported_from IS NOT NULL DO NOTHING
        """,
        {"source": source, "ids": external_ids},
    )
    cursor = await conn.execute(
        "SELECT external_id, id FROM users WHERE imported_from = %s AND external_id = ANY(%s::bigint[])",
        (source, external_ids),
    )
    return {row["external_id"]: row["id"] for row in await cursor.fetchall()}
