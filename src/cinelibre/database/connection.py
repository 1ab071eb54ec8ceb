"""Connection pool and the per-request transaction."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from time import monotonic
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


# libpq settings for a database across a network that stops answering without closing the
# connection (a cut, not a restart): connecting gives up after 5 s, and an idle or in-flight
# connection whose packets go unacknowledged is declared dead within about 20 s instead of the
# kernel's quarter of an hour. (They do nothing on the embedded server's Unix socket.)
NETWORK_LIMITS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 2,
    "tcp_user_timeout": 20_000,
}


def connection_kwargs(settings: Settings, url: str | None = None) -> dict[str, Any]:
    """For connections to `url` (default DATABASE_URL)."""
    kwargs: dict[str, Any] = {"row_factory": dict_row, "autocommit": False, **NETWORK_LIMITS}
    if settings.transaction_pooler_at(url or settings.database_url):
        # A transaction pooler hands each transaction to any server connection, where a
        # statement prepared earlier does not exist.
        kwargs["prepare_threshold"] = None
    return kwargs


async def prepare_connection(conn: AsyncConnection[Any]) -> None:
    """Teach a new connection pgvector's types (numpy arrays in and out)."""
    await register_vector_async(conn)


# While the database is not answering, a request waits at most this long for a connection (time
# for one reconnection) instead of DATABASE_POOL_TIMEOUT_SECONDS: a prompt 503, not a stalled request.
OUTAGE_WAIT_SECONDS = 2.0
# The pool reopens a lost connection with growing pauses (1 s, 2 s, 4 s...) for this long, then
# gives that slot up; the next request that finds no connection starts a fresh attempt. Kept short
# so that, while requests come in, there is an attempt about every second: once the database is
# back, service resumes within about a second.
RECONNECT_TIMEOUT_SECONDS = 2.0
# A parameter, unlike SET; the flag says whether the setting ends with the transaction.
SET_STATEMENT_TIMEOUT = "SELECT set_config('statement_timeout', %s, %s)"


