"""Connection pool and the per-request transaction."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

import psycopg
import psycopg_pool
from fastapi import Depends, Request
from pgvector.psycopg import register_vector_async
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from cinelibre.settings import Settings

Connection = AsyncConnection[DictRow]


def connection_kwargs(settings: Settings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"row_factory": dict_row, "autocommit": False}
    if settings.uses_transaction_pooler:
        # A transaction pooler hands each transaction to any server connection, where a
        # statement prepared earlier does not exist.
        kwargs["prepare_threshold"] = None
    return kwargs


async def prepare_connection(conn: AsyncConnection[Any]) -> None:
    """Teach a new connection pgvector's types (numpy arrays in and out)."""
    await register_vector_async(conn)


async def open_pool(database_url: str, settings: Settings) -> AsyncConnectionPool[Connection]:
    pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
        database_url,
        min_size=settings.database_pool_min_size,
        max_size=settings.database_pool_max_size,
        timeout=settings.database_pool_timeout_seconds,
        kwargs=connection_kwargs(settings),
        configure=prepare_connection,
        open=False,
        name="cinelibre",
    )
    await pool.open(wait=False)
    return pool


async def request_transaction(request: Request) -> AsyncIterator[Connection]:
    """One transaction per request: committed when the route returns, rolled back if it raises."""
    pool: AsyncConnectionPool[Connection] = request.app.state.pool
    async with pool.connection() as conn, conn.transaction():
        yield conn


# scope="function" commits before the response is sent, so a client that reads right after a
# write always sees it.
DbConnection = Annotated[Connection, Depends(request_transaction, scope="function")]


async def database_reachable(pool: AsyncConnectionPool[Connection], timeout_seconds: float = 2.0) -> bool:
    try:
        async with pool.connection(timeout=timeout_seconds) as conn:
            await conn.execute("SELECT 1")
        return True
    except (psycopg.Error, psycopg_pool.PoolTimeout):
        return False
