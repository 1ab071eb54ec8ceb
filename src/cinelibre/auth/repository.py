from typing import Any

from cinelibre.database.connection import Connection

USER_COLUMNS = "id, email, name, password_hash, created_at, token_version, is_admin"


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


async def get_login_user(conn: Connection, *, user_id: int, token_version: int) -> dict[str, Any] | None:
    """The account a token names, if it still exists, can log in, and the token's version is current."""
    cursor = await conn.execute(
        f"SELECT {USER_COLUMNS} FROM users WHERE id = %s AND token_version = %s AND email IS NOT NULL",
        (user_id, token_version),
    )
    return await cursor.fetchone()


async def get_password_hash(conn: Connection, user_id: int) -> str | None:
    cursor = await conn.execute("SELECT password_hash FROM users WHERE id = %s", (user_id,))
    row = await cursor.fetchone()
    return row["password_hash"] if row else None


async def revoke_tokens(conn: Connection, user_id: int, *, password_hash: str | None = None) -> dict[str, Any] | None:
    """Move the account's token version on (every token issued so far stops working), and set a
    new password hash when one is given. None if the account is gone."""
    cursor = await conn.execute(
        f"""UPDATE users SET token_version = token_version + 1, password_hash = coalesce(%s, password_hash)
        WHERE id = %s RETURNING {USER_COLUMNS}""",
        (password_hash, user_id),
    )
    return await cursor.fetchone()


async def delete_user(conn: Connection, user_id: int) -> None:
    await conn.execute("DELETE FROM users WHERE id = %s", (user_id,))


async def set_admin(conn: Connection, *, email: str, is_admin: bool) -> dict[str, Any] | None:
    """None when no account has this email."""
    cursor = await conn.execute(
        f"UPDATE users SET is_admin = %s WHERE lower(email) = lower(%s) RETURNING {USER_COLUMNS}",
        (is_admin, email),
    )
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
