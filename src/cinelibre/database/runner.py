"""Running one job against the database outside the API: what every database command of the CLI does."""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from cinelibre.database import migrate
from cinelibre.database.connection import Connection, Pool, open_pool
from cinelibre.database.embedded import DatabaseHandle, open_database
from cinelibre.settings import Settings

T = TypeVar("T")
# Training, sync and imports run single statements that take minutes on a large catalogue: the
# API's statement timeout, or one the database role carries, must not cut them short.
NO_STATEMENT_TIMEOUT = 0.0
Job = Callable[[Pool], Awaitable[T]]


@contextmanager
def migrated_database(settings: Settings) -> Iterator[DatabaseHandle]:
    """DATABASE_URL, or the embedded server started for the duration, with its schema up to date."""
    with open_database(settings.database_url, settings.data_dir) as database:
        migrate.upgrade_to_head(database.url)
        yield database


def run_with_database(settings: Settings, job: Job[T]) -> T:
    """Open and migrate the database, run `job` on a connection pool and close everything, even
    when the job raises. The job owns its transactions."""
    with migrated_database(settings) as database:
        return asyncio.run(_run_on_pool(database.url, settings, job))


async def _run_on_pool(database_url: str, settings: Settings, job: Job[T]) -> T:
    pool = await open_pool(database_url, settings, statement_timeout_seconds=NO_STATEMENT_TIMEOUT)
    try:
        return await job(pool)
    finally:
        await pool.close()


def in_one_transaction(work: Callable[[Connection], Awaitable[T]]) -> Job[T]:
    """A job that does all its work on one connection in one transaction, committed when `work`
    returns and rolled back if it raises."""

    async def job(pool: Pool) -> T:
        async with pool.transaction() as conn:
            return await work(conn)

    return job
