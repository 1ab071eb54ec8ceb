import numpy as np
import psycopg
import pytest

from cinelibre.catalog import repository as catalog_repository
from cinelibre.database.locks import AdvisoryLock
from cinelibre.recommend import model_repository
from cinelibre.recommend import service as recommend_service
from cinelibre.recommend.algorithms.blend import RATING_EMPHASIS
from cinelibre.recommend.algorithms.fold_in import ITEM_LOG_RATINGS, LEARNT_BLEND, USER_LOG_RATINGS, fold_in
from cinelibre.recommend.serving import ModelStore
from cinelibre.recommend.training import (
    IMPLICIT_WEIGHTS,
    NothingToLearnError,
    TrainingBusyError,
    retraining_due,
    train_rating_model,
)
from cinelibre.types import ItemType
from tests.factories import add_movie, register
from tests.test_recommend import add_user, rate


@pytest.fixture
async def rated_catalogue(conn) -> dict:
    rng = np.random.default_rng(3)
    movies = [await add_movie(conn, title=f"Film {n}") for n in range(8)]
    users = [await add_user(conn, f"rater{n}") for n in range(12)]
    for user in users:
        for movie in rng.choice(movies, size=5, replace=False):
            await rate(conn, user, int(movie), float(rng.integers(1, 6)))
    await catalog_repository.recompute_rating_aggregates(conn)
    return {"movies": movies, "users": users}


async def test_training_stores_a_versioned_active_model(conn, rated_catalogue) -> None:
    first = await train_rating_model(conn)
    second = await train_rating_model(conn)

    models = await (
        await conn.execute(
            "SELECT version, is_active, ratings_seen FROM recommender_models WHERE kind = 'biased-mf' ORDER BY version"
        )
    ).fetchall()
    factors = await (
        await conn.execute(
            "SELECT count(*) AS n FROM model_item_factors f "
            "JOIN recommender_models m ON m.id = f.model_id WHERE m.is_active"
        )
    ).fetchone()
    assert (first.version, second.version, second.ratings_seen, second.items) == (1, 2, 60, 8)
    assert [(m["version"], m["is_active"], m["ratings_seen"]) for m in models] == [(1, False, 60), (2, True, 60)]
    assert factors["n"] == 8
    item_models = await (
        await conn.execute("SELECT version, is_active FROM recommender_models WHERE kind = 'ease' ORDER BY 1")
    ).fetchall()
    links = await (
        await conn.execute(
            "SELECT count(*) AS n, count(*) FILTER (WHERE item_id = neighbour_id) AS self_links "
            "FROM model_item_neighbours n JOIN recommender_models m ON m.id = n.model_id WHERE m.is_active"
        )
    ).fetchone()
    assert [(m["version"], m["is_active"]) for m in item_models] == [(1, False), (2, True)]
    assert links["n"] > 0
    assert links["self_links"] == 0


async def test_the_ranking_model_is_ease_on_ratings_and_views(conn, rated_catalogue) -> None:
    movies, users = rated_catalogue["movies"], rated_catalogue["users"]
    stars = {
        (row["user_id"], row["item_id"]): float(row["rating"])
        for row in await (await conn.execute("SELECT * FROM ratings")).fetchall()
    }
    rated = set(stars)
    viewed = [(user, movie) for user in users[:6] for movie in movies if (user, movie) not in rated][:4]
    for user, movie in viewed + viewed[:1]:  # a second view of the same film counts once
        await conn.execute(
            "INSERT INTO interactions (user_id, kind, item_type, item_id) VALUES (%s, 'view', 'movie', %s)",
            (user, movie),
        )

    await train_rating_model(conn)

    stored = await (
        await conn.execute(
            "SELECT n.item_id, n.neighbour_id, n.weight FROM model_item_neighbours n "
            "JOIN recommender_models m ON m.id = n.model_id WHERE m.is_active AND m.kind = 'ease'"
        )
    ).fetchall()
    # A rating counts 1 plus RATING_EMPHASIS per star above the rater's mean; a view its weight.
    feedback = np.zeros((len(users), len(movies)))
    for (user, movie), given in stars.items():
        mean = np.mean([value for (rater, _), value in stars.items() if rater == user])
        feedback[users.index(user), movies.index(movie)] = 1.0 + RATING_EMPHASIS * (given - mean)
    for user, movie in viewed:
        feedback[users.index(user), movies.index(movie)] = 0.5
    precision = np.linalg.inv(feedback.T @ feedback + 500.0 * np.eye(len(movies)))
    expected = -precision / np.diag(precision)
    np.fill_diagonal(expected, 0.0)
    assert {(movies.index(r["item_id"]), movies.index(r["neighbour_id"])): r["weight"] for r in stored} == {
        (row, column): pytest.approx(expected[row, column], rel=1e-4)
        for row, column in zip(*np.nonzero(expected), strict=True)
    }


