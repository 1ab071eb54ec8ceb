from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from cinelibre import SERVICE_NAME, __version__
from cinelibre.database.connection import database_reachable
from cinelibre.errors import NotFoundError
from cinelibre.health import service
from cinelibre.health.schemas import Liveness, Readiness, ServiceStatus
from cinelibre.search.dependencies import EmbedderDep
from cinelibre.settings import Settings

router = APIRouter(tags=["health"])
_bearer = HTTPBearer(auto_error=False)


@router.get("/")
async def service_status(request: Request) -> ServiceStatus:
    reachable = await database_reachable(request.app.state.pool)
    return ServiceStatus(
        service=SERVICE_NAME,
        version=__version__,
        status="ok" if reachable else "degraded",
        database="reachable" if reachable else "unreachable",
    )


@router.get("/health/live")
async def live() -> Liveness:
    """The process answers (for a liveness probe: it never looks at the database, so a database
    outage does not get healthy instances restarted)."""
    return Liveness()


@router.get("/health/ready", responses={503: {"model": Readiness, "description": "Not ready to take traffic."}})
async def ready(request: Request, embedder: EmbedderDep) -> Readiness:
    """Whether this instance should take traffic (for a load balancer's readiness check)."""
    readiness = await service.readiness(request.app.state.pool, embedder)
    if readiness.status == "not_ready":
        return JSONResponse(readiness.model_dump(), status_code=503)  # type: ignore[return-value]
    return readiness


@router.get("/metrics", include_in_schema=False)
async def metrics(
    request: Request,
    embedder: EmbedderDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Response:
    """Prometheus' text format."""
    settings: Settings = request.app.state.settings
    if not settings.serves_metrics:
        raise NotFoundError("Not Found")
    service.check_metrics_token(settings.metrics_token, credentials.credentials if credentials else None)
    await service.refresh_metrics(request.app.state.pool, request.app.state.read_pool, embedder)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
