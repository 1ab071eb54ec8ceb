"""Many clients rating, re-rating and deleting the same few films at once through the HTTP API,
while the catalogue is embedded again and again: no answer is a server error, and afterwards the
rating rows are exactly what the clients were told and every film's count and sum agree with them."""

import asyncio
import logging
import random
from collections import Counter
from dataclasses import dataclass, field

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from cinelibre.database import migrate
from cinelibre.search import service as search_service
from cinelibre.search.embedder import Embedder
from cinelibre.settings import Settings
from tests.conftest import app_on_database, client_for, recreate_database
from tests.factories import register

RATED_FILMS = 4
RATERS = 24
OPERATIONS_PER_PAIR = 30  # each rater works on each rated film: 24 x 4 x 30 = 2,880 requests
# With a rating in place, a client deletes it this often: 0.43 / 1.43 = 30% of all requests.
DELETE_WHEN_RATED = 0.43
HALF_STARS = [n / 2 for n in range(1, 11)]
# Films the embedder works through besides the rated ones, so each pass takes a while.
OTHER_FILMS = 60


@dataclass
class Pair:
    """One rater's requests about one film, sent one after another (other pairs run meanwhile)."""

    headers: dict[str, str]
    film_id: int
    rng: random.Random
    statuses: Counter[int] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    # What the API acknowledged last: (rating id, stars), or None once deleted or never rated.
    rating: tuple[int, float] | None = None

    async def run(self, http: httpx.AsyncClient) -> None:
        for _ in range(OPERATIONS_PER_PAIR):
            if self.rating is not None and self.rng.random() < DELETE_WHEN_RATED:
                response = await http.delete(f"/ratings/{self.rating[0]}", headers=self.headers)
                self._note(response, expected=204)
                if response.status_code == 204:
                    self.rating = None
            else:
                stars = self.rng.choice(HALF_STARS)
                body = {"item_id": self.film_id, "item_type": "movie", "rating": stars}
                response = await http.post("/ratings", headers=self.headers, json=body)
                self._note(response, expected=201 if self.rating is None else 200)
                if response.status_code in (200, 201):
                    self.rating = (response.json()["id"], stars)

    def _note(self, response: httpx.Response, *, expected: int) -> None:
        self.statuses[response.status_code] += 1
        if response.status_code != expected:
            self.unexpected.append(f"{response.request.method} {response.status_code} (wanted {expected})")


async def embed_until(stop: asyncio.Event, app: FastAPI, embedder: Embedder) -> int:
    """Embed the whole catalogue over and over until `stop`; returns how many passes finished."""
    passes = 0
    while not stop.is_set():
        async with app.state.pool.connection() as conn, conn.transaction():
            await search_service.mark_all_for_embedding(conn)
        await search_service.embed_pending(app.state.pool, embedder)
        passes += 1
    return passes


@pytest.fixture
def stress_database(server_url: str) -> tuple[str, list[int]]:
    url = recreate_database(server_url, "cinelibre_rating_stress")
    migrate.upgrade_to_head(url)
    with psycopg.connect(url) as setup:
        films = [
            setup.execute(
                "INSERT INTO movies (title, overview) VALUES (%s, %s) RETURNING id",
                (f"Film {n}", f"Film number {n}, a story of {n % 7} friends and {n % 5} rivers."),
            ).fetchone()[0]
            for n in range(RATED_FILMS + OTHER_FILMS)
        ]
    return url, films


async def test_concurrent_raters_during_embedding_get_no_server_error_and_counts_match_rows(
    stress_database: tuple[str, list[int]], settings: Settings, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    url, films = stress_database
    rated = films[:: len(films) // RATED_FILMS][:RATED_FILMS]  # spread over the embedding batches
    stress_settings = settings.model_copy(
        update={"database_url": url, "rate_limits": "off", "database_pool_max_size": 20}
    )
    caplog.set_level(logging.WARNING)
    async with app_on_database(url, stress_settings, embedder) as app, client_for(app) as http:
        raters = [await register(http, email=f"rater{n}@example.com") for n in range(RATERS)]
        pairs = [
            Pair(headers, film, random.Random(n * 1_000 + film)) for n, headers in enumerate(raters) for film in rated
        ]
        stop = asyncio.Event()
        embedding = asyncio.create_task(embed_until(stop, app, embedder))
        try:
            await asyncio.gather(*(pair.run(http) for pair in pairs))
        finally:
            stop.set()
            passes = await embedding

    statuses = sum((pair.statuses for pair in pairs), Counter())
    with psycopg.connect(url) as check:
        rows = set(check.execute("SELECT id, item_id, rating::float8 FROM ratings").fetchall())
        aggregates = check.execute(
            "SELECT id, rating_count, rating_sum::float8 FROM movies WHERE id = ANY(%s) ORDER BY id", (rated,)
        ).fetchall()

    acknowledged = {(pair.rating[0], pair.film_id, pair.rating[1]) for pair in pairs if pair.rating is not None}
    from_rows = [
        (film, sum(1 for _, item, _ in rows if item == film), sum(stars for _, item, stars in rows if item == film))
        for film in sorted(rated)
    ]
    deadlocks = sum("deadlock" in record.getMessage() for record in caplog.records)
    summary = f"answers {dict(statuses)}, {deadlocks} deadlock warnings, {passes} embedding passes"
    assert sum(statuses.values()) == RATERS * RATED_FILMS * OPERATIONS_PER_PAIR
    assert sum(count for status, count in statuses.items() if status >= 500) == 0, summary
    assert [message for pair in pairs for message in pair.unexpected] == [], summary
    assert rows == acknowledged
    assert aggregates == from_rows
    assert passes >= 1, summary