async def test_only_the_last_three_versions_are_kept(conn, rated_catalogue) -> None:
    for _ in range(5):
        await train_rating_model(conn)

    versions = await (
        await conn.execute("SELECT version FROM recommender_models WHERE kind = 'biased-mf' ORDER BY 1")
    ).fetchall()
    assert [row["version"] for row in versions] == [3, 4, 5]


async def test_a_failed_training_leaves_the_working_model(conn, rated_catalogue) -> None:
    await train_rating_model(conn)
    await conn.execute("DELETE FROM ratings")

    with pytest.raises(NothingToLearnError):
        await train_rating_model(conn)

    active = await (
        await conn.execute("SELECT version FROM recommender_models WHERE is_active AND kind = 'biased-mf'")
    ).fetchall()
    assert [row["version"] for row in active] == [1]


async def test_predictions_fold_in_a_new_rating_at_once(client, conn, rated_catalogue) -> None:
    await train_rating_model(conn)
    headers = await register(client)
    movies = rated_catalogue["movies"]
    await client.post("/ratings", headers=headers, json={"item_id": movies[0], "item_type": "movie", "rating": 5})

    before = (await client.get(f"/recommendations/predict/movie/{movies[1]}", headers=headers)).json()
    await client.post("/ratings", headers=headers, json={"item_id": movies[2], "item_type": "movie", "rating": 0.5})
    after = (await client.get(f"/recommendations/predict/movie/{movies[1]}", headers=headers)).json()

    assert before["method"] == after["method"] == "rating model"
    assert after["predicted_rating"] != before["predicted_rating"]


