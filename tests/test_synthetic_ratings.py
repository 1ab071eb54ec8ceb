from decimal import Decimal

import numpy as np
import pytest

from cinelibre.movielens.service import import_synthetic
from cinelibre.movielens.synthetic import Shape, SyntheticMovieLens
from cinelibre.recommend.training import train_rating_model

RATINGS = 20_000
SEED = 7
HALF_STARS = [Decimal(n) / 2 for n in range(1, 11)]


@pytest.fixture
async def imported(conn) -> dict:
    data = SyntheticMovieLens(RATINGS, seed=SEED)
    report = await import_synthetic(conn, data)
    return {"data": data, "report": report}


def test_the_shape_follows_the_number_of_ratings() -> None:
    assert Shape.for_ratings(25_000_000) == Shape(ratings=25_000_000, users=162_541, films=62_423)
    assert Shape.for_ratings(1_000_000) == Shape(ratings=1_000_000, users=6_502, films=7_703)
    assert Shape.for_ratings(RATINGS) == Shape(ratings=RATINGS, users=130, films=606)


def test_every_rater_has_at_least_twenty_ratings_and_they_add_up() -> None:
    counts = SyntheticMovieLens(RATINGS, seed=SEED).ratings_per_user

    assert (len(counts), int(counts.sum()), int(counts.min()) >= 20) == (130, RATINGS, True)


def test_the_same_seed_draws_the_same_ratings_and_another_seed_others() -> None:
    first = next(SyntheticMovieLens(RATINGS, seed=SEED).rating_chunks())
    again = next(SyntheticMovieLens(RATINGS, seed=SEED).rating_chunks())
    other = next(SyntheticMovieLens(RATINGS, seed=SEED + 1).rating_chunks())

    assert first[:100].tolist() == again[:100].tolist()
    assert first[:100].tolist() != other[:100].tolist()


def test_chunks_hold_whole_raters_and_every_rating_once() -> None:
    chunks = list(SyntheticMovieLens(RATINGS, seed=SEED).rating_chunks(rows_per_chunk=5_000))
    ratings = np.concatenate(chunks)
    pairs = np.unique(ratings["user"] * 1_000_000 + ratings["movie"])
    users_in_two_chunks = set(chunks[0]["user"].tolist()) & set(chunks[1]["user"].tolist())

    assert (len(chunks), max(map(len, chunks)) <= 5_000) == (5, True)
    assert (len(ratings), len(pairs), users_in_two_chunks) == (RATINGS, RATINGS, set())


async def test_import_writes_every_film_rater_and_rating(conn, imported) -> None:
    report = imported["report"]
    users = await (
        await conn.execute(
            "SELECT count(*) AS n, count(*) FILTER (WHERE email IS NULL AND name LIKE 'synthetic-7 user %') AS ok "
            "FROM users WHERE imported_from = 'synthetic-7'"
        )
    ).fetchone()
    per_user = await (
        await conn.execute(
            "SELECT min(n) AS fewest, sum(n) AS total FROM "
            "(SELECT count(*) AS n FROM ratings r JOIN users u ON u.id = r.user_id "
            "WHERE u.imported_from = 'synthetic-7' GROUP BY u.id) AS counted"
        )
    ).fetchone()
    films = await (
        await conn.execute(
            "SELECT count(*) AS n, sum(rating_count) AS rated, count(*) FILTER (WHERE overview IS NULL) AS bare "
            "FROM movies WHERE movielens_id IS NOT NULL"
        )
    ).fetchone()

    assert (report.ratings_written, report.users_added, report.movies_added) == (RATINGS, 130, 606)
    assert (users["n"], users["ok"]) == (130, 130)
    assert (per_user["fewest"] >= 20, per_user["total"]) == (True, RATINGS)
    assert (films["n"], films["rated"], films["bare"]) == (606, RATINGS, 0)


async def test_stars_are_half_stars_from_half_to_five(conn, imported) -> None:
    stars = await (await conn.execute("SELECT DISTINCT rating FROM ratings ORDER BY rating")).fetchall()

    assert [row["rating"] for row in stars] == HALF_STARS


async def test_the_first_rater_s_stored_ratings_are_the_drawn_ones(conn, imported) -> None:
    drawn = next(imported["data"].rating_chunks())
    drawn = drawn[drawn["user"] == 1]
    stored = await (
        await conn.execute(
            "SELECT m.movielens_id, r.rating, extract(epoch FROM r.created_at)::bigint AS rated_at "
            "FROM ratings r JOIN users u ON u.id = r.user_id JOIN movies m ON m.id = r.movie_id "
            "WHERE u.imported_from = 'synthetic-7' AND u.external_id = 1 ORDER BY m.movielens_id"
        )
    ).fetchall()
    order = np.argsort(drawn["movie"])

    assert [(row["movielens_id"], float(row["rating"]), row["rated_at"]) for row in stored] == [
        (int(movie), float(rating), int(rated_at))
        for movie, rating, rated_at in zip(
            drawn["movie"][order], drawn["rating"][order], drawn["rated_at"][order], strict=True
        )
    ]


async def test_a_model_trains_on_the_synthetic_ratings(conn, imported) -> None:
    rated_films = await (await conn.execute("SELECT count(*) AS n FROM movies WHERE rating_count > 0")).fetchone()

    trained = await train_rating_model(conn)

    assert (trained.ratings_seen, trained.items) == (RATINGS, rated_films["n"])
