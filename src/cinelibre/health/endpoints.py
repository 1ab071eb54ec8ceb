from fastapi import APIRouter, Request
from pydantic import BaseModel

from cinelibre import SERVICE_NAME, __version__
from cinelibre.database.connection import database_reachable

router = APIRouter(tags=["health"])


class ServiceStatus(BaseModel):
    service: str
    version: str
    status: str
    database: str


@router.get("/")
async def service_status(request: Request) -> ServiceStatus:
    reachable = await database_reachable(request.app.state.pool)
    return ServiceStatus(
        service=SERVICE_NAME,
        version=__version__,
        status="ok" if reachable else "degraded",
        database="reachable" if reachable else "unreachable",
    )
