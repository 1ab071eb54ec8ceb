"""The demo catalogue shipped in the package, and a deterministic crowd of demo raters so that
popular and personalized recommendations have material on a fresh install."""

import hashlib
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cinelibre.auth import service as auth_service
from cinelibre.catalog import service as catalog_service
from cinelibre.catalog.schemas import BookCreate, MovieCreate
from cinelibre.database import locks
from cinelibre.database.connection import Connection
from cinelibre.database.locks import AdvisoryLock
from cinelibre.ratings import service as ratings_service

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
DEMO_SOURCE = "demo"
DEMO_USER_COUNT = 80


@dataclass(frozen=True)
class DemoLoad:
    movies: int
    books: int
    users: int
    ratings: int


def read_catalogue() -> tuple[list[MovieCreate], list[BookCreate]]:
    movies: list[MovieCreate] = []
    books: list[BookCreate] = []
    for path in sorted(DATA_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = catalog_service.parse_catalogue_line(line)
                if isinstance(item, MovieCreate):
                    movies.append(item)
                else:
                    books.append(item)
    return movies, books


async def load_if_empty(conn: Connection) -> DemoLoad | None:
    """Load the demo catalogue and raters into an empty catalogue; do nothing otherwise.
    Safe when several instances start at once: they queue on a lock and only the first loads."""
    await locks.wait_in_transaction(conn, AdvisoryLock.DEMO_LOAD)
    if await catalog_service.count_items(conn) > 0:
        return None
    return await load(conn)


async def load(conn: Connection) -> DemoLoad:
    movies, books = read_catalogue()
    await catalog_service.insert_new_items(conn, movies=movies, books=books)
    items = await catalog_service.item_summaries(conn)
    user_ids = await auth_service.ensure_imported_users(
        conn, source=DEMO_SOURCE, external_ids=list(range(1, DEMO_USER_COUNT + 1))
    )
    ratings = [
        (user_ids[external_id], item_type, item_id, stars)
        for external_id in range(1, DEMO_USER_COUNT + 1)
        for item_type, item_id, stars in demo_ratings(external_id, items)
    ]
    await ratings_service.insert_many(conn, ratings)
    await catalog_service.recompute_rating_aggregates(conn)
    loaded = DemoLoad(movies=len(movies), books=len(books), users=len(user_ids), ratings=len(ratings))
    logger.info("demo catalogue loaded: %s", loaded)
    return loaded


def _item_quality(title: str) -> float:
    """A fixed per-title offset in [-0.75, 0.75], so some items are liked by most demo raters."""
    digest = hashlib.sha256(title.encode()).digest()
    return (digest[0] / 255 - 0.5) * 1.5


def demo_ratings(external_id: int, items: list[dict[str, Any]]) -> list[tuple[str, int, float]]:
    """The ratings of demo rater `external_id`: a taste for a few languages and genres, kept
    from one run to the next by a seeded generator."""
    rng = random.Random(f"cinelibre-demo-{external_id}")
    languages = sorted({item["language"] for item in items if item["language"]})
    genres = sorted({genre for item in items for genre in item["genres"]})
    liked_languages = set(rng.sample(languages, k=min(2, len(languages))))
    liked_genres = set(rng.sample(genres, k=min(3, len(genres))))
    reads_books = rng.random() < 0.5

    def affinity(item: dict[str, Any]) -> float:
        return (item["language"] in liked_languages) + 0.6 * len(liked_genres.intersection(item["genres"]))

    candidates = [item for item in items if item["item_type"] == "movie" or reads_books]
    weights = [0.2 + affinity(item) for item in candidates]
    count = rng.randint(12, 40)
    chosen: dict[tuple[str, int], dict[str, Any]] = {}
    while len(chosen) < min(count, len(candidates)):
        item = rng.choices(candidates, weights=weights)[0]
        chosen[(item["item_type"], item["id"])] = item

    ratings = []
    for (item_type, item_id), item in sorted(chosen.items()):
        raw = 2.6 + 0.7 * affinity(item) + _item_quality(item["title"]) + rng.gauss(0, 0.6)
        stars = min(5.0, max(0.5, round(raw * 2) / 2))
        ratings.append((item_type, item_id, stars))
    return ratings
