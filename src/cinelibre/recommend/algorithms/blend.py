import numpy as np

from cinelibre.recommend.algorithms.base import RatingMatrix, Recommender
from cinelibre.recommend.algorithms.ease import EASE
from cinelibre.recommend.algorithms.mf import BiasedMF


class WatchAndLike(Recommender):
    """What the user will watch (EASE, from who rated what) nudged by how they would rate it
    (biased MF): score = EASE + weight × (predicted stars - the user's predicted mean)."""

    name = "EASE + MF (ranking model)"
    predicts_ratings = True

    def __init__(self, rating_weight: float = 0.1, regularisation: float = 500.0) -> None:
        self.rating_weight = rating_weight
        self.ease = EASE(regularisation)
        self.mf = BiasedMF()

    def fit(self, matrix: RatingMatrix) -> "WatchAndLike":
        self.matrix = matrix
        self.ease.fit(matrix)
        self.mf.fit(matrix)
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.mf.predict(users, items)

    def scores(self, user: int) -> np.ndarray:
        stars = self.mf.scores(user)
        return self.ease.scores(user) + self.rating_weight * (stars - stars.mean())
