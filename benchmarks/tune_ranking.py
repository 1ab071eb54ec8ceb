"""Choose the served ranking's settings on validation folds of ml-100k's u1-u5 training data.

For every canonical fold, evaluation.validation_fold() holds out 20% of its training ratings;
the models are fitted on the rest and scored on the held-out ratings (relevant: 4 stars or
more, every unrated item ranked). The test folds (uN.test) are never read.

One joint grid, scored by mean validation NDCG@10 over the folds: the stored ranking model's
regularisation and how much its input centres ratings on the user's mean
(blend.RATING_EMPHASIS; sparse EASE, top EASE_NEIGHBOURS per item), times the blend's
RATING_WEIGHT, POPULARITY_WEIGHT and CF_FULL_WEIGHT_AT. Printed: EASE alone and at its best
blend for each (λ, emphasis), the 15 best combinations, the shipped one and the winner.

The blend is computed here for all users at once, as blend.blend() and
blend.collaborative_signal() compute it for one, without the diversity step (MMR), which the
settings do not touch; `cinelibre evaluate` measures the served list with it.

    .venv/bin/python benchmarks/tune_ranking.py [--dataset DIR] [--folds 1 2 3 4 5]
"""

import argparse
import itertools
import os
import time
from pathlib import Path

import numpy as np
from scipy import sparse

from cinelibre.recommend.algorithms import blend
from cinelibre.recommend.algorithms.base import RatingMatrix
from cinelibre.recommend.algorithms.ease import EASE, centred_feedback
from cinelibre.recommend.algorithms.hybrid import EASE_NEIGHBOURS, EASE_REGULARISATION, LIKED_STARS
from cinelibre.recommend.algorithms.popular import Popular
from cinelibre.recommend.algorithms.rating_model import RatingModel
from cinelibre.recommend.evaluation import (
    RELEVANT_STARS,
    Fold,
    genre_vectors,
    load_fold,
    ml100k_shape,
    validation_fold,
)

REGULARISATIONS = (300.0, 500.0, 800.0)
EMPHASES = (0.0, 0.2, 0.3, 0.4, 0.5)
RATING_WEIGHTS = (0.0, 0.05, 0.1, 0.2)
POPULARITY_WEIGHTS = (0.0, 0.05, 0.1, 0.15)
CF_FULL_WEIGHTS_AT = (10, 20, 40)


class _Signals:
    """Everything but EASE for one validation fold, fitted once: the rating model's factor stars
    minus each user's mean, popularity, the content profile's cosine (genres), the ratings count."""

    def __init__(self, matrix: RatingMatrix, item_vectors: np.ndarray) -> None:
        ratings = matrix.ratings
        self.rated = ratings.toarray() > 0
        self.counts = np.diff(ratings.indptr)
        rating = RatingModel().fit(matrix)
        mf = rating.mf
        means = np.asarray(ratings.sum(axis=1)).ravel() / np.maximum(self.counts, 1)
        means = np.where(self.counts > 0, means, mf.mean)
        stars = mf.mean + mf.user_bias[:, None] + mf.item_bias[None, :] + mf.user_factors @ mf.item_factors.T
        self.stars_above_mean = stars - means[:, None]
        self.popularity = blend.stars_to_unit(Popular().fit(matrix).scores(0))
        self.content = np.zeros(ratings.shape)
        for user in range(ratings.shape[0]):
            rated, given = matrix.rated_items(user), matrix.user_stars(user)
            if not len(given):
                continue
            profile = item_vectors[rated[given >= min(LIKED_STARS, given.max())]].mean(axis=0)
            norm = np.linalg.norm(profile)
            if norm > 0:
                self.content[user] = item_vectors @ (profile / norm)

    def blended(self, linked: np.ndarray, rating_weight: float, popularity_weight: float, full_at: int) -> np.ndarray:
        kept_linked = np.where(self.rated, 0.0, linked)
        strongest = kept_linked.max(axis=1, keepdims=True)
        strongest = np.where(strongest > 0, strongest, 1.0)
        collaborative = linked / strongest + rating_weight * self.stars_above_mean
        collaborative_weight = np.minimum(1.0, self.counts / full_at)[:, None]
        content_weight = np.maximum(1.0 - collaborative_weight, blend.CONTENT_FLOOR)
        score = (
            collaborative_weight * collaborative
            + content_weight * np.clip(self.content, 0.0, None)
            + popularity_weight * self.popularity[None, :]
        )
        return np.where(self.rated, -np.inf, score)


