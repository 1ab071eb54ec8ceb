"""The demo catalogue shipped in the package, and a deterministic crowd of demo raters (raters.py)
so that popular and personalized recommendations have material on a fresh install."""

import logging
from dataclasses import dataclass
from pathlib import Path

from cinelibre.auth import service as auth_service
from cinelibre.catalog import service as catalog_service
from cinelibre.catalog.schemas import BookCreate, CatalogueAdaptation, MovieCreate
from cinelibre.database import locks
from cinelibre.database.connection import Connection
from cinelibre.database.locks import AdvisoryLock
from cinelibre.demo import raters
from cinelibre.ratings import service as ratings_service

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
# Films and the books they adapt, named by title (and year or authors) as the item files name them.
ADAPTATIONS_FILE = DATA_DIR / "adaptations.jsonl"
DEMO_SOURCE = "demo"


@dataclass(frozen=True)
class DemoLoad:
    movies: int
    books: int
    users: int
    ratings: int
    adaptations: int


def read_catalogue() -> tuple[list[MovieCreate], list[BookCreate]]:
    movies: list[MovieCreate] = []
    books: list[BookCreate] = []
    for path in sorted(set(DATA_DIR.glob("*.jsonl")) - {ADAPTATIONS_FILE}):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = catalog_service.parse_catalogue_line(line)
                if isinstance(item, MovieCreate):
                    movies.append(item)
                else:
                    books.append(item)
    return movies, books


def read_adaptations() -> list[CatalogueAdaptation]:
    lines = ADAPTATIONS_FILE.read_text(encoding="utf-8").splitlines()
    return [catalog_service.parse_adaptation_line(line) for line in lines if line.strip()]


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
    adaptations = await catalog_service.link_catalogue_adaptations(conn, read_adaptations())
    items = await catalog_service.item_summaries(conn)
    ratings_by_rater = raters.demo_ratings(items)
    user_ids = await auth_service.ensure_imported_users(conn, source=DEMO_SOURCE, external_ids=sorted(ratings_by_rater))
    ratings = [
        (user_ids[external_id], item_type, item_id, stars)
        for external_id, rated in sorted(ratings_by_rater.items())
        for item_type, item_id, stars in rated
    ]
    await ratings_service.insert_many(conn, ratings)
    await catalog_service.recompute_rating_aggregates(conn)
    loaded = DemoLoad(
        movies=len(movies), books=len(books), users=len(user_ids), ratings=len(ratings), adaptations=adaptations
    )
    logger.info("demo catalogue loaded: %s", loaded)
    return loaded
