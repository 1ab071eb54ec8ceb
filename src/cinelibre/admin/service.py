from cinelibre.admin.jobs import JobLauncher
from cinelibre.admin.schemas import JobStarted, SyncRun, SyncRuns, SyncSource
from cinelibre.database import locks
from cinelibre.database.connection import Connection
from cinelibre.database.locks import AdvisoryLock
from cinelibre.errors import ConflictError
from cinelibre.sync import service as sync_service


async def start_training(conn: Connection, *, jobs: JobLauncher) -> JobStarted:
    if await locks.is_held(conn, AdvisoryLock.TRAINING):
        raise ConflictError("The models are being trained right now; try again when that run ends.")
    await jobs.start("train")
    return JobStarted()


async def start_sync(conn: Connection, *, source: SyncSource, tmdb_configured: bool, jobs: JobLauncher) -> JobStarted:
    if source is SyncSource.MOVIES and not tmdb_configured:
        raise ConflictError("TMDB_API_KEY is not set on the server, so films cannot be synced.")
    if await locks.is_held(conn, locks.sync_lock(source.run_source)):
        raise ConflictError(f"A {source.value} sync is running right now; try again when it ends.")
    await jobs.start("sync", source.value)
    return JobStarted()


async def recent_sync_runs(conn: Connection, *, limit: int) -> SyncRuns:
    rows = await sync_service.recent_runs(conn, limit)
    return SyncRuns(items=[SyncRun.model_validate(row) for row in rows])
