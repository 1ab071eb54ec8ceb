import httpx
import pytest

from cinelibre import __version__
from cinelibre.search.embedder import Embedder, ModelUnavailableError
from tests.conftest import UNREACHABLE_DATABASE_URL, app_on, app_on_database, client_for


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


async def test_readiness_names_a_failing_model_without_the_error_behind_it(
    settings, conn, pool, tmp_path, caplog
) -> None:
    missing = tmp_path / "no-model-here"
    broken = Embedder(settings.model_copy(update={"embedding_model_path": missing}))
    with pytest.raises(ModelUnavailableError):
        broken.embed_query("anything")
    async with client_for(app_on(conn, settings, pool, broken)) as client:
        response = await client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "database": "reachable",
        "migrations": "current",
        "embedding_model": "failed: cannot be loaded (the reason is in the server log)",
    }
    assert [record.levelname for record in caplog.records if str(missing) in record.getMessage()] == ["ERROR"]


async def test_readiness_names_an_unreachable_database_and_logs_why(settings, caplog) -> None:
    not_loaded = Embedder(settings)
    async with app_on_database(UNREACHABLE_DATABASE_URL, settings, not_loaded) as app, client_for(app) as client:
        response = await client.get("/health/ready")

    assert response.status_code == 503
    assert response.json() == {
        "status": "not_ready",
        "database": "unreachable",
        "migrations": "unknown",
        "embedding_model": "loading",
    }
    assert "127.0.0.1" not in response.text
    assert any(record.getMessage().startswith("readiness: database check failed") for record in caplog.records)
