from cinelibre.database.connection import Connection


async def advisory_lock_held(conn: Connection, key: int) -> bool:
    """Whether any session of this database holds the session-level advisory lock `key`, asked
    without taking it (taking it, even for a moment, could turn away a run starting just then)."""
    cursor = await conn.execute(
        """
        SELECT EXISTS (
            SELECT 1 FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND objsubid = 1
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND (classid::bigint << 32 | objid::bigint) = %s
        ) AS held
        """,
        (key,),
    )
    row = await cursor.fetchone()
    return bool(row and row["held"])
