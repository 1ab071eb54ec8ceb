"""Running a short piece of a transaction once more when PostgreSQL gives it up to break a
deadlock or a serialization conflict: such a failure says nothing about the request itself, and
the second attempt almost always finds the way clear."""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from psycopg.errors import DeadlockDetected, SerializationFailure

from cinelibre.database.connection import Connection

logger = logging.getLogger(__name__)

T = TypeVar("T")

# SQLSTATE 40P01 and 40001: PostgreSQL cancelled the statement so that another could go on.
TRANSIENT_CONFLICTS = (DeadlockDetected, SerializationFailure)
# How long to wait before the second attempt (seconds, drawn at random): the transaction that
# won was waiting for what the cancelled one just gave back; run again at once, the second attempt
# can take those rows first and meet the same deadlock.
RETRY_PAUSE = (0.02, 0.1)


async def retried_once_on_conflict(conn: Connection, operation: Callable[[], Awaitable[T]]) -> T:
    """Run `operation` inside a savepoint and, if PostgreSQL cancels it to break a deadlock or a
    serialization conflict, undo it back to the savepoint and, after a short pause, run it once
    more. The surrounding transaction (the request's) carries on either way; a second conflict is
    raised to the caller."""
    try:
        async with conn.transaction():
            return await operation()
    except TRANSIENT_CONFLICTS as error:
        logger.warning("running again after a transient conflict (SQLSTATE %s): %s", error.sqlstate, error)
    await asyncio.sleep(random.uniform(*RETRY_PAUSE))
    async with conn.transaction():
        return await operation()
