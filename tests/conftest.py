"""Tests run against a real PostgreSQL with pgvector: the embedded server (or TEST_DATABASE_URL),
with a database built by the real migrations. Each test runs inside a transaction that is rolled
back at the end, so tests never see each other's rows."""

import fcntl
import os
import pickle
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
import redis
from fastapi import FastAPI
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from cinelibre.app import create_app, install_runtime
from cinelibre.database import migrate
from cinelibre.database.connection import (
    Connection,
    LazyConnection,
    lazy_read_transaction,
    open_pool,
    prepare_connection,
    read_transaction,
    request_transaction,
)
from cinelibre.database.embedded import open_database
from cinelibre.demo import service as demo_service
from cinelibre.search import repository as search_repository
from cinelibre.search import service as search_service
from cinelibre.search.embedder import Embedder
from cinelibre.settings import Settings
from cinelibre.types import ItemType

TEST_DATABASE = "cinelibre_test"
SHARED_DATA_DIR = Path(os.environ.get("CINELIBRE_SHARED_DATA", Path(__file__).parents[2] / "shared" / "data"))


def worker_database(name: str) -> str:
    """The name a test database has in this pytest-xdist worker. Each worker starts an embedded
    server of its own; on a server shared through TEST_DATABASE_URL the suffix keeps the workers'
    databases apart."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"{name}_{worker}" if worker else name


def database_url_for(server_url: str, database: str) -> str:
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{worker_database(database)}"))


def recreate_database(server_url: str, database: str, *, template: str | None = None) -> str:
    """An empty database (or a copy of `template`) named `database` in this worker."""
    copied = f' TEMPLATE "{worker_database(template)}"' if template else ""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{worker_database(database)}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{worker_database(database)}"{copied}')
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
            yield urlunsplit(urlsplit(database.url)._replace(path="/postgres"))
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
        embedding_threads=2,
        data_dir=tmp_path_factory.mktemp("data"),
        # Property tests send hundreds of searches and recommendation requests from one address;
        # tests/test_rate_limits.py sets the limits it is about.
        search_rate_limit="100000/minute",
        recommendation_rate_limit="100000/minute",
    )


@pytest.fixture(scope="session")
async def pool(database_url: str, settings: Settings) -> AsyncIterator[AsyncConnectionPool[Connection]]:
    pool = await open_pool(database_url, settings)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
def embedder(settings: Settings) -> Embedder:
    """The real bundled model, loaded once for the whole run."""
    return Embedder(settings)


@asynccontextmanager
async def rolled_back(url: str) -> AsyncIterator[Connection]:
    """A connection inside a transaction that is always rolled back."""
    connection = await psycopg.AsyncConnection.connect(url, row_factory=dict_row)
    await prepare_connection(connection)
    async with connection, connection.transaction(force_rollback=True):
        yield connection


def app_on(
    connection: Connection, settings: Settings, pool: AsyncConnectionPool[Connection], embedder: Embedder
) -> FastAPI:
    application = create_app(settings, manage_database=False)
    install_runtime(application, settings=settings, pool=pool, embedder=embedder)

    async def test_transaction() -> AsyncIterator[Connection]:
        # A savepoint per request: a failing request undoes only its own writes, as in production.
        async with connection.transaction():
            yield connection

    async def test_lazy_transaction() -> AsyncIterator[LazyConnection]:
        async with connection.transaction():
            yield LazyConnection(None, connection=connection)

    application.dependency_overrides[request_transaction] = test_transaction
    application.dependency_overrides[read_transaction] = test_transaction
    application.dependency_overrides[lazy_read_transaction] = test_lazy_transaction
    return application


UNREACHABLE_DATABASE_URL = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"


@asynccontextmanager
async def app_on_database(url: str, settings: Settings, embedder: Embedder | None = None) -> AsyncIterator[FastAPI]:
    """An app on a pool of its own to the database at `url`: for what reads committed rows, or a
    database that is not there, which the rolled-back test transaction cannot show."""
    application = create_app(settings, manage_database=False)
    pool = await open_pool(url, settings)
    install_runtime(application, settings=settings, pool=pool, embedder=embedder)
    try:
        yield application
    finally:
        await pool.close(timeout=1)


@asynccontextmanager
async def client_for(application: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[Connection]:
    async with rolled_back(database_url) as connection:
        yield connection


@pytest.fixture
def app(settings: Settings, pool: AsyncConnectionPool[Connection], conn: Connection, embedder: Embedder) -> FastAPI:
    return app_on(conn, settings, pool, embedder)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as http:
        yield http


@pytest.fixture(scope="session")
async def catalogue_database_url(
    server_url: str, settings: Settings, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A second database holding the demo catalogue, embedded, for search and similarity tests.
    The first pytest-xdist worker to need it embeds the catalogue and leaves the vectors in the
    run's shared temporary folder; the others store those (each checked against its item's text,
    as any stored vector is) instead of running the model over the same 690 texts again."""
    url = recreate_database(server_url, "cinelibre_catalogue_test")
    migrate.upgrade_to_head(url)
    connection = await psycopg.AsyncConnection.connect(url, row_factory=dict_row)
    async with connection, connection.transaction():
        await demo_service.load(connection)
    pool = await open_pool(url, settings)
    # Under pytest-xdist each worker's folder is in one made for this run, which they share.
    shared = (
        tmp_path_factory.getbasetemp().parent
        if os.environ.get("PYTEST_XDIST_WORKER")
        else tmp_path_factory.getbasetemp()
    )
    try:
        with (shared / "demo-vectors.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the other workers wait for the first one's vectors
            vectors = shared / "demo-vectors.pickle"
            if vectors.exists():
                await _store_vectors(pool, embedder, pickle.loads(vectors.read_bytes()))
            else:
                await search_service.embed_pending(pool, embedder)
                vectors.write_bytes(pickle.dumps(await _stored_vectors(pool)))
    finally:
        await pool.close()
    return url


async def _stored_vectors(pool: AsyncConnectionPool[Connection]) -> dict[ItemType, list[tuple[int, str, object]]]:
    async with pool.connection() as conn:
        return {
            item_type: [
                (row["id"], row["content_hash"], row["embedding"])
                for row in await (
                    await conn.execute(
                        sql.SQL("SELECT {key} AS id, content_hash, embedding FROM {vectors}").format(
                            key=search_repository.VECTOR_KEYS[item_type],
                            vectors=search_repository.VECTOR_TABLES[item_type],
                        )
                    )
                ).fetchall()
            ]
            for item_type in ItemType
        }


async def _store_vectors(
    pool: AsyncConnectionPool[Connection], embedder: Embedder, vectors: dict[ItemType, list[tuple[int, str, object]]]
) -> None:
    async with pool.connection() as conn, conn.transaction():
        for item_type, rows in vectors.items():
            stored = await search_repository.store_embeddings(conn, item_type, model=embedder.model_name, rows=rows)
            assert stored == len(rows), f"{item_type.value}: {stored} of {len(rows)} vectors matched their text"
        await search_repository.refresh_vocabulary(conn)


@pytest.fixture
async def catalogue_conn(catalogue_database_url: str) -> AsyncIterator[Connection]:
    async with rolled_back(catalogue_database_url) as connection:
        yield connection


@pytest.fixture
async def catalogue_client(
    catalogue_conn: Connection, settings: Settings, pool: AsyncConnectionPool[Connection], embedder: Embedder
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app_on(catalogue_conn, settings, pool, embedder)) as http:
        yield http


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA_DIR.is_dir():
        pytest.skip(f"MovieLens copies not found in {SHARED_DATA_DIR} (set CINELIBRE_SHARED_DATA)")
    return SHARED_DATA_DIR


def empty_redis_database(url: str, what: str) -> str:
    """Flush the Redis database at `url` for one test, or skip it saying `what` goes untested."""
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError as error:
        pytest.skip(f"Redis not reachable at {url} ({error}); {what} not tested")
    finally:
        client.close()
    return url
