"""Served = measured: the list GET /recommendations/personalized serves is the list the offline
evaluation's Hybrid scores, for the same ratings and the same catalogue."""

import httpx
import numpy as np
import pytest
from scipy import sparse

from cinelibre.catalog import repository as catalog_repository
from cinelibre.experiments import service as experiments_service
from cinelibre.experiments.configurations import CONFIGURATIONS, DEFAULT, Configuration
from cinelibre.experiments.schemas import ExperimentCreate, Status
from cinelibre.recommend.algorithms.base import RatingMatrix
from cinelibre.recommend.algorithms.hybrid import Hybrid
from cinelibre.recommend.training import CLICK_WEIGHT, VIEW_WEIGHT, train_rating_model
from cinelibre.search import repository as search_repository
from cinelibre.search.embedder import Embedder
from cinelibre.types import ItemType
from tests.factories import add_movie, register
from tests.test_recommend import add_user, rate

FILMS = {
    "Moon Harbour": "Astronauts stranded on a lunar base fight to get home.",
    "Red Planet Run": "A crew races across the deserts of Mars after their lander fails.",
    "Orbit of Silence": "A lone engineer repairs a dying space station far from Earth.",
    "Star Garden": "Colonists grow the first forest on a distant world.",
    "The Last Waltz in Vienna": "Two dancers fall in love at a ball in nineteenth-century Vienna.",
    "Letters to Provence": "A widow finds romance through letters with a painter in the south of France.",
    "Summer of Lanterns": "Childhood sweethearts meet again at a village festival.",
    "A Kiss in Kyoto": "A translator and a chef fall for each other during cherry blossom season.",
    "Midnight Ledger": "A detective follows a trail of forged accounts through a corrupt city.",
    "The Quiet Witness": "A murder in a lighthouse, and a child who saw everything.",
    "Cold Harbour Case": "An inspector hunts a smuggler along a frozen coast.",
    "Goal Line": "A small-town football team reaches the national final.",
}

# Stars each rater gave, by film title: three tastes (space, romance, crime) that overlap a little.
RATERS = {
    "ana": {"Moon Harbour": 5, "Red Planet Run": 5, "Orbit of Silence": 4, "Star Garden": 4, "Goal Line": 2},
    "ben": {"Moon Harbour": 4, "Red Planet Run": 5, "Star Garden": 5, "Midnight Ledger": 3},
    "caro": {"Orbit of Silence": 5, "Star Garden": 4, "Moon Harbour": 5, "The Quiet Witness": 2},
    "dev": {"The Last Waltz in Vienna": 5, "Letters to Provence": 4, "A Kiss in Kyoto": 5, "Goal Line": 3},
    "eli": {"Letters to Provence": 5, "Summer of Lanterns": 4, "A Kiss in Kyoto": 4, "Moon Harbour": 2},
    "fay": {"Summer of Lanterns": 5, "The Last Waltz in Vienna": 4, "Letters to Provence": 3},
    "gus": {"Midnight Ledger": 5, "The Quiet Witness": 5, "Cold Harbour Case": 4, "Red Planet Run": 3},
    "hal": {"The Quiet Witness": 4, "Cold Harbour Case": 5, "Midnight Ledger": 4, "Goal Line": 4},
    "ivy": {"Cold Harbour Case": 4, "Midnight Ledger": 5, "Summer of Lanterns": 2, "Orbit of Silence": 3},
}
# The user who asks the API: fond of space, cool on crime; with three ratings their list leans on
# content, with six the trained models carry more of it (blend.CF_FULL_WEIGHT_AT).
READERS = {
    "three ratings": {"Moon Harbour": 5, "Orbit of Silence": 4, "Midnight Ledger": 2},
    "six ratings": {
        "Moon Harbour": 5,
        "Orbit of Silence": 4,
        "Midnight Ledger": 2,
        "Letters to Provence": 4,
        "Goal Line": 1,
        "Cold Harbour Case": 3,
    },
}


@pytest.fixture
async def small_catalogue(conn, embedder: Embedder) -> dict[str, int]:
    """The films, embedded with the real model on this test's connection, and the raters'
    ratings; returns each film's id by title."""
    ids = {title: await add_movie(conn, title=title, overview=overview) for title, overview in FILMS.items()}
    pending = await search_repository.pending_documents(
        conn, ItemType.MOVIE, model=embedder.model_name, after_id=0, up_to_id=None, limit=len(FILMS)
    )
    vectors = embedder.embed_documents([row["document"] for row in pending])
    await search_repository.store_embeddings(
        conn,
        ItemType.MOVIE,
        model=embedder.model_name,
        rows=[(row["id"], row["content_hash"], vector) for row, vector in zip(pending, vectors, strict=True)],
    )
    for name, stars in RATERS.items():
        user = await add_user(conn, name)
        for title, value in stars.items():
            await rate(conn, user, ids[title], value)
    return ids


