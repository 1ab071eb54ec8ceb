"""What each served list showed, recorded without slowing its request: the request puts one small
record on a bounded in-process queue; a background task writes what has gathered in one COPY
every EXPOSURE_FLUSH_SECONDS. A full queue or a failed write loses records, never a request, and
every lost record is counted (cinelibre_exposures_dropped)."""

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from psycopg_pool import AsyncConnectionPool

from cinelibre import metrics
from cinelibre.database.connection import Connection
from cinelibre.experiments import repository

logger = logging.getLogger(__name__)

# Old lists outside experiments are deleted at most this often, by whichever process flushes.
PRUNE_EVERY_SECONDS = 3600


@dataclass(frozen=True)
class Exposure:
    list_id: uuid.UUID
    surface: str
    user_id: int | None
    client_id: str | None
    experiment_id: int | None
    variant: str | None
    items: Sequence[tuple[str, int]]
    teams: list[int] | None  # interleaving: the team of each item
    first_position: int
    shown_at: datetime

    def row(self) -> tuple[object, ...]:
        return (
            self.list_id,
            self.surface,
            self.user_id,
            self.client_id,
            self.experiment_id,
            self.variant,
            [item_type for item_type, _ in self.items],
            [item_id for _, item_id in self.items],
            self.teams,
            self.first_position,
            self.shown_at,
        )


class ExposureLog:
    def __init__(self, *, capacity: int) -> None:
        self._pending: deque[Exposure] = deque()
        self._capacity = capacity
        self.dropped = 0
        self._pruned_at = 0.0

    def record(self, exposure: Exposure) -> None:
        """Queue one served list; never blocks, never raises."""
        if len(self._pending) >= self._capacity:
            self.dropped += 1
            metrics.exposures_dropped.labels("queue_full").inc()
            return
        self._pending.append(exposure)

    def lost_one(self) -> None:
        """Count a served list that could not even be queued (its record could not be made)."""
        self.dropped += 1
        metrics.exposures_dropped.labels("record_failed").inc()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _take(self) -> list[Exposure]:
        return [self._pending.popleft() for _ in range(len(self._pending))]

    async def flush(self, conn: Connection) -> int:
        """Write every queued list on `conn`, in the caller's transaction; how many."""
        return await self._write_batch(conn, self._take())

    async def _write_batch(self, conn: Connection, batch: list[Exposure]) -> int:
        if batch:
            await repository.write_exposures(conn, [exposure.row() for exposure in batch])
            metrics.exposures_recorded.inc(len(batch))
        return len(batch)

    async def write_forever(
        self, pool: AsyncConnectionPool[Connection], *, every_seconds: float, keep_days: int
    ) -> None:
        """Until cancelled (then once more, so a graceful stop loses nothing queued): flush every
        `every_seconds`, and now and then delete lists older than `keep_days` outside experiments."""
        try:
            while True:
                await asyncio.sleep(every_seconds)
                await self._write(pool, keep_days)
        finally:
            await asyncio.shield(self._write(pool, keep_days))

    async def _write(self, pool: AsyncConnectionPool[Connection], keep_days: int) -> None:
        prune = time.monotonic() - self._pruned_at >= PRUNE_EVERY_SECONDS
        if not self._pending and not prune:
            return
        # Taken off the queue first: lists served while this batch is written wait for the next.
        batch = self._take()
        try:
            async with pool.connection() as conn, conn.transaction():
                await self._write_batch(conn, batch)
                if prune:
                    self._pruned_at = time.monotonic()
                    await repository.delete_old_exposures(conn, days=keep_days)
        except Exception:
            self.dropped += len(batch)
            metrics.exposures_dropped.labels("write_failed").inc(len(batch))
            logger.exception("writing %s served lists failed; they are not recorded", len(batch))
