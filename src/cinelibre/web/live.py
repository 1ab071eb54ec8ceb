"""Live updates: each API process listens on one PostgreSQL connection for the users whose ratings
or views changed (database/notifications.py), wherever that change was written, and sends the
users it has sockets for their new recommendations.

Memory stays bounded whatever the clients do: a socket holds at most one message waiting (a newer
list replaces an unsent older one), and a socket that does not take a message within
`send_timeout` seconds is closed."""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from cinelibre.cache import Cache
from cinelibre.database.connection import NETWORK_LIMITS, Connection
from cinelibre.database.notifications import Channel
from cinelibre.experiments.exposures import ExposureLog
from cinelibre.experiments.schemas import Surface
from cinelibre.experiments.service import Caller, RunningExperiments, serve_list
from cinelibre.recommend import service as recommend_service
from cinelibre.recommend.serving import ModelStore
from cinelibre.settings import Settings

logger = logging.getLogger(__name__)
# GET /recommendations/personalized's defaults: a socket gets the list that request would.
PERSONALIZED_LIMIT = 20
PERSONALIZED_SKIP_VIEWED = True
SEND_TIMEOUT_SECONDS = 10.0
# Waits between attempts to listen again after the connection dropped, growing to the last.
RECONNECT_DELAYS_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)

ComputeMessage = Callable[[int], Awaitable[str]]


class SlowClientError(Exception):
    """The client did not take a message within the send timeout."""


class Outbox:
    """What one socket has still to send: at most one message."""

    def __init__(self, send: Callable[[str], Awaitable[None]], *, send_timeout: float = SEND_TIMEOUT_SECONDS) -> None:
        self._send = send
        self._send_timeout = send_timeout
        self.pending: str | None = None
        self._waiting = asyncio.Event()

    def offer(self, message: str) -> None:
        self.pending = message  # an unsent older list is worth nothing once a newer one exists
        self._waiting.set()

    async def deliver_forever(self) -> None:
        """Send what is offered, newest only; raises SlowClientError when a send takes too long."""
        while True:
            await self._waiting.wait()
            self._waiting.clear()
            message, self.pending = self.pending, None
            if message is None:
                continue
            try:
                async with asyncio.timeout(self._send_timeout):
                    await self._send(message)
            except TimeoutError:
                raise SlowClientError(f"a message waited more than {self._send_timeout:g} s to be sent") from None


class LiveUpdates:
    """This process's sockets by user, and the listener that refreshes them."""

    def __init__(self, compute_message: ComputeMessage) -> None:
        self._compute_message = compute_message
        self._outboxes: dict[int, set[Outbox]] = {}
        self._refreshing: dict[int, asyncio.Task[None]] = {}
        self._changed_again: set[int] = set()

    @property
    def sockets(self) -> int:
        return sum(len(outboxes) for outboxes in self._outboxes.values())

    @property
    def pending_messages(self) -> int:
        return sum(outbox.pending is not None for outboxes in self._outboxes.values() for outbox in outboxes)

    def sockets_of(self, user_id: int) -> int:
        return len(self._outboxes.get(user_id, ()))

    def subscribe(self, user_id: int, outbox: Outbox) -> None:
        self._outboxes.setdefault(user_id, set()).add(outbox)

    def unsubscribe(self, user_id: int, outbox: Outbox) -> None:
        outboxes = self._outboxes.get(user_id, set())
        outboxes.discard(outbox)
        if not outboxes:
            self._outboxes.pop(user_id, None)

    def user_changed(self, user_id: int) -> None:
        """Refresh the user's sockets; changes that arrive while a list is being made are
        answered by one more list, not one per change."""
        if user_id not in self._outboxes:
            return
        if user_id in self._refreshing:
            self._changed_again.add(user_id)
            return
        task = asyncio.create_task(self._refresh(user_id))
        self._refreshing[user_id] = task
        task.add_done_callback(lambda _: self._refreshing.pop(user_id, None))

    async def _refresh(self, user_id: int) -> None:
        while True:
            self._changed_again.discard(user_id)
            try:
                message = await self._compute_message(user_id)
            except Exception:
                logger.exception("recommendations for a live-update socket failed; the next change tries again")
                return
            for outbox in self._outboxes.get(user_id, ()):
                outbox.offer(message)
            if user_id not in self._changed_again:
                return

    async def listen_forever(self, conninfo: str) -> None:
        """Listen on one connection of its own (autocommit: LISTEN takes effect at once), and
        again after it drops. Changes missed while it was down are made up for by refreshing
        every socket once it listens again."""
        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True, **NETWORK_LIMITS) as conn:
                    await conn.execute(f"LISTEN {Channel.USER_ACTIVITY.value}")
                    if failures:
                        logger.info("listening for live updates again")
                        for user_id in list(self._outboxes):
                            self.user_changed(user_id)
                    failures = 0
                    async for notification in conn.notifies():
                        if notification.payload.isdigit():
                            self.user_changed(int(notification.payload))
            except psycopg.Error as error:
                delay = RECONNECT_DELAYS_SECONDS[min(failures, len(RECONNECT_DELAYS_SECONDS) - 1)]
                failures += 1
                logger.warning("live-update listener lost its connection (%s); listening again in %g s", error, delay)
                await asyncio.sleep(delay)


def recommendations_computer(
    pool: AsyncConnectionPool[Connection],
    cache: Cache,
    models: ModelStore,
    settings: Settings,
    model: str,
    *,
    running: RunningExperiments,
    exposures: ExposureLog,
) -> ComputeMessage:
    """The live-update message for a user: the list GET /recommendations/personalized answers with
    its defaults, by the same cached service call and in the same experiment variant, with its own
    list_id, read from the primary (a replica might not yet hold the change that caused it)."""

    async def compute(user_id: int) -> str:
        async with pool.connection() as conn, conn.transaction():
            personalized = recommend_service.personalized_lists(
                conn,
                cache,
                models=models,
                user_id=user_id,
                item_type=None,
                model=model,
                skip_viewed=PERSONALIZED_SKIP_VIEWED,
                ttl_seconds=settings.personalized_cache_seconds,
                popular_ttl_seconds=settings.popular_cache_seconds,
            )

            async def connect() -> Connection:
                return conn

            body = await serve_list(
                surface=Surface.PERSONALIZED,
                caller=Caller(user_id=user_id, client_id=None),
                skip=0,
                limit=PERSONALIZED_LIMIT,
                running=running,
                exposures=exposures,
                connect=connect,
                compute=personalized,
            )
        served = json.loads(body)
        return recommendations_message(served["items"], list_id=served["list_id"], experiment=served.get("experiment"))

    return compute


def recommendations_message(
    items: list[dict[str, Any]], *, list_id: str | None = None, experiment: dict[str, Any] | None = None
) -> str:
    """A live list as the socket sends it: its list_id (and experiment) as the HTTP list carries them."""
    message: dict[str, Any] = {"type": "recommendations"}
    if list_id is not None:
        message["list_id"] = list_id
    if experiment is not None:
        message["experiment"] = experiment
    return json.dumps({**message, "items": items}, separators=(",", ":"))
