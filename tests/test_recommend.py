import math

import httpx
import pytest

from cinelibre.catalog import repository as catalog_repository
from cinelibre.recommend import service as recommend_service
from cinelibre.recommend.serving import ModelStore
from cinelibre.types import ItemType
from tests.factories import add_book, add_movie, register


async def add_user(conn, name: str) -> int:
    row = await (
        await conn.execute(
            "INSERT INTO users (name, imported_from, external_id) VALUES (%s, 'test', %s) RETURNING id",
            (name, abs(hash(name)) % 10**9),
        )
    ).fetchone()
    return row["id"]


async def rate(conn, user_id: int, item_id: int, stars: float, item_type: str = "movie", days_ago: int = 0) -> None:
    await conn.execute(
        """INSERT INTO ratings (user_id, item_type, item_id, rating, created_at, updated_at)
        VALUES (%s, %s, %s, %s, now() - make_interval(days => %s), now() - make_interval(days => %s))""",
        (user_id, item_type, item_id, stars, days_ago, days_ago),
    )


def pearson(xs: list[float], ys: list[float]) -> float:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return cov / math.sqrt(sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys))


# ----- the Pearson user-kNN (get_collaborative_recommendations), by hand ---------------------------
#
#          i1  i2  i3  i4  i5  i6
# target    5   3   4   1   .   .
# alice     4   2   3   1   5   .     4 common, r = 0.98271  -> neighbour
# bob       1   5   2   .   .   4     3 common, r = -0.9608  -> not similar enough
# carol     5   4   .   .   2   .     2 common               -> too few in common
# dave      3   1   2   2   1   5     4 common, r = 0.47809  -> neighbour


@pytest.fixture
async def pearson_example(conn) -> dict[str, int]:
    items = {f"i{n}": await add_movie(conn, title=f"Film {n}") for n in range(1, 7)}
    table = {
        "target": {"i1": 5, "i2": 3, "i3": 4, "i4": 1},
        "alice": {"i1": 4, "i2": 2, "i3": 3, "i4": 1, "i5": 5},
        "bob": {"i1": 1, "i2": 5, "i3": 2, "i6": 4},
        "carol": {"i1": 5, "i2": 4, "i5": 2},
        "dave": {"i1": 3, "i2": 1, "i3": 2, "i4": 2, "i5": 1, "i6": 5},
    }
    ids = dict(items)
    for name, row in table.items():
        ids[name] = await add_user(conn, name)
        for item, stars in row.items():
            await rate(conn, ids[name], items[item], stars)
    return ids


async def test_pearson_knn_predicts_from_similar_users_only(conn, pearson_example: dict[str, int]) -> None:
    rows = await (
        await conn.execute("SELECT * FROM get_collaborative_recommendations(%s)", (pearson_example["target"],))
    ).fetchall()

    target_mean = (5 + 3 + 4 + 1) / 4
    alice_r = pearson([5, 3, 4, 1], [4, 2, 3, 1])
    dave_r = pearson([5, 3, 4, 1], [3, 1, 2, 2])
    alice_mean, dave_mean = (4 + 2 + 3 + 1 + 5) / 5, (3 + 1 + 2 + 2 + 1 + 5) / 6
    i6 = target_mean + dave_r * (5 - dave_mean) / dave_r
    i5 = target_mean + (alice_r * (5 - alice_mean) + dave_r * (1 - dave_mean)) / (alice_r + dave_r)
    assert (round(alice_r, 5), round(dave_r, 5)) == (0.98271, 0.47809)
    assert [(r["item_id"], r["neighbour_count"]) for r in rows] == [
        (pearson_example["i6"], 1),
        (pearson_example["i5"], 2),
    ]
    assert [r["predicted_rating"] for r in rows] == pytest.approx([i6, i5])
    assert [round(r["predicted_rating"], 4) for r in rows] == [5.9167, 4.1591]


async def test_pearson_knn_needs_three_common_items_and_correlation_above_0_3(conn, pearson_example) -> None:
    strict = await (
        await conn.execute(
            "SELECT * FROM get_collaborative_recommendations(%s, 20, NULL, 3, 0.5)", (pearson_example["target"],)
        )
    ).fetchall()
    few_in_common = await (
        await conn.execute(
            "SELECT * FROM get_collaborative_recommendations(%s, 20, NULL, 5)", (pearson_example["target"],)
        )
    ).fetchall()

    # With correlation > 0.5 only alice remains: i5 is predicted from her alone, i6 not at all.
    assert [(r["item_id"], round(r["predicted_rating"], 4)) for r in strict] == [(pearson_example["i5"], 5.25)]
    assert few_in_common == []


