"""The FastAPI application and what it needs while it runs."""

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

from anyio import to_thread
from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import Depends, FastAPI
from psycopg_pool import AsyncConnectionPool
from starlette.middleware.cors import CORSMiddleware

from cinelibre import SERVICE_NAME, __version__, metrics
from cinelibre.accounts.endpoints import router as accounts_router
from cinelibre.admin.endpoints import router as admin_router
from cinelibre.admin.jobs import ChildProcessLauncher
from cinelibre.api_docs import install_api_docs
from cinelibre.auth.endpoints import router as auth_router
from cinelibre.auth.rate_limits import open_rate_limiter
from cinelibre.auth.security import PasswordHasher, TokenCodec, resolve_jwt_secret
from cinelibre.cache import Cache, open_cache
from cinelibre.catalog.endpoints import router as catalog_router
from cinelibre.database import schema_state
from cinelibre.database.connection import Connection, open_pool
from cinelibre.database.embedded import open_database
from cinelibre.demo import service as demo_service
from cinelibre.errors import install_error_handlers
from cinelibre.experiments.dependencies import CLIENT_ID_HEADER
from cinelibre.experiments.endpoints import lists_router
from cinelibre.experiments.endpoints import router as experiments_router
from cinelibre.experiments.exposures import ExposureLog
from cinelibre.experiments.service import RunningExperiments
from cinelibre.health.endpoints import router as health_router
from cinelibre.imports.endpoints import IMPORTS_PATH, MAX_UPLOAD_BODY_BYTES
from cinelibre.imports.endpoints import router as imports_router
from cinelibre.interactions.endpoints import router as interactions_router
from cinelibre.logs import REQUEST_ID_HEADER, configure_logging
from cinelibre.memory import limit_malloc_arenas
from cinelibre.middleware import (
    BodySizeLimit,
    HeadAsGet,
    RequestDeadline,
    RequestHeadLimit,
    RequestMetrics,
    SecurityHeaders,
)
from cinelibre.query_parameters import reject_unknown_query_parameters
from cinelibre.ratings.endpoints import router as ratings_router
from cinelibre.recommend import training
from cinelibre.recommend.endpoints import router as recommend_router
from cinelibre.recommend.serving import ModelStore
from cinelibre.search import service as search_service
from cinelibre.search.embedder import Embedder
from cinelibre.search.endpoints import router as search_router
from cinelibre.settings import Settings, get_settings
from cinelibre.web import service as web_service
from cinelibre.web.endpoints import router as web_router
from cinelibre.web.live import LiveUpdates, recommendations_computer
from cinelibre.web.pages import WebAppPages

logger = logging.getLogger(__name__)
# What uvicorn exits with when the application does not start.
STARTUP_FAILURE_EXIT_CODE = 3
OPENAPI_PATH = "/openapi.json"


