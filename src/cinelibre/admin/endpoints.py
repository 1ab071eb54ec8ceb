from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from cinelibre.admin import service
from cinelibre.admin.jobs import JobLauncher
from cinelibre.admin.schemas import JobStarted, SyncRuns, SyncSource
from cinelibre.auth.dependencies import admin_user
from cinelibre.database.connection import DbConnection
from cinelibre.errors import ErrorResponse

# Every route here needs an administrator's token: 401 without a token, 403 for anyone else.
router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(admin_user)],
    responses={
        403: {"model": ErrorResponse, "description": "The caller is not an administrator."},
        409: {"model": ErrorResponse, "description": "That job is running already."},
    },
)


async def get_job_launcher(request: Request) -> JobLauncher:
    return request.app.state.job_launcher


Jobs = Annotated[JobLauncher, Depends(get_job_launcher)]


@router.post("/retrain", status_code=status.HTTP_202_ACCEPTED)
async def retrain(conn: DbConnection, jobs: Jobs) -> JobStarted:
    """Start `cinelibre train` in a child process; the new models serve once it finishes."""
    return await service.start_training(conn, jobs=jobs)


@router.get("/sync/runs")
async def sync_runs(conn: DbConnection, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> SyncRuns:
    """The most recent catalogue sync runs, newest first, with their counts."""
    return await service.recent_sync_runs(conn, limit=limit)


@router.post("/sync/{source}", status_code=status.HTTP_202_ACCEPTED)
async def start_sync(source: SyncSource, conn: DbConnection, jobs: Jobs, request: Request) -> JobStarted:
    """Start `cinelibre sync movies` (TMDB) or `cinelibre sync books` (Google Books) in a child process."""
    tmdb_configured = request.app.state.settings.tmdb_api_key is not None
    return await service.start_sync(conn, source=source, tmdb_configured=tmdb_configured, jobs=jobs)