async def stored_embeddings(conn, ids: list[int], model: str) -> np.ndarray:
    rows = await (
        await conn.execute(
            "SELECT movie_id, embedding FROM movie_embeddings WHERE model = %s AND movie_id = ANY(%s)", (model, ids)
        )
    ).fetchall()
    by_id = {row["movie_id"]: np.asarray(row["embedding"].to_numpy(), dtype=np.float64) for row in rows}
    vectors = np.array([by_id[movie] for movie in ids])
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


async def rated_and_trained(
    client: httpx.AsyncClient, conn, small_catalogue: dict[str, int], ratings: dict[str, float]
) -> dict[str, str]:
    """A reader who rated `ratings` through the API, and the models trained on everyone's ratings;
    the reader's Authorization header."""
    headers = await register(client)
    for title, value in ratings.items():
        response = await client.post(
            "/ratings", headers=headers, json={"item_id": small_catalogue[title], "item_type": "movie", "rating": value}
        )
        assert response.status_code == 201, response.text
    await catalog_repository.recompute_rating_aggregates(conn)
    await train_rating_model(conn)
    return headers


async def measured_titles(
    conn,
    small_catalogue: dict[str, int],
    embedder: Embedder,
    ratings: dict[str, float],
    limit: int,
    configuration: Configuration = DEFAULT,
) -> list[str]:
    """The reader's list as the evaluation's Hybrid gives it under `configuration`, from the same
    ratings in memory, numbered as training numbers them (users and items by id)."""
    reader_id = (await (await conn.execute("SELECT id FROM users WHERE email = 'reader@example.com'")).fetchone())["id"]
    triples = [
        (user["id"], small_catalogue[title], value)
        for user in await (await conn.execute("SELECT id, name FROM users WHERE imported_from = 'test'")).fetchall()
        for title, value in RATERS[user["name"]].items()
    ] + [(reader_id, small_catalogue[title], value) for title, value in ratings.items()]
    user_ids = sorted({user for user, _, _ in triples})
    movie_ids = sorted(small_catalogue.values())
    matrix = RatingMatrix.from_triples(
        np.array([user_ids.index(user) for user, _, _ in triples]),
        np.array([movie_ids.index(movie) for _, movie, _ in triples]),
        np.array([value for _, _, value in triples], dtype=np.float32),
        (len(user_ids), len(movie_ids)),
    )
    hybrid = Hybrid(await stored_embeddings(conn, movie_ids, embedder.model_name)).fit(matrix)
    measured = hybrid.configured(configuration).recommend(user_ids.index(reader_id), limit)
    title_of = {movie: title for title, movie in small_catalogue.items()}
    return [title_of[movie_ids[int(item)]] for item in measured]


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("limit", [3, 8])
async def test_the_served_list_is_the_list_the_evaluation_measures(
    client: httpx.AsyncClient, conn, small_catalogue: dict[str, int], embedder: Embedder, limit: int, reader: str
) -> None:
    headers = await rated_and_trained(client, conn, small_catalogue, READERS[reader])

    served = await client.get(
        "/recommendations/personalized", headers=headers, params={"item_type": "movie", "limit": limit}
    )

    measured = await measured_titles(conn, small_catalogue, embedder, READERS[reader], limit)
    assert served.status_code == 200, served.text
    served_titles = [item["title"] for item in served.json()["items"]]
    assert served_titles == measured == EXPECTED[reader][:limit]


# Space first for both; with six ratings the films their fellow space fans rated lead, and the
# romance they rated 4 brings two more, ahead of crime, which they rated below their mean (the
# ranking model counts each rating by its distance from the reader's mean stars); never a film
# they rated.
EXPECTED = {
    "three ratings": [
        "Star Garden",
        "Red Planet Run",
        "Cold Harbour Case",
        "Summer of Lanterns",
        "A Kiss in Kyoto",
        "The Quiet Witness",
        "Goal Line",
        "The Last Waltz in Vienna",
    ],
    "six ratings": [
        "Star Garden",
        "Red Planet Run",
        "Summer of Lanterns",
        "A Kiss in Kyoto",
        "The Quiet Witness",
        "The Last Waltz in Vienna",
    ],
}


# A reader who rated nothing: two space films viewed, one clicked from a list.
VIEWED = {"Moon Harbour": "view", "Orbit of Silence": "view", "Red Planet Run": "click"}


