"""Readiness, and the shared-state metrics read at scrape time."""

import asyncio
import logging
import secrets

import psycopg
import psycopg_pool
from psycopg_pool import AsyncConnectionPool
from pydantic import SecretStr

from cinelibre import metrics
from cinelibre.database.connection import Connection, pool_statistics
from cinelibre.database.schema_state import latest_revision
from cinelibre.errors import AuthenticationError
from cinelibre.health import repository
from cinelibre.health.schemas import Readiness
from cinelibre.recommend.training import ITEM_MODEL, RATING_MODEL
from cinelibre.search.embedder import Embedder

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0
EMBEDDING_MODEL_FAILED = "failed: cannot be loaded (the reason is in the server log)"
MODEL_KIND_LABELS = {RATING_MODEL: "rating", ITEM_MODEL: "ranking"}


async def readiness(pool: AsyncConnectionPool[Connection], embedder: Embedder) -> Readiness:
    """Ready to take traffic: the database answers and its schema is this release's. The embedding
    model is reported but does not gate: it loads in the background after start (a search that
    comes first waits for it), and only search needs it."""
    database, migrations = "unreachable", "unknown"
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), pool.connection(timeout=CHECK_TIMEOUT_SECONDS) as conn:
            revision = await repository.schema_revision(conn)
        database = "reachable"
        migrations = "current" if revision == latest_revision() else f"at {revision}, expected {latest_revision()}"
    except (psycopg.Error, psycopg_pool.PoolTimeout, TimeoutError) as error:
        logger.warning("readiness: database check failed: %s", error)
    if embedder.loaded:
        embedding = "loaded"
    elif embedder.load_error is not None:
        # The error itself (paths, library messages) went to the log when loading failed; the
        # probe, which anyone may call, learns only which part is failing.
        embedding = EMBEDDING_MODEL_FAILED
    else:
        embedding = "loading"
    ready = database == "reachable" and migrations == "current"
    status = "not_ready" if not ready else "ready" if embedding == "loaded" else "degraded"
    return Readiness(status=status, database=database, migrations=migrations, embedding_model=embedding)


def check_metrics_token(expected: SecretStr | None, sent: str | None) -> None:
    """With METRICS_TOKEN set, a scrape must send it as its Bearer token (compared in constant
    time, so the answer's timing tells nothing about how much of a guess was right)."""
    if expected is None:
        return
    if sent is None or not secrets.compare_digest(sent.encode(), expected.get_secret_value().encode()):
        raise AuthenticationError("Send the metrics token: 'Authorization: Bearer <METRICS_TOKEN>'.")


async def refresh_metrics(
    pool: AsyncConnectionPool[Connection], read_pool: AsyncConnectionPool[Connection], embedder: Embedder
) -> None:
    """Set the gauges that describe shared state. A database that does not answer leaves the last
    values in place; the request metrics still go out."""
    pools = {"primary": pool} | ({"read": read_pool} if read_pool is not pool else {})
    for name, each in pools.items():
        for state, value in pool_statistics(each).items():
            metrics.db_pool_connections.labels(name, state).set(value)
    metrics.embedding_model_loaded.set(1 if embedder.loaded else 0)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), pool.connection(timeout=CHECK_TIMEOUT_SECONDS) as conn:
            models = await repository.active_models(conn)
            outcomes = await repository.sync_run_outcomes(conn)
    except (psycopg.Error, psycopg_pool.PoolTimeout, TimeoutError) as error:
        logger.warning("metrics: database not read: %s", error)
        return
    for model in models:
        kind = MODEL_KIND_LABELS.get(model["kind"], model["kind"])
        metrics.model_version.labels(kind).set(model["id"])
        metrics.model_age.labels(kind).set(model["age_seconds"])
    for row in outcomes:
        metrics.sync_runs.labels(row["source"], row["outcome"]).set(row["runs"])
        if row["last_success"] is not None:
            metrics.sync_last_success.labels(row["source"]).set(row["last_success"])