async def test_served_prediction_equals_the_fitted_models_fold_in(conn, rated_catalogue) -> None:
    trained = await train_rating_model(conn)
    user = rated_catalogue["users"][0]
    rows = await (
        await conn.execute(
            """SELECT r.item_id, r.rating::float8 AS rating, f.bias, f.factors, f.ratings AS count
           FROM ratings r JOIN model_item_factors f
           ON f.item_type = r.item_type AND f.item_id = r.item_id
           JOIN recommender_models m ON m.id = f.model_id AND m.is_active AND m.kind = 'biased-mf'
           WHERE r.user_id = %s""",
            (user,),
        )
    ).fetchall()
    parameters = (
        await (
            await conn.execute("SELECT parameters FROM recommender_models WHERE is_active AND kind = 'biased-mf'")
        ).fetchone()
    )["parameters"]
    rated = {
        r["item_id"]
        for r in await (await conn.execute("SELECT item_id FROM ratings WHERE user_id = %s", (user,))).fetchall()
    }
    target = next(movie for movie in rated_catalogue["movies"] if movie not in rated)
    item = await (
        await conn.execute(
            "SELECT bias, factors, ratings AS count FROM model_item_factors WHERE item_id = %s AND model_id = "
            "(SELECT id FROM recommender_models WHERE is_active AND kind = 'biased-mf')",
            (target,),
        )
    ).fetchone()

    neighbours = await (
        await conn.execute(
            """SELECT n.neighbour_id, n.weight::float8 AS weight FROM model_item_neighbours n
           JOIN recommender_models m ON m.id = n.model_id AND m.is_active AND m.kind = 'biased-mf'
           WHERE n.item_id = %s""",
            (target,),
        )
    ).fetchall()

    def vector(value) -> np.ndarray:
        return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=np.float64)

    vectors = np.array([vector(r["factors"]) for r in rows])
    biases, stars = np.array([r["bias"] for r in rows]), np.array([r["rating"] for r in rows])
    factors, bias = fold_in(vectors, biases, stars, parameters["mean"], parameters["regularisation"])
    residuals = {
        r["item_id"]: r["rating"] - (parameters["mean"] + bias + r["bias"] + vector(r["factors"]) @ factors)
        for r in rows
    }
    bias_residuals = {r["item_id"]: r["rating"] - (parameters["mean"] + bias + r["bias"]) for r in rows}
    used = [(n["weight"], n["neighbour_id"]) for n in neighbours if n["neighbour_id"] in residuals]
    damped_weight = sum(w for w, _ in used) + 1.0
    factor_correction = sum(w * residuals[j] for w, j in used) / damped_weight
    bias_correction = sum(w * bias_residuals[j] for w, j in used) / damped_weight
    bias_stars = parameters["mean"] + bias + item["bias"]
    factor_stars = bias_stars + float(vector(item["factors"]) @ factors)
    # Each part's weight is a quadratic in the log rating counts of the user and the item.
    u = np.clip(np.log1p(len(rows)), *USER_LOG_RATINGS)
    i = np.clip(np.log1p(item["count"]), *ITEM_LOG_RATINGS)
    terms = np.array([1.0, u, i, u * i, u * u, i * i])
    parts = np.array([1.0, factor_stars, factor_correction, bias_stars, bias_correction])
    expected = min(5.0, max(0.5, float(parts @ LEARNT_BLEND.weights @ terms)))
    counted = await (
        await conn.execute("SELECT count(*) AS n FROM ratings WHERE item_type = 'movie' AND item_id = %s", (target,))
    ).fetchone()

    models = ModelStore()
    served = await recommend_service.predict(
        conn, models=models, user_id=user, item_type=ItemType.MOVIE, item_id=target
    )
    stars = await recommend_service.model_predictions(conn, models=models, user_id=user, items=[("movie", target)])

    assert trained.version == 1
    assert parameters["blend"] == "learnt"
    assert item["count"] == counted["n"] > 0  # the item's count is what training saw
    assert len(used) > 0  # the corrections take part
    assert served.method == "rating model"
    assert stars == {("movie", target): pytest.approx(expected, abs=1e-9)}
    assert served.predicted_rating == round(expected, 1)

    # A version trained before the blend (no "blend", no counts) is served as it was fitted:
    # MF with its correction (versions are never changed in place: a process that has not loaded
    # one yet, with a store of its own, reads it as stored).
    await conn.execute("UPDATE recommender_models SET parameters = parameters - 'blend' WHERE kind = 'biased-mf'")
    await conn.execute("UPDATE model_item_factors SET ratings = NULL")
    unblended = await recommend_service.model_predictions(
        conn, models=ModelStore(), user_id=user, items=[("movie", target)]
    )
    assert unblended == {("movie", target): pytest.approx(min(5.0, max(0.5, factor_stars + factor_correction)))}


async def test_retraining_is_due_after_enough_new_ratings(conn, rated_catalogue) -> None:
    assert await retraining_due(conn, min_new_ratings=60) is True
    assert await retraining_due(conn, min_new_ratings=61) is False

    await train_rating_model(conn)
    after_training = await retraining_due(conn, min_new_ratings=1)
    newcomer = await add_user(conn, "newcomer")
    await rate(conn, newcomer, rated_catalogue["movies"][0], 4)

    assert after_training is False
    assert await retraining_due(conn, min_new_ratings=1) is True
    assert await retraining_due(conn, min_new_ratings=0) is False  # 0 turns retraining off


async def test_only_one_process_trains_at_a_time(conn, rated_catalogue, database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url) as other:
        await other.execute("SELECT pg_advisory_lock(%s)", (int(AdvisoryLock.TRAINING),))

        with pytest.raises(TrainingBusyError):
            await train_rating_model(conn)

        await other.execute("SELECT pg_advisory_unlock(%s)", (int(AdvisoryLock.TRAINING),))
    assert (await train_rating_model(conn)).version == 1


async def test_personalized_uses_the_trained_item_model_with_its_reason(client, conn) -> None:
    alpha = await add_movie(conn, title="Alpha")
    beta = await add_movie(conn, title="Beta")
    gamma = await add_movie(conn, title="Gamma")
    for n in range(8):
        fan = await add_user(conn, f"fan{n}")
        await rate(conn, fan, alpha, 5)
        await rate(conn, fan, beta, 4.5)
        if n < 2:
            await rate(conn, fan, gamma, 2)
    await catalog_repository.recompute_rating_aggregates(conn)
    await train_rating_model(conn)
    headers = await register(client)
    await client.post("/ratings", headers=headers, json={"item_id": alpha, "item_type": "movie", "rating": 5})

    response = await client.get("/recommendations/personalized", headers=headers, params={"item_type": "movie"})

    items = response.json()["items"]
    assert [i["title"] for i in items] == ["Beta", "Gamma"]
    assert items[0]["reason"] == "people who liked Alpha rated it too"
    assert items[0]["predicted_rating"] is not None


