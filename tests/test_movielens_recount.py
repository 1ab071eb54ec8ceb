"""A MovieLens import recounts the films it rated while people may be rating them too: whichever of
the two gets a film's row first, the film's count and sum end up exactly its rating rows."""

import asyncio
from pathlib import Path

import psycopg
import pytest

from cinelibre.database import migrate
from cinelibre.database.connection import Connection
from cinelibre.movielens.reader import open_dataset
from cinelibre.movielens.service import import_dataset
from cinelibre.ratings import service as ratings_service
from cinelibre.ratings.schemas import RatingWrite
from cinelibre.types import ItemType
from tests.conftest import recreate_database
from tests.test_movielens import ml_100k  # noqa: F401 (fixture)
from tests.test_rating_conflicts import connection, finished, wait_until_waiting

STARS = 4.5
# (count, sum) of each ml_100k film, in its order: its imported ratings, and ours of the first.
IMPORTED_AND_RATED = [(3, 12.5), (1, 4.0), (1, 2.0)]


@pytest.fixture
async def catalogue_database(server_url: str, ml_100k: Path) -> tuple[str, int, list[int]]:  # noqa: F811 (the fixture)
    """(url, user id, film ids): ml_100k's films already imported without their ratings, and a
    user of our own, committed in a database of this test's own."""
    url = recreate_database(server_url, "cinelibre_movielens_recount")
    migrate.upgrade_to_head(url)
    async with connection(url) as conn, conn.transaction():
        await import_dataset(conn, open_dataset(ml_100k), with_ratings=False)
    with psycopg.connect(url) as setup:
        user_id = setup.execute("INSERT INTO users (name) VALUES ('Rater') RETURNING id").fetchone()[0]
        films = [row[0] for row in setup.execute("SELECT id FROM movies ORDER BY movielens_100k_id")]
    return url, user_id, films


async def rate(conn: Connection, *, user_id: int, film_id: int) -> None:
    data = RatingWrite(item_id=film_id, item_type=ItemType.MOVIE, rating=STARS)
    await ratings_service.rate(conn, user_id=user_id, data=data)


def aggregates(url: str, films: list[int]) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """Each film's stored (count, sum), and the same counted from its rating rows."""
    with psycopg.connect(url) as check:
        stored = check.execute(
            "SELECT rating_count, rating_sum::float8 FROM movies WHERE id = ANY(%s) ORDER BY movielens_100k_id",
            (films,),
        ).fetchall()
        counted = check.execute(
            """SELECT count(r.id), coalesce(sum(r.rating), 0)::float8
            FROM movies m LEFT JOIN ratings r ON r.movie_id = m.id
            WHERE m.id = ANY(%s) GROUP BY m.id, m.movielens_100k_id ORDER BY m.movielens_100k_id""",
            (films,),
        ).fetchall()
    return stored, counted


async def test_rating_committed_while_the_import_waits_to_recount_is_counted(
    catalogue_database: tuple[str, int, list[int]],
    ml_100k: Path,  # noqa: F811 (the fixture)
) -> None:
    url, user_id, films = catalogue_database
    async with connection(url, autocommit=True) as observer, connection(url) as rater, connection(url) as importer:

        async def import_in_a_transaction() -> None:
            async with importer.transaction():
                await import_dataset(importer, open_dataset(ml_100k))

        async with rater.transaction():
            await rate(rater, user_id=user_id, film_id=films[0])  # holds the film's row until committed
            importing = asyncio.create_task(import_in_a_transaction())
            await wait_until_waiting(observer, importer.info.backend_pid, rater.info.backend_pid)
        await finished(importing)

    assert aggregates(url, films) == (IMPORTED_AND_RATED, IMPORTED_AND_RATED)


async def test_rating_that_waits_for_the_import_recount_adds_itself_to_the_new_count(
    catalogue_database: tuple[str, int, list[int]],
    ml_100k: Path,  # noqa: F811 (the fixture)
) -> None:
    url, user_id, films = catalogue_database
    async with connection(url, autocommit=True) as observer, connection(url) as rater, connection(url) as importer:

        async def rate_in_a_transaction() -> None:
            async with rater.transaction():
                await rate(rater, user_id=user_id, film_id=films[0])

        async with importer.transaction():
            await import_dataset(importer, open_dataset(ml_100k))  # the recount holds the films until committed
            assert aggregates(url, films) == ([(0, 0.0)] * 3, [(0, 0.0)] * 3)
            rating = asyncio.create_task(rate_in_a_transaction())
            await wait_until_waiting(observer, rater.info.backend_pid, importer.info.backend_pid)
        await finished(rating)

    assert aggregates(url, films) == (IMPORTED_AND_RATED, IMPORTED_AND_RATED)
