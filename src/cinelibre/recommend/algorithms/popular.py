import numpy as np

from cinelibre.recommend.algorithms.base import RatingMatrix, Recommender

# The same pessimistic Bayesian average as get_popular_items(): prior_weight phantom ratings
# at the middle of the scale.
PRIOR_WEIGHT = 5.0
PRIOR_RATING = 2.75


class Popular(Recommender):
    """Everyone gets the same list: items by Bayesian-average rating (what /popular serves)."""

    name = "popular (Bayesian average)"

    def fit(self, matrix: RatingMatrix) -> "Popular":
        self.matrix = matrix
        counts = np.diff(matrix.ratings.tocsc().indptr).astype(np.float64)
        totals = np.asarray(matrix.ratings.sum(axis=0)).ravel()
        self._scores = (PRIOR_RATING * PRIOR_WEIGHT + totals) / (PRIOR_WEIGHT + counts)
        return self

    def scores(self, user: int) -> np.ndarray:
        return self._scores


class MostRated(Recommender):
    """Everyone gets the same list: the items most users rated (the usual popularity baseline)."""

    name = "most rated"

    def fit(self, matrix: RatingMatrix) -> "MostRated":
        self.matrix = matrix
        self._scores = np.diff(matrix.ratings.tocsc().indptr).astype(np.float64)
        return self

    def scores(self, user: int) -> np.ndarray:
        return self._scores
