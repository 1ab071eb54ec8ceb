"""Training the models from everything our users rated and viewed, and storing them in
PostgreSQL: the rating model (biased MF) and the ranking model (EASE, sparsified), versioned
together.

A job owns its transactions: the feedback is read, the models are fitted outside any
transaction, then the new versions are written and activated in one transaction, so a failure
at any step leaves the working models serving.
"""

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from anyio import to_thread
from psycopg_pool import AsyncConnectionPool

if TYPE_CHECKING:
    from scipy import sparse

from cinelibre.database.connection import Connection
from cinelibre.recommend import model_repository
from cinelibre.recommend.algorithms.fold_in import REGULARISATION

logger = logging.getLogger(__name__)

RATING_MODEL = "biased-mf"
ITEM_MODEL = "ease"
# The rating model's blend (algorithms.fold_in.BLENDS) that is trained and served.
RATING_BLEND = "learnt"
# The width of model_item_factors.factors, fixed so that an HNSW index can serve it.
FACTORS = 64
VERSIONS_KEPT = 3
# How much an item viewed or clicked without a rating counts for the ranking model, where a
# rating counts 1: the strongest of the user's interactions with it. Judged, not measured: on
# ml-100k's validation folds, ratings turned into views score best counted as whole ratings
# (weights 0.25/0.5/0.75/1: NDCG@10 0.2364/0.2505/0.2566/0.2589), but those are films people
# watched and rated, stronger evidence than a page view (docs/recommendations.md, Implicit
# feedback). A click from a list says more than landing on a page, and a click right after a
# search, when the user went looking, more still; all stay below a rating.
VIEW_WEIGHT = 0.5
CLICK_WEIGHT = 0.6
SEARCH_CLICK_WEIGHT = 0.8
# An item on the user's watchlist or to-read shelf (kind 'want', mostly imported). No public data
# set measures how much a want says about taste, so a want counts as a click.
WANT_WEIGHT = CLICK_WEIGHT
SEARCH_CLICK_WINDOW = "10 minutes"
IMPLICIT_WEIGHTS = {
    "view_weight": VIEW_WEIGHT,
    "click_weight": CLICK_WEIGHT,
    "want_weight": WANT_WEIGHT,
    "search_click_weight": SEARCH_CLICK_WEIGHT,
    "search_window": SEARCH_CLICK_WINDOW,
}
# The ranking model's dense inverse is learnt over at most this many of the most-rated items
# (float32: 5,000 items need about 200 MB while training, in the training process only).
RANKING_MODEL_MAX_ITEMS = 5000
# A run's steps, for a progress bar: read the feedback, fit each model, store both.
TRAINING_STEPS = 4
StartProgress = Callable[[str, int], Callable[[int], None]]


@dataclass(frozen=True)
class TrainedModel:
    version: int
    ratings_seen: int
    items: int


class NothingToLearnError(RuntimeError):
    pass


class TrainingBusyError(RuntimeError):
    pass


async def retraining_due(conn: Connection, *, min_new_ratings: int) -> bool:
    if min_new_ratings <= 0:
        return False
    return await model_repository.new_ratings_since_training(conn, RATING_MODEL) >= min_new_ratings


async def train_rating_model(
    conn: Connection,
    *,
    regularisation: float = REGULARISATION,
    max_items: int = RANKING_MODEL_MAX_ITEMS,
    start_progress: StartProgress = lambda description, total: lambda steps: None,
) -> TrainedModel:
    """Train and activate new versions, holding the training lock for the whole run.
    `start_progress(description, TRAINING_STEPS)` is called once the lock is held."""
    if not await model_repository.try_training_lock(conn):
        raise TrainingBusyError("another process is training the rating model")
    try:
        advance = start_progress("Training", TRAINING_STEPS)
        return await _train(conn, regularisation=regularisation, max_items=max_items, advance=advance)
    finally:
        await model_repository.release_training_lock(conn)


async def train(
    pool: AsyncConnectionPool[Connection],
    *,
    max_items: int = RANKING_MODEL_MAX_ITEMS,
    start_progress: StartProgress = lambda description, total: lambda steps: None,
) -> TrainedModel:
    """train_rating_model on a connection of its own and outside any transaction: the training
    lock stays on that connection for the whole run, and each step commits by itself."""
    async with pool.connection() as conn:
        return await train_rating_model(conn, max_items=max_items, start_progress=start_progress)


