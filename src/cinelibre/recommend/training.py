"""Training the models from everything our users rated, and storing them in PostgreSQL: the
rating model (biased MF) and the item-to-item model (item-kNN), versioned together.

A job owns its transactions: the ratings are read, the model is fitted outside any transaction,
then the new version is written and activated in one transaction, so a failure at any step
leaves the working model serving.
"""

import logging
from dataclasses import dataclass

import numpy as np
from anyio import to_thread

from cinelibre.database.connection import Connection
from cinelibre.recommend import repository

logger = logging.getLogger(__name__)

RATING_MODEL = "biased-mf"
ITEM_MODEL = "item-knn"
VERSIONS_KEPT = 3
ITEM_NEIGHBOURS = 100


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
    return await repository.new_ratings_since_training(conn, RATING_MODEL) >= min_new_ratings


async def train_rating_model(conn: Connection, *, factors: int = 64, regularisation: float = 0.12) -> TrainedModel:
    """Train and activate a new version, holding the training lock for the whole run."""
    if not await repository.try_training_lock(conn):
        raise TrainingBusyError("another process is training the rating model")
    try:
        return await _train(conn, factors=factors, regularisation=regularisation)
    finally:
        await repository.release_training_lock(conn)


async def _train(conn: Connection, *, factors: int, regularisation: float) -> TrainedModel:
    # Imported here: the API process imports this module for retraining_due() and must not load
    # SciPy, which only training needs.
    from cinelibre.recommend.algorithms.base import RatingMatrix
    from cinelibre.recommend.algorithms.item_knn import ItemKNN
    from cinelibre.recommend.algorithms.mf import BiasedMF

    async with conn.transaction():
        rows = await repository.all_ratings(conn)
    if not rows:
        raise NothingToLearnError("no ratings to learn from yet")
    users = {user: index for index, user in enumerate(sorted({row[0] for row in rows}))}
    items = {item: index for index, item in enumerate(sorted({(row[1], row[2]) for row in rows}))}
    matrix = RatingMatrix.from_triples(
        np.fromiter((users[row[0]] for row in rows), dtype=np.int64, count=len(rows)),
        np.fromiter((items[(row[1], row[2])] for row in rows), dtype=np.int64, count=len(rows)),
        np.fromiter((row[3] for row in rows), dtype=np.float32, count=len(rows)),
        (len(users), len(items)),
    )
    model = BiasedMF(factors=factors, regularisation=regularisation)
    await to_thread.run_sync(model.fit, matrix)
    neighbours = ItemKNN(neighbours=ITEM_NEIGHBOURS)
    await to_thread.run_sync(neighbours.fit, matrix)
    parameters = {"mean": model.mean, "factors": factors, "regularisation": regularisation}
    item_keys = list(items)
    async with conn.transaction():
        version = await repository.store_rating_model(
            conn,
            kind=RATING_MODEL,
            ratings_seen=len(rows),
            parameters=parameters,
            items=item_keys,
            biases=model.item_bias,
            factors=model.item_factors,
            versions_kept=VERSIONS_KEPT,
        )
        similarity = neighbours.similarity.tocoo()
        await repository.store_item_model(
            conn,
            kind=ITEM_MODEL,
            ratings_seen=len(rows),
            parameters={"neighbours": ITEM_NEIGHBOURS},
            links=[
                (*item_keys[row], *item_keys[column], float(weight))
                for row, column, weight in zip(similarity.row, similarity.col, similarity.data, strict=True)
            ],
            versions_kept=VERSIONS_KEPT,
        )
    logger.info("rating model v%s trained on %s ratings of %s items", version, len(rows), len(items))
    return TrainedModel(version=version, ratings_seen=len(rows), items=len(items))
