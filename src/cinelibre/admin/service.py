from typing import Any

from cinelibre.admin import repository
from cinelibre.admin.jobs import JobLauncher
from cinelibre.admin.schemas import JobStarted, SyncRun, SyncRuns, SyncSource
from cinelibre.database.connection import Connection
from cinelibre.errors import ConflictError
from cinelibre.recommend.repository import TRAINING_LOCK_ID

# The sync repository, not its service: the service brings the upstream HTTP clients, which the
# API process has no other use for.
from cinelibre.sync import repository as sync_repository


async def start_training(conn: Connection, *, jobs: JobLauncher) -> JobStarted:
    if await repository.advisory_lock_held(conn, TRAINING_LOCK_ID):
        raise ConflictError("The models are being trained right now; try again when that run ends.")
    await jobs.start("train")
    return JobStarted()


async def start_sync(conn: Connection, *, source: SyncSource, tmdb_configured: bool, jobs: JobLauncher) -> JobStarted:
    if source is SyncSource.MOVIES and not tmdb_configured:
        raise ConflictError("TMDB_API_KEY is not set on the server, so films cannot be synced.")
    if await repository.advisory_lock_held(conn, _sync_lock_key(source)):
        raise ConflictError(f"A {source.value} sync is running right now; try again when it ends.")
    await jobs.start("sync", source.value)
    return JobStarted()


async def recent_sync_runs(conn: Connection, *, limit: int) -> SyncRuns:
    rows: list[dict[str, Any]] = await sync_repository.recent_runs(conn, limit)
    return SyncRuns(items=[SyncRun.model_validate(row) for row in rows])


def _sync_lock_key(source: SyncSource) -> int:
    return sync_repository.SYNC_LOCK_BASE + sync_repository.SOURCES.index(source.run_source)