class Pool(AsyncConnectionPool[Connection]):
    """A connection pool that notices when the database stops answering.

    Each connection is checked (an empty query) as it is handed out, so one the server has closed
    is replaced instead of failing a request. A request waits for a connection in turns of at most
    OUTAGE_WAIT_SECONDS, up to the pool's timeout, and stops waiting as soon as a check or another
    request has found the database gone. (A request still waiting after a turn queues again
    behind newer ones: the price, in an overloaded pool, of a bounded wait in an outage.)

    PostgreSQL cancels any query that runs longer than the pool's statement timeout."""

    def __init__(
        self, conninfo: str, *, statement_timeout_seconds: float, transaction_pooler: bool, **kwargs: Any
    ) -> None:
        self.statement_timeout = f"{round(statement_timeout_seconds * 1000)}ms"  # "0ms": no limit
        self.transaction_pooler = transaction_pooler
        self.database_lost = False
        super().__init__(conninfo, reconnect_timeout=RECONNECT_TIMEOUT_SECONDS, configure=self._prepare, **kwargs)

    async def _prepare(self, conn: Connection) -> None:
        await prepare_connection(conn)
        if not self.transaction_pooler:
            # The session is this connection's alone: one setting lasts its life.
            await conn.execute(SET_STATEMENT_TIMEOUT, (self.statement_timeout, False))
            await conn.commit()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A connection in a transaction, committed when the block ends and rolled back if it raises.
        Through a transaction pooler each transaction may run in another server session, where a
        session setting made earlier does not hold, so the statement timeout is set in every one."""
        async with self.connection() as conn, conn.transaction():
            if self.transaction_pooler:
                await conn.execute(SET_STATEMENT_TIMEOUT, (self.statement_timeout, True))
            yield conn

    async def getconn(self, timeout: float | None = None) -> Connection:  # noqa: ASYNC109 (the base signature)
        started = monotonic()
        deadline = started + (self.timeout if timeout is None else timeout)
        while True:
            if self.database_lost:
                deadline = min(deadline, monotonic() + OUTAGE_WAIT_SECONDS)
            try:
                conn = await super().getconn(min(deadline - monotonic(), OUTAGE_WAIT_SECONDS))
            except psycopg_pool.PoolTimeout:
                if self.database_lost or monotonic() >= deadline:
                    raise psycopg_pool.PoolTimeout(
                        f"no connection from pool {self.name!r} in {monotonic() - started:.2f} s"
                    ) from None
                continue
            try:
                await self.check_connection(conn)
            except BaseException as error:
                await self.putconn(conn)  # a broken connection is closed and replaced
                if not isinstance(error, psycopg.Error):
                    raise
                self.database_lost = True
            else:
                self.database_lost = False
                return conn

    async def putconn(self, conn: Connection) -> None:
        if conn.broken:
            self.database_lost = True
        await super().putconn(conn)


async def open_pool(
    database_url: str, settings: Settings, *, name: str = "primary", statement_timeout_seconds: float | None = None
) -> Pool:
    """A pool whose queries PostgreSQL cancels after `statement_timeout_seconds` (0: never; by
    default DATABASE_STATEMENT_TIMEOUT_SECONDS, the API's limit)."""
    if statement_timeout_seconds is None:
        statement_timeout_seconds = settings.database_statement_timeout_seconds
    pool = Pool(
        database_url,
        statement_timeout_seconds=statement_timeout_seconds,
        transaction_pooler=settings.transaction_pooler_at(database_url),
        min_size=settings.database_pool_min_size,
        max_size=settings.database_pool_max_size,
        timeout=settings.database_pool_timeout_seconds,
        kwargs=connection_kwargs(settings, database_url),
        open=False,
        name=name,
    )
    await pool.open(wait=False)
    return pool


async def request_transaction(request: Request) -> AsyncIterator[Connection]:
    """One transaction per request: committed when the route returns, rolled back if it raises."""
    pool: Pool = request.app.state.pool
    async with pool.transaction() as conn:
        yield conn


# scope="function" commits before the response is sent, so a client that reads right after a
# write always sees it.
DbConnection = Annotated[Connection, Depends(request_transaction, scope="function")]


def read_pool(request: Request) -> Pool:
    """DATABASE_READ_URL's pool when one is configured, else the primary."""
    return request.app.state.read_pool


async def read_transaction(request: Request) -> AsyncIterator[Connection]:
    """For routes that only read shared data (the catalogue, popular, similar): a replica may
    serve them, a little behind the primary."""
    async with read_pool(request).transaction() as conn:
        yield conn


ReadConnection = Annotated[Connection, Depends(read_transaction, scope="function")]


class LazyConnection:
    """A read connection taken from the pool only when first asked for, so an answer served from
    the cache costs the database nothing."""

    def __init__(self, pool: Pool | None, *, connection: Connection | None = None) -> None:
        self._pool = pool
        self._connection = connection
        self.exit_stack = AsyncExitStack()

    async def get(self) -> Connection:
        if self._connection is None:
            assert self._pool is not None
            self._connection = await self.exit_stack.enter_async_context(self._pool.transaction())
        return self._connection


async def lazy_read_transaction(request: Request) -> AsyncIterator[LazyConnection]:
    lazy = LazyConnection(read_pool(request))
    async with lazy.exit_stack:
        yield lazy


LazyReadConnection = Annotated[LazyConnection, Depends(lazy_read_transaction, scope="function")]


def pool_statistics(pool: AsyncConnectionPool[Connection]) -> dict[str, int]:
    """Connections open, idle and requests waiting for one."""
    stats = pool.get_stats()
    return {
        "size": stats.get("pool_size", 0),
        "available": stats.get("pool_available", 0),
        "waiting": stats.get("requests_waiting", 0),
    }


async def database_reachable(pool: AsyncConnectionPool[Connection], timeout_seconds: float = 2.0) -> bool:
    try:
        async with pool.connection(timeout=timeout_seconds) as conn:
            await conn.execute("SELECT 1")
        return True
    except (psycopg.Error, psycopg_pool.PoolTimeout):
        return False