async def test_pearson_knn_for_a_user_without_ratings_is_empty(conn) -> None:
    lonely = await add_user(conn, "lonely")

    rows = await (await conn.execute("SELECT * FROM get_collaborative_recommendations(%s)", (lonely,))).fetchall()

    assert rows == []


# ----- popular --------------------------------------------------------------------------------


@pytest.fixture
async def popularity_example(conn) -> dict[str, int]:
    one_vote = await add_movie(conn, title="One Vote")
    steady = await add_movie(conn, title="Steady")
    crowd = await add_movie(conn, title="Crowd")
    old_hit = await add_movie(conn, title="Old Hit")
    novel = await add_book(conn, title="Novel")
    users = [await add_user(conn, f"u{n}") for n in range(12)]
    await rate(conn, users[0], one_vote, 5)
    for user in users[:4]:
        await rate(conn, user, steady, 4.5)
    for n, user in enumerate(users[:10]):
        await rate(conn, user, crowd, 4 if n % 2 else 4.5)
    for user in users:
        await rate(conn, user, old_hit, 5, days_ago=400)
    await rate(conn, users[0], novel, 3, item_type="book")
    await catalog_repository.recompute_rating_aggregates(conn)
    return {"one_vote": one_vote, "steady": steady, "crowd": crowd, "old_hit": old_hit, "novel": novel}


def bayes(total: float, count: int, prior_rating: float = 2.75, prior_weight: float = 5) -> float:
    return (prior_rating * prior_weight + total) / (prior_weight + count)


async def test_popular_ranks_by_bayesian_average_so_one_vote_never_tops(
    client: httpx.AsyncClient, popularity_example: dict[str, int]
) -> None:
    response = await client.get("/recommendations/popular", params={"item_type": "movie"})

    items = response.json()["items"]
    expected = sorted(
        [("Old Hit", bayes(60, 12)), ("Crowd", bayes(42.5, 10)), ("Steady", bayes(18, 4)), ("One Vote", bayes(5, 1))],
        key=lambda pair: -pair[1],
    )
    assert [(i["title"], i["item_type"]) for i in items] == [(title, "movie") for title, _ in expected]
    assert [i["score"] for i in items] == pytest.approx([score for _, score in expected])
    assert items[0]["reason"] == "rated 5.0★ on average by 12 of our users"


async def test_popular_at_the_default_prior_reads_the_stored_order_and_agrees_with_scoring(
    conn, popularity_example: dict[str, int]
) -> None:
    # Two more with Steady's exact score (a tie broken by rating count, then type, then id), one a book.
    twin = await add_movie(conn, title="Steady Twin")
    book_twin = await add_book(conn, title="Steady Book")
    raters = [await add_user(conn, f"twin{n}") for n in range(4)]
    for user in raters:
        await rate(conn, user, twin, 4.5)
        await rate(conn, user, book_twin, 4.5, item_type="book")
    await catalog_repository.recompute_rating_aggregates(conn)

    async def popular(*prior: float) -> list[tuple]:
        cursor = await conn.execute("SELECT * FROM get_popular_items(NULL, NULL, 10, %s, %s)", prior)
        return [(row["item_type"], row["item_id"], row["score"]) for row in await cursor.fetchall()]

    stored = await popular(5.0, 2.75)
    # A prior that ranks the same way on these items but is not the default, so every item is scored.
    scored = await popular(5.0, 2.7500000001)
    # Whether the index can serve the order; with a handful of rows, and statistics autovacuum may
    # have gathered on this database meanwhile, the planner would rightly rather scan and sort.
    await conn.execute("SET LOCAL enable_seqscan = off")
    plan = await conn.execute(
        "EXPLAIN SELECT * FROM movies WHERE rating_count > 0 ORDER BY popular_score DESC, rating_count DESC, id LIMIT 5"
    )

    steady = bayes(18, 4)
    assert [(kind, item_id) for kind, item_id, _ in stored] == [
        ("movie", popularity_example["old_hit"]),
        ("movie", popularity_example["crowd"]),
        ("book", book_twin),
        ("movie", popularity_example["steady"]),
        ("movie", twin),
        ("movie", popularity_example["one_vote"]),
        ("book", popularity_example["novel"]),
    ]
    assert [score for _, _, score in stored][2:5] == [steady, steady, steady]
    assert [(kind, item_id) for kind, item_id, _ in scored] == [(kind, item_id) for kind, item_id, _ in stored]
    assert "movies_popular_order_idx" in " ".join(str(row) for row in await plan.fetchall())


