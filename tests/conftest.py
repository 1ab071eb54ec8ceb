"""Tests run against a real PostgreSQL with pgvector: the embedded server (or TEST_DATABASE_URL),
with a database built by the real migrations. Each test runs inside a transaction that is rolled
back at the end, so tests never see each other's rows."""

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from cinelibre.app import create_app, install_runtime
from cinelibre.database import migrate
from cinelibre.database.connection import Connection, open_pool, request_transaction
from cinelibre.database.embedded import open_database
from cinelibre.settings import Settings

TEST_DATABASE = "cinelibre_test"
SHARED_DATA_DIR = Path(os.environ.get("CINELIBRE_SHARED_DATA", Path(__file__).parents[2] / "shared" / "data"))


def database_url_for(server_url: str, database: str) -> str:
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{database}"))


def recreate_database(server_url: str, database: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    return database_url_for(server_url, database)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """URL of a maintenance database on the test server."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="cinelibre-test-") as data_dir:
        database = open_database(None, Path(data_dir))
        try:
            yield database_url_for(database.url, "postgres")
        finally:
            database.close()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> str:
    url = recreate_database(server_url, TEST_DATABASE)
    migrate.upgrade_to_head(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        jwt_secret_key="test-secret-that-is-long-enough-for-hs256",
        bcrypt_rounds=4,
        data_dir=tmp_path_factory.mktemp("data"),
    )


@pytest.fixture(scope="session")
async def pool(database_url: str, settings: Settings) -> AsyncIterator[AsyncConnectionPool[Connection]]:
    pool = await open_pool(database_url, settings)
    yield pool
    await pool.close()


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[Connection]:
    """A connection inside a transaction that is always rolled back."""
    connection = await psycopg.AsyncConnection.connect(database_url, row_factory=dict_row)
    async with connection, connection.transaction(force_rollback=True):
        yield connection


@pytest.fixture
def app(settings: Settings, pool: AsyncConnectionPool[Connection], conn: Connection) -> FastAPI:
    application = create_app(settings, manage_database=False)
    install_runtime(application, settings=settings, pool=pool)

    async def test_transaction() -> AsyncIterator[Connection]:
        # A savepoint per request: a failing request undoes only its own writes, as in production.
        async with conn.transaction():
            yield conn

    application.dependency_overrides[request_transaction] = test_transaction
    return application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA_DIR.is_dir():
        pytest.skip(f"MovieLens copies not found in {SHARED_DATA_DIR} (set CINELIBRE_SHARED_DATA)")
    return SHARED_DATA_DIR
