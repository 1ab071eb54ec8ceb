"""Two settings that the whole validation set cannot choose, measured where they matter, on
validation ratings only:

- blend.CF_FULL_WEIGHT_AT, on cold-start users: on each fold's validation split, the users
  `cinelibre evaluate --cold-start` would sample there, cut to 1, 3, 5 and 10 training ratings
  (evaluation.cold_start_trainings), scored on their held-out ratings;
- the weight of a view without stars (training.VIEW_WEIGHT), with half of each validation
  training set's ratings turned into views at the weight tried.

    .venv/bin/python benchmarks/tune_cold_and_views.py [--folds 1,2,3,4,5] [--dataset DIR]

Prints NDCG@10 of the served hybrid per value, mean over the folds. The test ratings (uN.test)
are never read. The MovieLens folder is --dataset, else $CINELIBRE_SHARED_DATA/movielens/ml-100k.
"""

import argparse
import os
from pathlib import Path

import numpy as np
from scipy import sparse

from cinelibre.recommend import evaluation
from cinelibre.recommend.algorithms import blend
from cinelibre.recommend.algorithms.base import RatingMatrix
from cinelibre.recommend.algorithms.hybrid import Hybrid

FULL_WEIGHT_GRID = (1, 2, 3, 5, 10)
KEPT = ("1 ratings", "3 ratings", "5 ratings", "10 ratings")
VIEW_WEIGHT_GRID = (0.25, 0.5, 0.75, 1.0)


def only_users(fold: evaluation.Fold, train: RatingMatrix, users: np.ndarray) -> evaluation.Fold:
    chosen = np.isin(fold.test_users, users)
    return evaluation.Fold(train, fold.test_users[chosen], fold.test_items[chosen], fold.test_stars[chosen])


def cold_start(validation: evaluation.Fold, number: int, vectors: np.ndarray) -> dict[tuple[str, int], float]:
    """NDCG@10 per (ratings kept, CF_FULL_WEIGHT_AT) on this validation fold. The blend reads the
    setting when it ranks, so one fit per cut serves the whole grid."""
    sampled = evaluation.cold_start_sample(validation, number)
    trainings = evaluation.cold_start_trainings(validation, sampled, number)
    shipped, scores = blend.CF_FULL_WEIGHT_AT, {}
    try:
        for kept in KEPT:
            model = Hybrid(vectors).fit(trainings[kept])
            measured = only_users(validation, trainings[kept], sampled)
            for value in FULL_WEIGHT_GRID:
                blend.CF_FULL_WEIGHT_AT = value
                metrics = evaluation.ranking_metrics(model, measured, vectors, left_out=validation.train.ratings)
                scores[(kept, value)] = metrics["NDCG@10"]
    finally:
        blend.CF_FULL_WEIGHT_AT = shipped
    return scores


def views(validation: evaluation.Fold, number: int, vectors: np.ndarray) -> dict[float, float]:
    """NDCG@10 per view weight, half the validation training ratings turned into views."""
    ratings = validation.train.ratings.tocoo()
    viewed = np.random.default_rng(evaluation.VIEWS_SEED + number).random(ratings.nnz) < evaluation.VIEWED_SHARE
    kept = ~viewed
    stars = RatingMatrix.from_triples(ratings.row[kept], ratings.col[kept], ratings.data[kept], ratings.shape).ratings
    scores = {}
    for weight in VIEW_WEIGHT_GRID:
        interactions = sparse.csr_matrix(
            (np.full(int(viewed.sum()), weight, dtype=np.float32), (ratings.row[viewed], ratings.col[viewed])),
            shape=ratings.shape,
        )
        train = RatingMatrix(stars, interactions=interactions)
        model = Hybrid(vectors).fit(train)
        measured = evaluation.Fold(train, validation.test_users, validation.test_items, validation.test_stars)
        scores[weight] = evaluation.ranking_metrics(model, measured, vectors, left_out=validation.train.ratings)[
            "NDCG@10"
        ]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", default="1,2,3,4,5")
    parser.add_argument("--dataset", type=Path, default=None)
    arguments = parser.parse_args()
    shared = Path(os.environ.get("CINELIBRE_SHARED_DATA", Path(__file__).parents[2] / "shared" / "data"))
    dataset = arguments.dataset or shared / "movielens" / "ml-100k"
    folds = tuple(int(number) for number in arguments.folds.split(","))
    shape = evaluation.ml100k_shape(dataset)
    vectors = evaluation.genre_vectors(dataset)
    cold: dict[tuple[str, int], list[float]] = {}
    viewed: dict[float, list[float]] = {}
    for number in folds:
        validation = evaluation.validation_fold(evaluation.load_fold(dataset, number, shape))
        for key, value in cold_start(validation, number, vectors).items():
            cold.setdefault(key, []).append(value)
        for key, value in views(validation, number, vectors).items():
            viewed.setdefault(key, []).append(value)
    print(f"Cold-start validation users, NDCG@10 of the served hybrid, mean over folds {arguments.folds}")
    print("| CF_FULL_WEIGHT_AT | " + " | ".join(KEPT) + " | mean |")
    for value in FULL_WEIGHT_GRID:
        means = [float(np.mean(cold[(kept, value)])) for kept in KEPT]
        shipped = " (shipped)" if value == blend.CF_FULL_WEIGHT_AT else ""
        print(f"| {value}{shipped} | " + " | ".join(f"{m:.4f}" for m in means) + f" | {np.mean(means):.4f} |")
    print()
    print("Half the validation training ratings as views, NDCG@10 of the served hybrid")
    print("| view weight | NDCG@10 | per fold |")
    for weight in VIEW_WEIGHT_GRID:
        print(f"| {weight} | {np.mean(viewed[weight]):.4f} | " + " ".join(f"{v:.4f}" for v in viewed[weight]) + " |")


if __name__ == "__main__":
    main()
