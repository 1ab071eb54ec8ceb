"""Every PostgreSQL advisory lock CineLibre takes, named in one place so no two uses can pick the
same number by accident, and how each is taken.

Two kinds are used. Transaction-level locks (`wait_in_transaction`) end with the transaction and
work through a transaction pooler; they serialise short critical sections. Session-level locks
(`try_for_session` / `release`) are held across many transactions by a long job (training, a
sync) so that a second run of the same job is turned away instead of queued.
"""

from enum import IntEnum

from cinelibre.database.connection import Connection


class AdvisoryLock(IntEnum):
    MIGRATION = 72_410_001  # migrations, by alembic (database/migrations/env.py)
    DEMO_LOAD = 72_410_002  # loading the demo catalogue into an empty database
    SEARCH_VOCABULARY = 72_410_003  # rebuilding the words search corrects spelling against
    TRAINING = 72_410_004  # one `cinelibre train` at a time
    SYNC_TMDB = 72_410_100  # one film sync at a time
    SYNC_GOOGLE_BOOKS = 72_410_101  # one book sync at a time


SYNC_LOCKS = {"tmdb": AdvisoryLock.SYNC_TMDB, "google_books": AdvisoryLock.SYNC_GOOGLE_BOOKS}


def sync_lock(source: str) -> AdvisoryLock:
    """The lock of a sync source as sync runs name it ("tmdb", "google_books")."""
    return SYNC_LOCKS[source]


async def wait_in_transaction(conn: Connection, lock: AdvisoryLock) -> None:
    """Wait for `lock` and hold it until the current transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (int(lock),))


async def try_for_session(conn: Connection, lock: AdvisoryLock) -> bool:
    """Take `lock` for this connection's session if nobody holds it; never waits."""
    row = await (await conn.execute("SELECT pg_try_advisory_lock(%s) AS locked", (int(lock),))).fetchone()
    return bool(row and row["locked"])


async def release(conn: Connection, lock: AdvisoryLock) -> None:
    await conn.execute("SELECT pg_advisory_unlock(%s)", (int(lock),))


async def is_held(conn: Connection, lock: AdvisoryLock) -> bool:
    """Whether any session of this database holds the session-level `lock`, asked without taking
    it (taking it, even for a moment, could turn away a run starting just then)."""
    cursor = await conn.execute(
        """
        SELECT EXISTS (
            SELECT 1 FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND objsubid = 1
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND (classid::bigint << 32 | objid::bigint) = %s
        ) AS held
        """,
        (int(lock),),
    )
    row = await cursor.fetchone()
    return bool(row and row["held"])