async def test_a_reader_who_only_viewed_gets_the_personal_list_the_evaluation_measures(
    client: httpx.AsyncClient, conn, small_catalogue: dict[str, int], embedder: Embedder
) -> None:
    headers = await register(client)
    for title, kind in VIEWED.items():
        response = await client.post(
            "/interactions",
            headers=headers,
            json={"kind": kind, "item_id": small_catalogue[title], "item_type": "movie"},
        )
        assert response.status_code == 201, response.text
    await catalog_repository.recompute_rating_aggregates(conn)
    await train_rating_model(conn)

    served = await client.get(
        "/recommendations/personalized", headers=headers, params={"item_type": "movie", "limit": 5}
    )

    reader_id = (await (await conn.execute("SELECT id FROM users WHERE email = 'reader@example.com'")).fetchone())["id"]
    raters = await (await conn.execute("SELECT id, name FROM users WHERE imported_from = 'test'")).fetchall()
    triples = [
        (user["id"], small_catalogue[title], value) for user in raters for title, value in RATERS[user["name"]].items()
    ]
    user_ids = sorted({user for user, _, _ in triples} | {reader_id})
    movie_ids = sorted(small_catalogue.values())
    strength = {"view": VIEW_WEIGHT, "click": CLICK_WEIGHT}
    ratings = RatingMatrix.from_triples(
        np.array([user_ids.index(user) for user, _, _ in triples]),
        np.array([movie_ids.index(movie) for _, movie, _ in triples]),
        np.array([value for _, _, value in triples], dtype=np.float32),
        (len(user_ids), len(movie_ids)),
    ).ratings
    views = sparse.csr_matrix(
        (
            [strength[kind] for kind in VIEWED.values()],
            ([user_ids.index(reader_id)] * len(VIEWED), [movie_ids.index(small_catalogue[title]) for title in VIEWED]),
        ),
        shape=ratings.shape,
    )
    hybrid = Hybrid(await stored_embeddings(conn, movie_ids, embedder.model_name)).fit(
        RatingMatrix(ratings, interactions=views)
    )
    measured = hybrid.recommend(user_ids.index(reader_id), 5)

    title_of = {movie: title for title, movie in small_catalogue.items()}
    assert served.status_code == 200, served.text
    served_titles = [item["title"] for item in served.json()["items"]]
    assert served_titles == [title_of[movie_ids[int(item)]] for item in measured]
    # Star Garden, the space film they never opened, leads; what they opened once stays listable
    # (only items viewed or clicked HEAVY_VIEWING times are left out).
    assert served_titles == ["Star Garden", "Moon Harbour", "Orbit of Silence", "Red Planet Run", "Midnight Ledger"]


@pytest.mark.parametrize("configuration", ["popular", "collaborative", "content", "no-diversity", "more-diversity"])
async def test_an_experiment_s_variant_serves_the_list_the_evaluation_measures_for_its_configuration(
    client: httpx.AsyncClient, conn, small_catalogue: dict[str, int], embedder: Embedder, configuration: str
) -> None:
    """Every caller is put in the variant (share 1); the API's list is the list the Hybrid gives
    under the same configuration."""
    running = await experiments_service.create(
        conn,
        ExperimentCreate(
            name="Served = measured",
            surface="personalized",
            variants=[
                {"name": "control", "configuration": "default", "share": 0.0},
                {"name": "variant", "configuration": configuration, "share": 1.0},
            ],
        ),
    )
    await experiments_service.move(conn, running.id, Status.RUNNING)
    reader = READERS["six ratings"]
    headers = await rated_and_trained(client, conn, small_catalogue, reader)

    served = await client.get(
        "/recommendations/personalized", headers=headers, params={"item_type": "movie", "limit": 6}
    )

    measured = await measured_titles(conn, small_catalogue, embedder, reader, 6, CONFIGURATIONS[configuration])
    assert served.status_code == 200, served.text
    assert served.json()["experiment"] == {"id": running.id, "variant": "variant"}
    served_titles = [item["title"] for item in served.json()["items"]]
    assert served_titles == measured
    assert served_titles == CONFIGURED[configuration]


# What each configuration serves the reader with six ratings (the default: EXPECTED above). The
# popular list is the Bayesian-average order without what they rated; the trained models alone and the default's two
# diversity settings agree on so small a catalogue; the content profile alone (what they rated 4
# stars or more: two space films and a romance) is another order.
CONFIGURED = {
    "popular": [
        "Red Planet Run",
        "Star Garden",
        "The Last Waltz in Vienna",
        "A Kiss in Kyoto",
        "Summer of Lanterns",
        "The Quiet Witness",
    ],
    "collaborative": EXPECTED["six ratings"],
    "content": [
        "The Quiet Witness",
        "Red Planet Run",
        "A Kiss in Kyoto",
        "Star Garden",
        "Summer of Lanterns",
        "The Last Waltz in Vienna",
    ],
    "no-diversity": EXPECTED["six ratings"],
    "more-diversity": EXPECTED["six ratings"],
}
