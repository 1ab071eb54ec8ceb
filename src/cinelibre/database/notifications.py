"""Every PostgreSQL LISTEN/NOTIFY channel CineLibre uses, named in one place, and how a change is
announced on one.

A notification sent inside a transaction reaches the listeners only when that transaction commits,
and not at all when it rolls back, so a listener never hears of a change it cannot yet read.
Notifications with the same channel and payload in one transaction arrive once.
"""

from enum import StrEnum

from cinelibre.database.connection import Connection


class Channel(StrEnum):
    # Payload: the id of a user whose ratings or views changed (web/live.py listens).
    USER_ACTIVITY = "cinelibre_user_activity"


async def announce_user_activity(conn: Connection, *, user_id: int) -> None:
    """Tell every API instance, once the current transaction commits, that this user's
    recommendations may have changed."""
    await conn.execute("SELECT pg_notify(%s, %s)", (Channel.USER_ACTIVITY.value, str(user_id)))
