"""/health/live, /health/ready and /metrics, against a database of their own: the metrics read
committed rows (models, sync runs) through the pool, which the rolled-back test transactions
would hide."""

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from cinelibre.database import migrate
from cinelibre.database.schema_state import latest_revision
from cinelibre.search.embedder import Embedder
from cinelibre.settings import Settings
from tests.conftest import UNREACHABLE_DATABASE_URL, app_on_database, client_for, recreate_database


@pytest.fixture(scope="module")
def metrics_database_url(server_url: str) -> str:
    url = recreate_database(server_url, "cinelibre_metrics_test")
    migrate.upgrade_to_head(url)
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO recommender_models (kind, version, trained_at, ratings_seen, parameters, is_active) VALUES "
            "('biased-mf', 1, now() - interval '2 hours', 10, '{}', false), "
            "('biased-mf', 2, now() - interval '1 hour', 20, '{}', true), "
            "('ease', 1, now() - interval '3 hours', 20, '{}', true)"
        )
        conn.execute(
            "INSERT INTO sync_runs (source, started_at, finished_at, status, errors) VALUES "
            "('tmdb', '2026-11-01', '2026-11-01 00:10+00', 'finished', '[]'), "
            "('tmdb', '2026-11-02', '2026-11-02 00:20+00', 'finished', '[]'), "
            "('tmdb', '2026-11-03', '2026-11-03 00:05+00', 'finished', %s), "
            "('google_books', '2026-11-04', NULL, 'running', '[]')",
            (json.dumps([{"page": 3, "error": "HTTP 500"}]),),
        )
    return url


@pytest.fixture
async def metrics_app(metrics_database_url: str, settings: Settings, embedder: Embedder) -> AsyncIterator[FastAPI]:
    async with app_on_database(metrics_database_url, settings, embedder) as app:
        yield app


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_liveness_does_not_touch_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


async def test_ready_when_the_database_answers_with_the_current_schema(metrics_app: FastAPI, embedder) -> None:
    embedder.load()
    async with client_for(metrics_app) as http:
        response = await http.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "database": "reachable",
        "migrations": "current",
        "embedding_model": "loaded",
    }


async def test_not_ready_when_the_database_is_unreachable(settings: Settings, embedder: Embedder) -> None:
    async with app_on_database(UNREACHABLE_DATABASE_URL, settings, embedder) as app, client_for(app) as http:
        response = await http.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"
    assert response.json()["database"] == "unreachable"


async def test_not_ready_when_the_schema_is_behind(server_url: str, settings: Settings, embedder: Embedder) -> None:
    url = recreate_database(server_url, "cinelibre_behind_test")
    migrate.upgrade_to_head(url)
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0006_sync'")
    async with app_on_database(url, settings, embedder) as app, client_for(app) as http:
        response = await http.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["migrations"] == f"at 0006_sync, expected {latest_revision()}"


async def test_a_model_that_cannot_load_is_reported_without_failing_readiness(
    metrics_app: FastAPI, settings: Settings, tmp_path
) -> None:
    broken = Embedder(settings.model_copy(update={"embedding_model_path": tmp_path / "missing"}))
    with pytest.raises(Exception):  # noqa: B017 - whatever the runtime raises for a missing file
        broken.load()
    metrics_app.state.embedder = broken
    async with client_for(metrics_app) as http:
        response = await http.get("/health/ready")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["embedding_model"].startswith("failed: ")


async def test_metrics_count_requests_by_route_template_and_status(metrics_app: FastAPI) -> None:
    async with client_for(metrics_app) as http:
        before = await scrape(http)
        for movie_id in (999_991, 999_992, 999_993):
            await http.get(f"/movies/{movie_id}")
        await http.get("/movies", params={"limit": 1})
        await http.get("/no/such/path")
        after = await scrape(http)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("cinelibre_http_requests_total", method="GET", route="/movies/{movie_id}", status="404") == 3
    assert grew("cinelibre_http_requests_total", method="GET", route="/movies", status="200") == 1
    assert grew("cinelibre_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert grew("cinelibre_http_request_duration_seconds_count", method="GET", route="/movies/{movie_id}") == 3
    assert value(after, "cinelibre_http_requests_in_progress") == 1  # the scrape itself


async def test_metrics_report_models_sync_runs_and_pool(metrics_app: FastAPI) -> None:
    with psycopg.connect(metrics_app.state.pool.conninfo) as conn:
        rating_model, ranking_model = conn.execute(
            "SELECT id FROM recommender_models WHERE is_active ORDER BY kind"
        ).fetchall()
    async with client_for(metrics_app) as http:
        samples = await scrape(http)

    assert value(samples, "cinelibre_model_version", kind="rating") == rating_model[0]
    assert value(samples, "cinelibre_model_version", kind="ranking") == ranking_model[0]
    assert 3600 <= value(samples, "cinelibre_model_age_seconds", kind="rating") < 3660
    assert value(samples, "cinelibre_sync_runs", source="tmdb", status="finished") == 2
    assert value(samples, "cinelibre_sync_runs", source="tmdb", status="finished_with_errors") == 1
    assert value(samples, "cinelibre_sync_runs", source="google_books", status="running") == 1
    assert (
        value(samples, "cinelibre_sync_last_success_timestamp_seconds", source="tmdb") == 1_793_578_800
    )  # 2026-11-02 00:20 UTC
    assert value(samples, "cinelibre_db_pool_connections", pool="primary", state="size") >= 1
    assert value(samples, "cinelibre_db_pool_connections", pool="primary", state="waiting") == 0
    assert value(samples, "process_resident_memory_bytes") > 0


async def test_metrics_can_be_turned_off(metrics_database_url: str, settings: Settings, embedder: Embedder) -> None:
    quiet = settings.model_copy(update={"metrics_enabled": False})
    async with app_on_database(metrics_database_url, quiet, embedder) as app, client_for(app) as http:
        response = await http.get("/metrics")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_every_metric_the_grafana_dashboard_queries_is_exported(metrics_app: FastAPI) -> None:
    dashboard = json.loads((Path(__file__).parents[1] / "deploy" / "grafana-dashboard.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        for name in re.findall(r"\bcinelibre_[a-z_]+", target["expr"])
    }
    async with client_for(metrics_app) as http:
        text = (await http.get("/metrics")).text
    # A counter's TYPE line names it with its _total; a histogram's series add their own suffixes.
    exported = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.MULTILINE):
        suffixes = ["_bucket", "_count", "_sum"] if kind == "histogram" else [""]
        exported.update(name + suffix for suffix in suffixes)

    assert {
        "cinelibre_experiment_exposures_total",
        "cinelibre_experiment_interactions_total",
        "cinelibre_exposures_dropped_total",
    } <= queried
    assert queried - exported == set()