async def test_popular_window_only_counts_recent_activity(
    client: httpx.AsyncClient, popularity_example: dict[str, int]
) -> None:
    response = await client.get("/recommendations/popular", params={"window_days": 30, "limit": 10})

    titles = [i["title"] for i in response.json()["items"]]
    assert titles == ["Crowd", "Steady", "One Vote", "Novel"]
    assert response.json()["items"][0]["reason"].endswith("in the last 30 days")


async def test_popular_on_an_empty_catalogue_is_an_empty_list(client: httpx.AsyncClient) -> None:
    response = await client.get("/recommendations/popular")

    assert response.status_code == 200
    assert response.json() == {"list_id": response.json()["list_id"], "items": []}


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"item_type": "song"},
        {"window_days": 0},
        {"window_days": 31},
        {"window_days": "x"},
    ],
)
async def test_popular_refuses_bad_parameters(client: httpx.AsyncClient, params: dict) -> None:
    response = await client.get("/recommendations/popular", params=params)

    assert response.status_code == 422


async def test_popular_windows_are_a_few_fixed_ones_named_in_the_refusal(client: httpx.AsyncClient) -> None:
    allowed = [
        (await client.get("/recommendations/popular", params={"window_days": d})).status_code for d in (7, 30, 90, 365)
    ]
    refused = await client.get("/recommendations/popular", params={"window_days": 14})

    assert allowed == [200, 200, 200, 200]
    message = "must be one of 7, 30, 90, 365, or left out for all time"
    assert refused.status_code == 422
    assert refused.json() == {
        "error": {
            "code": "validation_error",
            "message": f"Invalid request: query.window_days: {message}",
            "details": [{"field": "query.window_days", "message": message}],
        }
    }


# ----- predicted ratings ----------------------------------------------------------------------


async def test_prediction_uses_similar_users_then_falls_back_to_the_baseline(conn, pearson_example) -> None:
    target = pearson_example["target"]

    from_neighbours = await recommend_service.predict(
        conn, models=ModelStore(), user_id=target, item_type=ItemType.MOVIE, item_id=pearson_example["i5"]
    )
    own = await recommend_service.predict(
        conn, models=ModelStore(), user_id=target, item_type=ItemType.MOVIE, item_id=pearson_example["i1"]
    )
    lonely = await add_user(conn, "lonely")
    cold = await recommend_service.predict(
        conn, models=ModelStore(), user_id=lonely, item_type=ItemType.MOVIE, item_id=pearson_example["i1"]
    )

    assert (from_neighbours.predicted_rating, from_neighbours.method, from_neighbours.neighbour_count) == (
        4.2,
        "collaborative",
        2,
    )
    assert (own.predicted_rating, own.method) == (5.0, "your rating")
    # No ratings of their own: the mean of all ratings plus i1's damped offset from it.
    all_stars = [5, 3, 4, 1, 4, 2, 3, 1, 5, 1, 5, 2, 4, 5, 4, 2, 3, 1, 2, 2, 1, 5]
    mean = sum(all_stars) / len(all_stars)
    i1 = [5, 4, 1, 5, 3]
    assert cold.method == "baseline"
    assert cold.predicted_rating == round(mean + sum(s - mean for s in i1) / (len(i1) + 10), 1)


async def test_predict_needs_a_token_and_a_known_item(client: httpx.AsyncClient) -> None:
    headers = await register(client)

    anonymous = await client.get("/recommendations/predict/movie/1")
    unknown = await client.get("/recommendations/predict/movie/999999", headers=headers)
    bad_type = await client.get("/recommendations/predict/song/1", headers=headers)

    assert anonymous.status_code == 401
    assert unknown.status_code == 404
    assert bad_type.status_code == 422


# ----- similar items gain a collaborative signal -------------------------------------------------


async def test_similar_items_include_what_the_same_users_rated(client: httpx.AsyncClient, conn) -> None:
    source = await add_movie(conn, title="Source")
    companion = await add_movie(conn, title="Companion")
    stranger = await add_movie(conn, title="Stranger")
    for n in range(6):
        user = await add_user(conn, f"fan{n}")
        await rate(conn, user, source, 4)
        await rate(conn, user, companion, 5)
    await conn.execute("UPDATE movies SET rating_count = 6 WHERE id IN (%s, %s)", (source, companion))
    loner = await add_user(conn, "loner")
    await rate(conn, loner, stranger, 5)

    response = await client.get(f"/recommendations/similar/movie/{source}")

    assert [item["title"] for item in response.json()["items"]] == ["Companion"]
