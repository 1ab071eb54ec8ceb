"""Real deadlocks against a rating write, staged step by step between the rating's connection and
other transactions that hold the rows it needs: the first is retried inside the request and the
rating lands with its film's aggregates exact; a second one answers 409 with nothing written.

A rating statement locks the rating row, then the film (its aggregates), then the user (the
activity trigger and the foreign key check). A transaction that holds the user and then asks for
the film closes the cycle. The rating's session waits DEADLOCK_TIMEOUT before looking for a cycle
and the others much longer, so PostgreSQL always cancels the rating's statement, never theirs."""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, TypeVar

import psycopg
import pytest
from psycopg.rows import dict_row

from cinelibre.database import migrate
from cinelibre.database.connection import Connection, prepare_connection
from cinelibre.ratings import service as ratings_service
from cinelibre.ratings.schemas import RatingWrite
from cinelibre.settings import Settings
from cinelibre.types import ItemType
from tests.conftest import app_on_database, client_for, recreate_database, worker_database

DATABASE = "cinelibre_rating_conflicts"
# Every session of the scratch database (the app's pool included) checks for a deadlock this long
# after it starts to wait, and only then: the other side must close the cycle within it.
DEADLOCK_TIMEOUT = "500ms"
# ... except the transactions that play the other side, which must never be the one cancelled.
HOLDER_DEADLOCK_TIMEOUT = "10s"
WAIT_SECONDS = 5.0
RETRY_LOGGER = "cinelibre.database.retry"

T = TypeVar("T")


@pytest.fixture
def conflict_database(server_url: str) -> tuple[str, int, int]:
    """(url, user id, film id), committed in a database of this test's own."""
    url = recreate_database(server_url, DATABASE)
    migrate.upgrade_to_head(url)
    with psycopg.connect(server_url, autocommit=True) as server:
        server.execute(f"ALTER DATABASE \"{worker_database(DATABASE)}\" SET deadlock_timeout = '{DEADLOCK_TIMEOUT}'")
    with psycopg.connect(url) as setup:
        user_id = setup.execute("INSERT INTO users (name) VALUES ('Rater') RETURNING id").fetchone()[0]
        film_id = setup.execute("INSERT INTO movies (title) VALUES ('Contested') RETURNING id").fetchone()[0]
    return url, user_id, film_id


@asynccontextmanager
async def connection(url: str, **kwargs: Any) -> AsyncIterator[Connection]:
    conn = await psycopg.AsyncConnection.connect(url, row_factory=dict_row, **kwargs)
    await prepare_connection(conn)
    async with conn:
        yield conn


@asynccontextmanager
async def holder(url: str) -> AsyncIterator[Connection]:
    """A connection for the other side of a deadlock, inside a transaction the test commits."""
    async with connection(url) as conn:
        await conn.execute(f"SET deadlock_timeout = '{HOLDER_DEADLOCK_TIMEOUT}'")
        yield conn


async def lock_user(conn: Connection, user_id: int) -> None:
    await conn.execute("SELECT id FROM users WHERE id = %s FOR UPDATE", (user_id,))


async def touch_film(conn: Connection, film_id: int) -> None:
    await conn.execute("UPDATE movies SET title = title WHERE id = %s", (film_id,))


async def blocked_by(observer: Connection, blocker: int) -> list[int]:
    """The sessions waiting for a lock that `blocker` holds (or is queued for ahead of them)."""
    cursor = await observer.execute(
        "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid)) ORDER BY pid", (blocker,)
    )
    return [row["pid"] for row in await cursor.fetchall()]