class _FastNDCG:
    """evaluation.ranking_metrics()' NDCG@10 (binary gains, relevant: 4 stars or more, users with
    a relevant item), for all users at once: the grids score thousands of combinations."""

    def __init__(self, fold: Fold, k: int = 10) -> None:
        relevant = fold.test_stars >= RELEVANT_STARS
        self.users = np.unique(fold.test_users[relevant])
        self.relevant = (
            sparse.csr_matrix(
                (np.ones(relevant.sum()), (fold.test_users[relevant], fold.test_items[relevant])),
                shape=fold.train.shape,
            ).toarray()[self.users]
            > 0
        )
        self.discounts = 1.0 / np.log2(np.arange(2, k + 2))
        self.ideal = np.cumsum(self.discounts)[np.minimum(self.relevant.sum(axis=1), k) - 1]
        self.k = k

    def __call__(self, scores: np.ndarray) -> float:
        # Ties go to the lower item, as in the recommenders' stable sorts.
        top = np.argsort(-scores[self.users], axis=1, kind="stable")[:, : self.k]
        hits = np.take_along_axis(self.relevant, top, axis=1)
        return float(np.mean(hits @ self.discounts / self.ideal))


def _linked(matrix: RatingMatrix, regularisation: float, emphasis: float) -> np.ndarray:
    ease = EASE(regularisation, neighbours=EASE_NEIGHBOURS, rating_emphasis=emphasis).fit(matrix)
    # Every user's EASE.scores() at once.
    return np.asarray((centred_feedback(matrix, emphasis) @ ease.weights).todense())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = Path(os.environ.get("CINELIBRE_SHARED_DATA", Path(__file__).parents[2] / "shared" / "data"))
    parser.add_argument("--dataset", type=Path, default=shared / "movielens" / "ml-100k")
    parser.add_argument("--folds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    arguments = parser.parse_args()
    shape = ml100k_shape(arguments.dataset)
    item_vectors = genre_vectors(arguments.dataset)
    blend_grid = list(itertools.product(RATING_WEIGHTS, POPULARITY_WEIGHTS, CF_FULL_WEIGHTS_AT))
    alone: dict[tuple[float, float], list[float]] = {}
    blended: dict[tuple[float, float, float, float, int], list[float]] = {}
    for number in arguments.folds:
        started = time.perf_counter()
        fold = validation_fold(load_fold(arguments.dataset, number, shape))
        ndcg = _FastNDCG(fold)
        signals = _Signals(fold.train, item_vectors)
        for regularisation, emphasis in itertools.product(REGULARISATIONS, EMPHASES):
            linked = _linked(fold.train, regularisation, emphasis)
            alone.setdefault((regularisation, emphasis), []).append(ndcg(np.where(signals.rated, -np.inf, linked)))
            for settings in blend_grid:
                blended.setdefault((regularisation, emphasis, *settings), []).append(
                    ndcg(signals.blended(linked, *settings))
                )
        print(f"fold {number} in {time.perf_counter() - started:.0f} s", flush=True)

    def row(key: tuple, values: list[float]) -> str:
        cells = " ".join(f"{value:.4f}" for value in values)
        return " ".join(f"{part:>8g}" for part in key) + f" {np.mean(values):>8.4f}   {cells}"

    print(f"\nMean validation NDCG@10 over folds {arguments.folds} (then each fold's)")
    print(f"\nEASE top {EASE_NEIGHBOURS} alone, and in the blend with the best blend settings for it")
    print(f"{'λ':>8} {'emphasis':>8} {'alone':>8} {'blended':>8} {'rating w':>8} {'pop w':>8} {'full at':>8}")
    for key, values in alone.items():
        settings = max(blend_grid, key=lambda setting: np.mean(blended[(*key, *setting)]))
        best_blend = np.mean(blended[(*key, *settings)])
        print(
            " ".join(f"{part:>8g}" for part in key)
            + f" {np.mean(values):>8.4f} {best_blend:>8.4f} "
            + " ".join(f"{part:>8g}" for part in settings)
        )
    print("\nThe 15 best combinations")
    print(f"{'λ':>8} {'emphasis':>8} {'rating w':>8} {'pop w':>8} {'full at':>8} {'NDCG@10':>8}")
    ranked = sorted(blended.items(), key=lambda item: -np.mean(item[1]))
    for key, values in ranked[:15]:
        print(row(key, values))
    shipped = (EASE_REGULARISATION, blend.RATING_EMPHASIS, blend.RATING_WEIGHT, blend.POPULARITY_WEIGHT)
    shipped_key = (*shipped, blend.CF_FULL_WEIGHT_AT)
    if shipped_key in blended:
        print(f"\nshipped: {row(shipped_key, blended[shipped_key])}")
    print(f"winner:  {row(*ranked[0])}")


if __name__ == "__main__":
    main()