def install_runtime(
    app: FastAPI,
    *,
    settings: Settings,
    pool: AsyncConnectionPool[Connection],
    read_pool: AsyncConnectionPool[Connection] | None = None,
    embedder: Embedder | None = None,
    cache: Cache | None = None,
) -> None:
    """Put on app.state what the routes read: the pools, the cache, the embedder, the auth helpers
    and the launcher of admin jobs."""
    app.state.settings = settings
    app.state.pool = pool
    app.state.read_pool = read_pool or pool
    app.state.cache = cache or open_cache(settings)
    app.state.embedder = embedder or Embedder(settings)
    # The served model versions as arrays, loaded by the first request after each training run.
    app.state.model_store = ModelStore()
    app.state.running_experiments = RunningExperiments(settings.experiments_refresh_seconds)
    app.state.exposure_log = ExposureLog(capacity=settings.exposure_queue_size)
    app.state.token_codec = TokenCodec(
        secret=resolve_jwt_secret(settings),
        lifetime=timedelta(minutes=settings.access_token_expire_minutes),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    app.state.password_hasher = PasswordHasher(rounds=settings.bcrypt_rounds)
    app.state.rate_limiter = open_rate_limiter(settings)
    app.state.job_launcher = ChildProcessLauncher(str(pool.conninfo))
    app.state.live_updates = LiveUpdates(
        recommendations_computer(
            pool,
            app.state.cache,
            app.state.model_store,
            settings,
            app.state.embedder.model_name,
            running=app.state.running_experiments,
            exposures=app.state.exposure_log,
        )
    )
    if settings.redis_url:
        logger.info("caches and rate limits shared through Redis at %s", settings.redis_url)
    if not settings.rate_limits_enabled:
        logger.warning("RATE_LIMITS=off: registering and logging in are not rate limited")


async def _prepare_search(pool: AsyncConnectionPool[Connection], embedder: Embedder, settings: Settings) -> None:
    """After start-up, without delaying it: load the model and embed what is new or changed."""
    try:
        async with pool.connection() as conn:
            status = await search_service.embedding_status(conn, model=embedder.model_name)
        if status.other_model:
            logger.warning(
                "%s items were embedded by %s, not by the configured EMBEDDING_MODEL %s: semantic search "
                "ignores those vectors until they are embedded again (`cinelibre embed`, or on this start).",
                status.other_model,
                ", ".join(status.other_models),
                embedder.model_name,
            )
        await to_thread.run_sync(embedder.load)
        if settings.embed_on_start:
            run = await search_service.embed_pending(pool, embedder)
            if run.embedded:
                logger.info("embedded %s new or changed items with %s", run.embedded, embedder.model_name)
    except Exception:
        logger.exception("preparing semantic search failed; the API keeps serving")


async def _retrain_when_due(
    pool: AsyncConnectionPool[Connection], jobs: ChildProcessLauncher, settings: Settings
) -> None:
    """Every so often, if enough new ratings arrived, train a new rating model in a child process
    (`cinelibre train`): the API keeps its memory and event loop, and the training lock makes
    sure only one instance trains."""
    while True:
        await asyncio.sleep(settings.retrain_check_seconds)
        try:
            async with pool.connection() as conn:
                due = await training.retraining_due(conn, min_new_ratings=settings.retrain_after_new_ratings)
            if due:
                await jobs.run("train")
        except Exception:
            logger.exception("background retraining failed; the current model keeps serving")


async def _stop(background: list[asyncio.Task[None]], jobs: ChildProcessLauncher) -> None:
    """Cancel the background tasks and wait until they have ended, so none of them still uses the
    pools or the database when those close; child jobs are stopped the same way."""
    for task in background:
        task.cancel()
    await asyncio.gather(*background, return_exceptions=True)
    await jobs.stop_all()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    settings.check_database_configuration()
    database = await to_thread.run_sync(open_database, settings.database_url, settings.data_dir)
    if database.is_embedded:
        logger.info("embedded PostgreSQL running; connect with: psql '%s'", database.url)
    try:
        await to_thread.run_sync(schema_state.ensure_current, database.url)
        pool = await open_pool(database.url, settings)
        read_pool = (
            await open_pool(settings.database_read_url, settings, name="read") if settings.database_read_url else None
        )
        try:
            install_runtime(app, settings=settings, pool=pool, read_pool=read_pool)
            if settings.load_demo_catalogue:
                async with pool.connection() as conn, conn.transaction():
                    await demo_service.load_if_empty(conn)
            background = [
                asyncio.create_task(_prepare_search(pool, app.state.embedder, settings)),
                asyncio.create_task(_retrain_when_due(pool, app.state.job_launcher, settings)),
                asyncio.create_task(metrics.watch_event_loop_lag()),
                asyncio.create_task(app.state.live_updates.listen_forever(str(pool.conninfo))),
                asyncio.create_task(
                    app.state.exposure_log.write_forever(
                        pool,
                        every_seconds=settings.exposure_flush_seconds,
                        keep_days=settings.exposure_retention_days,
                    )
                ),
            ]
            try:
                yield
            finally:
                await _stop(background, app.state.job_launcher)
        finally:
            await app.state.cache.close()
            await app.state.rate_limiter.close()
            if read_pool is not None:
                await read_pool.close()
            await pool.close()
    finally:
        await to_thread.run_sync(database.close)


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> FastAPI:
    """`manage_database=False` leaves starting the database, install_runtime() and logging to the
    caller (tests). Gunicorn calls this with no arguments: `cinelibre.app:create_app()`."""
    settings = settings or get_settings()
    if manage_database:
        configure_logging(settings)
        limit_malloc_arenas()
    app = FastAPI(
        title=SERVICE_NAME,
        version=__version__,
        summary="Ratings, search and recommendations for movies and books.",
        lifespan=_lifespan if manage_database else None,
        # Without the schema nothing documents the API: /openapi.json, /docs and /redoc answer 404.
        openapi_url=OPENAPI_PATH if settings.serves_api_docs else None,
        # FastAPI's own pages load their scripts from CDNs; api_docs.py serves them offline.
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(reject_unknown_query_parameters)],
    )
    if settings.serves_api_docs:
        install_api_docs(app, openapi_path=OPENAPI_PATH)
    app.state.settings = settings
    install_error_handlers(app)
    # Added inside out: the request id is set first, so the metrics' access line and everything
    # below carry it.
    if settings.web_app_enabled:
        # Innermost: it sees HEAD as GET, and its pages get the security headers (its own CSP).
        app.add_middleware(WebAppPages, dist_dir=web_service.dist_dir(settings.web_app_dir))
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_request_body_bytes,
        # A history file may be up to 20 MB; every other body keeps MAX_REQUEST_BODY_BYTES.
        larger_limits={IMPORTS_PATH: max(MAX_UPLOAD_BODY_BYTES, settings.max_request_body_bytes)},
    )
    app.add_middleware(RequestDeadline, seconds=settings.request_timeout_seconds)
    # Outside the deadline, so that its 503 to a HEAD has no body either.
    app.add_middleware(HeadAsGet)
    app.add_middleware(RequestMetrics)
    app.add_middleware(CorrelationIdMiddleware, header_name=REQUEST_ID_HEADER)
    # Before anything reads the URL or the headers (request ids, tokens, routing, the access line).
    app.add_middleware(
        RequestHeadLimit,
        max_url_bytes=settings.max_request_url_bytes,
        max_header_bytes=settings.max_request_header_bytes,
    )
    if settings.cors_origins:
        # Outside the body limit and the routes, so their error answers are readable cross-origin too.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER, CLIENT_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
            max_age=600,
        )
    app.add_middleware(SecurityHeaders, strict_transport_security=settings.environment == "production")
    routers = (health_router, auth_router, accounts_router, catalog_router, ratings_router, interactions_router)
    features = (imports_router, admin_router, experiments_router, lists_router, search_router, recommend_router)
    for router in (*routers, *features, web_router):
        app.include_router(router)
    return app


def ready_message(settings: Settings, host: str, port: int) -> str:
    address = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    if settings.serves_api_docs:
        return f"CineLibre is ready on {address} — API docs at {address}/docs"
    return f"CineLibre is ready on {address} — API docs are off (API_DOCS_ENABLED=true serves them at /docs)"


def serve_forever(settings: Settings, listening: socket.socket) -> None:
    """`cinelibre serve`: uvicorn in this process until Ctrl-C, on the socket the command bound
    before anything started (so that a taken port is reported at once), with our logging and
    access line instead of uvicorn's, and one line once the API answers. (Production runs
    gunicorn with the same create_app.)"""
    import uvicorn

    host, port = listening.getsockname()[:2]

    class AnnouncingServer(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                logger.info(ready_message(settings, host, port))

    config = uvicorn.Config(
        create_app(settings),  # which sets up logging
        log_level=settings.log_level,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    server = AnnouncingServer(config)
    # uvicorn stops on Ctrl-C and then raises it again; stopping is what the user asked for.
    with suppress(KeyboardInterrupt):
        server.run(sockets=[listening])
    if not server.started:
        raise SystemExit(STARTUP_FAILURE_EXIT_CODE)
