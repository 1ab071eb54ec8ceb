"""Every similar item carries a score and a reason, whichever list found it.

A hand-built catalogue: vectors set by hand (the source along one axis, each film at a chosen
cosine from it) and ratings chosen so that the co-rating cosines are known."""

import math

import httpx
import numpy as np
import pytest

from cinelibre.catalog import repository as catalog_repository
from cinelibre.search.embedder import EMBEDDING_DIMENSION, Embedder
from tests.factories import add_movie


def at_cosine(cosine: float, axis: int) -> list[float]:
    """A unit vector at `cosine` from the first axis, the rest of it along `axis`."""
    vector = np.zeros(EMBEDDING_DIMENSION)
    vector[0], vector[axis] = cosine, math.sqrt(1 - cosine**2)
    return vector.tolist()


async def embed(conn, movie_id: int, vector: list[float], model: str) -> None:
    await conn.execute(
        "INSERT INTO movie_embeddings (movie_id, model, content_hash, embedding) VALUES (%s, %s, 'hand-made', %s)",
        (movie_id, model, str(vector)),
    )


async def rated_by(conn, movie_id: int, users: list[int]) -> None:
    for user in users:
        await conn.execute(
            "INSERT INTO ratings (user_id, item_type, item_id, rating) VALUES (%s, 'movie', %s, 4)", (user, movie_id)
        )


@pytest.fixture
async def catalogue(conn, embedder: Embedder) -> dict[str, int]:
    films = {title: await add_movie(conn, title=title) for title in ["Source", "Alpha", "Beta", "Gamma", "Delta"]}
    # Cosine to Source: Alpha 0.9, Beta 0.6, Gamma 0.3; Delta has no vector.
    for title, vector in [
        ("Source", at_cosine(1.0, 1)),
        ("Alpha", at_cosine(0.9, 1)),
        ("Beta", at_cosine(0.6, 2)),
        ("Gamma", at_cosine(0.3, 3)),
    ]:
        await embed(conn, films[title], vector, embedder.model_name)
    users = [
        (
            await (
                await conn.execute(
                    "INSERT INTO users (name, imported_from, external_id) VALUES (%s, 'test', %s) RETURNING id",
                    (f"fan {n}", n),
                )
            ).fetchone()
        )["id"]
        for n in range(6)
    ]
    # Six people rated Source. Of them, all six rated Delta (co-rating cosine 6 / √(6·6) = 1),
    # four Beta (4 / √(6·4) = 0.82) and three Gamma (3 / √(6·3) = 0.71); nobody Alpha.
    await rated_by(conn, films["Source"], users)
    await rated_by(conn, films["Delta"], users)
    await rated_by(conn, films["Beta"], users[:4])
    await rated_by(conn, films["Gamma"], users[:3])
    await catalog_repository.recompute_rating_aggregates(conn)
    return films


async def similar(client: httpx.AsyncClient, movie_id: int, **params) -> list[tuple]:
    response = await client.get(f"/recommendations/similar/movie/{movie_id}", params=params)
    assert response.status_code == 200, response.text
    return [(i["title"], i["score"], i["reason"], i["similarity"]) for i in response.json()["items"]]


async def test_every_similar_item_has_a_score_and_a_reason(client: httpx.AsyncClient, catalogue) -> None:
    found = await similar(client, catalogue["Source"])

    # Meaning ranks Alpha, Beta, Gamma; co-ratings Delta, Beta, Gamma. Fused (RRF, k = 60) as a
    # share of first place in both, 2/61: Beta 2/62 → 61/62, Gamma 2/63 → 61/63, Alpha and Delta
    # 1/61 → 0.5 each (Alpha first: the closer in meaning).
    both = "Close in meaning to Source, and rated by the same people"
    assert found == [
        ("Beta", 0.983871, both, pytest.approx(0.6, abs=1e-6)),
        ("Gamma", 0.968254, both, pytest.approx(0.3, abs=1e-6)),
        ("Alpha", 0.5, "Close in meaning to Source", pytest.approx(0.9, abs=1e-6)),
        ("Delta", 0.5, "Rated by the same people as Source", None),
    ]


async def test_before_enough_ratings_meaning_alone_scores_the_list(client: httpx.AsyncClient, conn, catalogue) -> None:
    # Only 3 raters: co-ratings are not asked (they join at 5).
    await conn.execute(
        "DELETE FROM ratings WHERE item_id = %s AND user_id IN (SELECT id FROM users WHERE external_id::int < 3)",
        (catalogue["Source"],),
    )
    await catalog_repository.recompute_rating_aggregates(conn)

    found = await similar(client, catalogue["Source"])

    # First in the one list is 1.0; rank r scores 61 / (60 + r).
    assert [(title, score, reason) for title, score, reason, _ in found] == [
        ("Alpha", 1.0, "Close in meaning to Source"),
        ("Beta", 0.983871, "Close in meaning to Source"),
        ("Gamma", 0.968254, "Close in meaning to Source"),
    ]


async def test_a_similar_page_keeps_its_items_scores(client: httpx.AsyncClient, catalogue) -> None:
    whole = await similar(client, catalogue["Source"], limit=4)

    pages = await similar(client, catalogue["Source"], limit=2) + await similar(
        client, catalogue["Source"], skip=2, limit=2
    )

    assert pages == whole
    assert [title for title, *_ in await similar(client, catalogue["Source"], skip=1, limit=2)] == ["Gamma", "Alpha"]
