import httpx

from cinelibre import __version__
from cinelibre.app import create_app, install_runtime
from cinelibre.database.connection import open_pool


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
    app = create_app(unreachable, manage_database=False)
    pool = await open_pool("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1", unreachable)
    install_runtime(app, settings=unreachable, pool=pool)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            health = await client.get("/")
            movies = await client.get("/movies")
    finally:
        await pool.close(timeout=1)

    assert health.json()["database"] == "unreachable"
    assert health.json()["status"] == "degraded"
    assert movies.status_code == 503
    assert movies.json()["error"]["code"] == "service_unavailable"
