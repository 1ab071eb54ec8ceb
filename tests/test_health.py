import httpx

from cinelibre import __version__
from tests.conftest import UNREACHABLE_DATABASE_URL, app_on_database, client_for


async def test_health_reports_service_version_and_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/")

    assert response.status_code == 200
    assert response.json() == {
        "service": "CineLibre",
        "version": __version__,
        "status": "ok",
        "database": "reachable",
    }


async def test_health_says_when_the_database_is_unreachable(settings) -> None:
    unreachable = settings.model_copy(update={"database_pool_timeout_seconds": 0.5})
    async with app_on_database(UNREACHABLE_DATABASE_URL, unreachable) as app, client_for(app) as client:
        health = await client.get("/")
        movies = await client.get("/movies")

    assert health.json()["database"] == "unreachable"
    assert health.json()["status"] == "degraded"
    assert movies.status_code == 503
    assert movies.json()["error"]["code"] == "service_unavailable"