async def test_similar_items_follow_the_rating_models_factors(client, conn, rated_catalogue) -> None:
    await train_rating_model(conn)
    counts = await (
        await conn.execute("SELECT item_id, count(*) AS n FROM ratings GROUP BY item_id ORDER BY n DESC, item_id")
    ).fetchall()
    source = counts[0]["item_id"]
    rows = await (
        await conn.execute(
            "SELECT f.item_id, f.factors FROM model_item_factors f "
            "JOIN recommender_models m ON m.id = f.model_id AND m.is_active AND m.kind = 'biased-mf'"
        )
    ).fetchall()
    vectors = {r["item_id"]: np.asarray(r["factors"].to_numpy(), dtype=np.float64) for r in rows}
    cosine = {
        item: vector @ vectors[source] / np.linalg.norm(vector) / np.linalg.norm(vectors[source])
        for item, vector in vectors.items()
        if item != source
    }

    response = await client.get(f"/recommendations/similar/movie/{source}", params={"limit": 3})

    assert counts[0]["n"] >= 5
    assert [item["id"] for item in response.json()["items"]] == sorted(cosine, key=lambda i: (-cosine[i], i))[:3]


async def test_each_kind_of_interaction_counts_with_its_own_weight(conn) -> None:
    films = [await add_movie(conn, title=f"Film {n}") for n in range(6)]
    user = await add_user(conn, "browser")
    await rate(conn, user, films[5], 4.0)
    # (kind, film or None for a search, minutes after the first interaction)
    history = [
        ("view", films[0], 0),
        ("view", films[0], 1),  # a second view is no stronger than one
        ("click", films[1], 2),
        ("search", None, 30),
        ("click", films[2], 32),  # two minutes after searching: the user went looking for it
        ("click", films[3], 55),  # twenty-five minutes after: an ordinary click
        ("view", films[4], 60),
        ("click", films[4], 61),  # the strongest interaction with an item counts
        ("view", films[5], 62),  # rated: the rating speaks for it
    ]
    for kind, film, minutes in history:
        await conn.execute(
            "INSERT INTO interactions (user_id, kind, item_type, item_id, query, created_at) "
            "VALUES (%s, %s, %s, %s, %s, now() - interval '2 hours' + make_interval(mins => %s))",
            (user, kind, None if film is None else "movie", film, "haunted house" if film is None else None, minutes),
        )

    viewed = await model_repository.all_viewed(conn, IMPLICIT_WEIGHTS)

    assert sorted((int(row["item_id"]), round(float(row["value"]), 3)) for row in viewed) == [
        (films[0], 0.5),
        (films[1], 0.6),
        (films[2], 0.8),
        (films[3], 0.6),
        (films[4], 0.6),
    ]


async def test_a_view_and_then_a_rating_change_the_next_list_without_retraining(client, conn, rated_catalogue) -> None:
    movies = rated_catalogue["movies"]
    headers = await register(client)
    await client.post("/ratings", headers=headers, json={"item_id": movies[0], "item_type": "movie", "rating": 5})
    await train_rating_model(conn)

    async def listed() -> dict[int, float]:
        response = await client.get("/recommendations/personalized", headers=headers, params={"limit": 7})
        assert response.status_code == 200, response.text
        return {item["id"]: item["score"] for item in response.json()["items"]}

    trained = await listed()
    await client.post(
        "/interactions", headers=headers, json={"kind": "view", "item_id": movies[3], "item_type": "movie"}
    )
    viewed = await listed()
    await client.post("/ratings", headers=headers, json={"item_id": movies[5], "item_type": "movie", "rating": 1})
    rated = await listed()

    # The view adds its stored links to the user's sums; the rating takes the item out and moves
    # the rest. No model was trained in between.
    models = await (await conn.execute("SELECT count(*) AS n FROM recommender_models")).fetchone()
    assert models["n"] == 2
    assert viewed != trained
    assert movies[5] in viewed and movies[5] not in rated
    assert set(rated) == set(movies[1:]) - {movies[5]}
    assert rated != {movie: score for movie, score in viewed.items() if movie != movies[5]}
