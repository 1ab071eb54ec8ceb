"""Running a short piece of a transaction once more when PostgreSQL gives it up to break a
deadlock or a serialization conflict: such a failure says nothing about the request itself, and
the second attempt almost always finds the way clear."""

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from psycopg.errors import DeadlockDetected, SerializationFailure

from cinelibre.database.connection import Connection

logger = logging.getLogger(__name__)

T = TypeVar("T")

# SQLSTATE 40P01 and 40001: PostgreSQL cancelled the statement so that another could go on.
TRANSIENT_CONFLICTS = (DeadlockDetected, SerializationFailure)


async def retried_once_on_conflict(conn: Connection, operation: Callable[[], Awaitable[T]]) -> T:
    """Run `operation` inside a savepoint and, if PostgreSQL cancels it to break a deadlock or a
    serialization conflict, undo it back to the savepoint and run it once more. The surrounding
    transaction (the request's) carries on either way; a second conflict is raised to the caller."""
    try:
        async with conn.transaction():
            return await operation()
    except TRANSIENT_CONFLICTS as error:
        logger.warning("running again after a transient conflict (SQLSTATE %s): %s", error.sqlstate, error)
    async with conn.transaction():
        return await operation()
