"""The arrays each process serves the models from (recommend/serving.py): loaded from the stored
rows exactly, reloaded when a new version is activated, and the per-request arithmetic on them
checked against sums worked by hand."""

import numpy as np
import pytest

from cinelibre.recommend import model_repository
from cinelibre.recommend.serving import ModelStore, fold_in_user, linked_items, predicted_stars
from cinelibre.recommend.training import FACTORS, ITEM_MODEL, RATING_MODEL

A, B, C, D = ("movie", 11), ("movie", 12), ("book", 12), ("movie", 14)
RANKING_LINKS = [(*A, *B, 0.5), (*A, *C, 0.25), (*B, *C, 0.5), (*B, *D, 0.125)]
RATING_LINKS = [(*B, *A, 0.5), (*C, *B, 0.25)]  # each item → a neighbour


def factors(first: float) -> np.ndarray:
    vector = np.zeros(FACTORS)
    vector[0] = first
    return vector


async def store_models(conn, *, ranking_links=RANKING_LINKS) -> dict[str, int]:
    await model_repository.store_item_model(
        conn, kind=ITEM_MODEL, ratings_seen=4, parameters={}, links=ranking_links, versions_kept=3
    )
    await model_repository.store_rating_model(
        conn,
        kind=RATING_MODEL,
        ratings_seen=4,
        parameters={"mean": 3.5, "regularisation": 0.5, "factors": FACTORS, "blend": "corrected MF"},
        items=[A, B, C],
        biases=np.array([0.25, -0.5, 0.0]),
        factors=np.stack([factors(1.0), factors(0.5), factors(-1.0)]),
        item_ratings=np.array([3, 7, 0]),
        neighbours=RATING_LINKS,
        versions_kept=3,
    )
    return {kind: row["id"] for kind, row in (await model_repository.active_models(conn)).items()}


async def test_the_loaded_arrays_are_the_stored_rows(conn) -> None:
    active = await store_models(conn)

    served = await ModelStore().current(conn, active)

    assert served.ids == active
    rows = served.positions([A, B, C, D, ("book", 99)])
    assert served.keys(rows[:4]) == [A, B, C, D]
    assert rows[4] == -1
    # Books sort after films: keys pack (is_book, id).
    assert rows.tolist()[:4] == [0, 1, 3, 2]
    assert served.biases[rows[:3]].tolist() == [0.25, -0.5, 0.0]
    assert np.isnan(served.biases[rows[3]])  # D is only a ranking-model neighbour
    assert served.factors[rows[:3], 0].tolist() == [1.0, 0.5, -1.0]
    assert served.item_ratings[rows[:4]].tolist() == [3, 7, 0, 0]
    origin, link = served.links.gather(rows[[0, 1]])
    got = sorted(
        (served.keys(rows[[0, 1]][[o]])[0], served.keys(served.links.targets[[t]])[0], float(w))
        for o, t, w in zip(origin, link, served.links.weights[link], strict=True)
    )
    assert got == sorted((stored[:2], stored[2:4], stored[4]) for stored in RANKING_LINKS)


async def test_a_newly_activated_version_is_loaded_by_the_next_request(conn) -> None:
    store = ModelStore()
    first = await store.current(conn, await store_models(conn))
    again = await store.current(conn, first.ids)
    newer = await store_models(conn, ranking_links=[(*A, *D, 1.0)])

    served = await store.current(conn, newer)

    assert again is first  # the same versions: nothing is read again
    assert served.ids == newer != first.ids
    origin, link = served.links.gather(served.positions([A]))
    assert served.keys(served.links.targets[link]) == [D]


async def test_linked_items_sum_weighted_links_and_name_the_liked_source(conn) -> None:
    served = await ModelStore().current(conn, await store_models(conn))
    # A rated 4 stars counting 1.2, B viewed counting 0.5 (a view has no stars).
    sources = served.positions([A, B])
    strengths, stars = np.array([1.2, 0.5]), np.array([4.0, np.nan])

    chosen, weights, because = linked_items(
        served,
        sources=sources,
        strengths=strengths,
        stars=stars,
        leave_out=served.positions([A]),
        item_type=None,
        limit=2,
    )
    films, _, _ = linked_items(
        served,
        sources=sources,
        strengths=strengths,
        stars=stars,
        leave_out=served.positions([A]),
        item_type="movie",
        limit=5,
    )

    # B: 0.5 × 1.2 = 0.6; C: 0.25 × 1.2 + 0.5 × 0.5 = 0.55; D: 0.125 × 0.5 = 0.0625 (cut by the limit).
    assert served.keys(chosen) == [B, C]
    assert weights.tolist() == pytest.approx([0.6, 0.55])
    # Both are linked from A, the only rated (and liked) source.
    assert {served.keys(np.array([row]))[0]: source for row, source in because.items()} == {B: 0, C: 0}
    assert served.keys(films) == [B, D]


async def test_predicted_stars_fold_the_user_in_and_correct_by_rated_neighbours(conn) -> None:
    served = await ModelStore().current(conn, await store_models(conn))
    rated = served.positions([A])
    user = fold_in_user(served, rated, np.array([4.5]))
    # One rating of A (factors [1, 0...], bias 0.25): the least squares of [p, b] with penalty
    # 0.5 × 1 on each: (x xᵀ + 0.5 I) [p, b] = x × (4.5 - 3.5 - 0.25) with x = [1, 1]: p = b = 0.3.
    assert user.factors[0] == pytest.approx(0.3)
    assert user.bias == pytest.approx(0.3)

    stars = predicted_stars(served, user, served.positions([B, C, D]), with_neighbours=True)

    # B: 3.5 + 0.3 - 0.5 + 0.5 × 0.3 = 3.45, corrected by A's residual (4.5 - (3.5 + 0.3 + 0.25
    # + 0.3) = 0.15) with weight 0.5: 0.5 × 0.15 / (0.5 + 1) = 0.05; C: 3.8 - 0.3 = 3.5, its only
    # neighbour B not rated: no correction; D: unknown to the rating model.
    assert stars[:2].tolist() == pytest.approx([3.5, 3.5])
    assert np.isnan(stars[2])