async def eventually(condition: Callable[[], Awaitable[T]], what: str) -> T:
    """The condition's first truthy value, polled for at most WAIT_SECONDS."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        if found := await condition():
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"{what} within {WAIT_SECONDS} s")


async def wait_until_waiting(observer: Connection, waiter: int, blocker: int) -> None:
    async def waiting() -> bool:
        return waiter in await blocked_by(observer, blocker)

    await eventually(waiting, f"pid {waiter} did not come to wait for pid {blocker}")


async def the_one_waiting_for(observer: Connection, blocker: int) -> int:
    waiting = await eventually(partial(blocked_by, observer, blocker), f"nothing came to wait for pid {blocker}")
    assert len(waiting) == 1, waiting
    return waiting[0]


async def finished(task: Awaitable[T]) -> T:
    return await asyncio.wait_for(task, WAIT_SECONDS)


def aggregates_and_rows(url: str, film_id: int) -> tuple[tuple[int, float], tuple[int, float], list[tuple]]:
    """The film's stored (count, sum), the same counted from its rating rows, and those rows."""
    with psycopg.connect(url) as check:
        stored = check.execute(
            "SELECT rating_count, rating_sum::float8 FROM movies WHERE id = %s", (film_id,)
        ).fetchone()
        counted = check.execute(
            "SELECT count(*), coalesce(sum(rating), 0)::float8 FROM ratings WHERE movie_id = %s", (film_id,)
        ).fetchone()
        rows = check.execute("SELECT user_id, item_id, rating::float8 FROM ratings ORDER BY id").fetchall()
    return stored, counted, rows


def retry_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == RETRY_LOGGER]


async def test_rating_that_meets_a_deadlock_is_run_again_and_counted_once(
    conflict_database: tuple[str, int, int], caplog: pytest.LogCaptureFixture
) -> None:
    url, user_id, film_id = conflict_database
    caplog.set_level(logging.WARNING)
    async with connection(url, autocommit=True) as observer, holder(url) as other, connection(url) as rater:

        async def rate() -> ratings_service.SavedRating:
            async with rater.transaction():
                data = RatingWrite(item_id=film_id, item_type=ItemType.MOVIE, rating=4.5)
                return await ratings_service.rate(rater, user_id=user_id, data=data)

        await lock_user(other, user_id)
        rating = asyncio.create_task(rate())
        # The rating holds the film and waits for the user; the other side now asks for the film.
        await wait_until_waiting(observer, rater.info.backend_pid, other.info.backend_pid)
        await finished(touch_film(other, film_id))
        await other.commit()
        saved = await finished(rating)

    assert saved.created is True
    assert (saved.rating.item_id, saved.rating.item_type, saved.rating.rating) == (film_id, ItemType.MOVIE, 4.5)
    warnings = retry_warnings(caplog)
    assert len(warnings) == 1 and "40P01" in warnings[0], warnings
    assert aggregates_and_rows(url, film_id) == ((1, 4.5), (1, 4.5), [(user_id, film_id, 4.5)])


async def test_rating_request_deadlocked_twice_answers_409_and_writes_nothing(
    conflict_database: tuple[str, int, int], settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    url, _, film_id = conflict_database
    app_settings = settings.model_copy(update={"database_url": url, "rate_limits": "off"})
    caplog.set_level(logging.WARNING)
    async with (
        app_on_database(url, app_settings) as app,
        client_for(app) as http,
        connection(url, autocommit=True) as observer,
        holder(url) as first,
        holder(url) as second,
    ):
        registered = await http.post(
            "/auth/register", json={"email": "rater@example.com", "password": "test1234", "name": "Rater"}
        )
        assert registered.status_code == 201, registered.text
        user_id = registered.json()["user"]["id"]
        headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}

        await lock_user(first, user_id)
        request = asyncio.create_task(
            http.post("/ratings", headers=headers, json={"item_id": film_id, "item_type": "movie", "rating": 3.0})
        )
        rater = await the_one_waiting_for(observer, first.info.backend_pid)
        # The second holder queues for the user behind the rating, so it takes the user as soon as
        # the first commits, before the rating's second attempt reaches it.
        second_locks_user = asyncio.create_task(lock_user(second, user_id))
        await wait_until_waiting(observer, second.info.backend_pid, rater)
        await finished(touch_film(first, film_id))
        await first.commit()
        await finished(second_locks_user)
        await wait_until_waiting(observer, rater, second.info.backend_pid)
        await finished(touch_film(second, film_id))
        await second.commit()
        response = await finished(request)

    assert response.status_code == 409, response.text
    assert response.headers["Retry-After"] == "1"
    assert set(response.json()) == {"error"} and response.json()["error"]["code"] == "conflict"
    warnings = retry_warnings(caplog)
    assert len(warnings) == 1 and "40P01" in warnings[0], warnings
    assert aggregates_and_rows(url, film_id) == ((0, 0.0), (0, 0.0), [])