async def _train(
    conn: Connection, *, regularisation: float, max_items: int, advance: Callable[[int], None]
) -> TrainedModel:
    # Imported here: the API process imports this module for retraining_due() and must not load
    # SciPy, which only training needs.
    from scipy import sparse

    from cinelibre.recommend.algorithms import blend
    from cinelibre.recommend.algorithms.base import RatingMatrix
    from cinelibre.recommend.algorithms.ease import EASE
    from cinelibre.recommend.algorithms.hybrid import EASE_NEIGHBOURS, EASE_REGULARISATION
    from cinelibre.recommend.algorithms.rating_model import RatingModel

    async with conn.transaction():
        ratings = await model_repository.all_ratings(conn)
        viewed = await model_repository.all_viewed(conn, IMPLICIT_WEIGHTS)
    if not len(ratings):
        raise NothingToLearnError("no ratings to learn from yet")
    advance(1)
    both = np.concatenate([ratings, viewed])
    user_ids, user_index = np.unique(both["user_id"], return_inverse=True)
    # Item keys pack (is_book, id) into one integer so np.unique can number them.
    item_keys, item_index = np.unique(both["is_book"].astype(np.int64) << 62 | both["item_id"], return_inverse=True)
    shape = (len(user_ids), len(item_keys))
    rated = len(ratings)
    matrix = RatingMatrix(
        RatingMatrix.from_triples(user_index[:rated], item_index[:rated], ratings["value"], shape).ratings,
        interactions=sparse.csr_matrix(
            (viewed["value"].astype(np.float32), (user_index[rated:], item_index[rated:])), shape
        ),
    )
    rating = RatingModel(factors=FACTORS, regularisation=regularisation, max_items=max_items, blend=RATING_BLEND)
    await to_thread.run_sync(rating.fit, matrix)
    advance(1)
    model = rating.mf
    ranking = EASE(
        EASE_REGULARISATION, neighbours=EASE_NEIGHBOURS, max_items=max_items, rating_emphasis=blend.RATING_EMPHASIS
    )
    await to_thread.run_sync(ranking.fit, matrix)
    advance(1)
    items = [("book" if key >> 62 else "movie", int(key & ((1 << 62) - 1))) for key in item_keys]
    rated_items = np.unique(item_index[:rated])
    async with conn.transaction():
        version = await model_repository.store_rating_model(
            conn,
            kind=RATING_MODEL,
            ratings_seen=rated,
            # "blend" tells the API how to combine the stored parts (versions without it were
            # trained for MF with its correction alone).
            parameters={
                "mean": model.mean,
                "factors": FACTORS,
                "regularisation": regularisation,
                "neighbours": rating.neighbours,
                "blend": RATING_BLEND,
            },
            items=[items[index] for index in rated_items],
            biases=model.item_bias[rated_items],
            factors=model.item_factors[rated_items],
            item_ratings=rating.item_ratings[rated_items],
            neighbours=_links(rating.similarity, items),
            versions_kept=VERSIONS_KEPT,
        )
        await model_repository.store_item_model(
            conn,
            kind=ITEM_MODEL,
            ratings_seen=rated,
            parameters={
                "regularisation": EASE_REGULARISATION,
                "neighbours": EASE_NEIGHBOURS,
                "rating_emphasis": blend.RATING_EMPHASIS,
                "items": len(ranking.items),
            },
            links=_links(ranking.weights, items),
            versions_kept=VERSIONS_KEPT,
        )
    advance(1)
    logger.info(
        "models v%s trained on %s ratings and %s views of %s items", version, rated, len(viewed), len(item_keys)
    )
    return TrainedModel(version=version, ratings_seen=rated, items=len(rated_items))


def _links(weights: "sparse.csr_matrix", items: list[tuple[str, int]]) -> Iterator[tuple[str, int, str, int, float]]:
    """A sparse item × item matrix as rows of model_item_neighbours, made as COPY takes them (a
    list of a million tuples would cost more memory than the models)."""
    links = weights.tocoo()
    for row, column, weight in zip(links.row.tolist(), links.col.tolist(), links.data.tolist(), strict=True):
        yield (*items[row], *items[column], weight)
