"""The classic user-based collaborative filtering (Pearson user-kNN), exactly as get_collaborative_recommendations()
computes it in SQL: Pearson correlation over co-rated items, neighbours with at least 3 common
items and a correlation above 0.3, the 50 most correlated; a prediction is the user's mean plus
the similarity-weighted mean of the neighbours' mean-centred ratings of the item."""

import numpy as np

from cinelibre.recommend.algorithms.base import RatingMatrix, Recommender


class PearsonUserKNN(Recommender):
    name = "user-kNN (Pearson)"
    predicts_ratings = True

    def __init__(self, min_common: int = 3, min_correlation: float = 0.3, max_neighbours: int = 50) -> None:
        self.min_common = min_common
        self.min_correlation = min_correlation
        self.max_neighbours = max_neighbours

    def fit(self, matrix: RatingMatrix) -> "PearsonUserKNN":
        self.matrix = matrix
        self._dense = matrix.ratings.toarray().astype(np.float64)
        self._rated = self._dense > 0
        counts = self._rated.sum(axis=1)
        self.user_means = np.divide(
            self._dense.sum(axis=1), counts, out=np.full(len(counts), matrix.global_mean), where=counts > 0
        )
        self._neighbours: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        return self

    def neighbours(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """(neighbour rows, their correlations), most correlated first."""
        if user in self._neighbours:
            return self._neighbours[user]
        items = self.matrix.rated_items(user)
        a = self._dense[user, items]
        others = self._dense[:, items]
        mask = self._rated[:, items].astype(np.float64)
        n = mask.sum(axis=1)
        sa, sb = mask @ a, others.sum(axis=1)
        saa, sbb, sab = mask @ (a * a), (others * others).sum(axis=1), others @ a
        numerator = n * sab - sa * sb
        denominator = np.sqrt(np.clip(n * saa - sa * sa, 0, None) * np.clip(n * sbb - sb * sb, 0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            pearson = np.where(denominator > 0, numerator / denominator, np.nan)
        pearson[user] = np.nan
        eligible = np.flatnonzero((n >= self.min_common) & (pearson > self.min_correlation))
        order = np.lexsort((eligible, -pearson[eligible]))[: self.max_neighbours]
        result = (eligible[order], pearson[eligible[order]])
        self._neighbours[user] = result
        return result

    def _offsets(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """Per item: the weighted mean-centred neighbour rating, and whether any neighbour rated it."""
        rows, similarity = self.neighbours(user)
        if len(rows) == 0:
            zeros = np.zeros(self.matrix.shape[1])
            return zeros, zeros.astype(bool)
        centred = (self._dense[rows] - self.user_means[rows, None]) * self._rated[rows]
        weights = np.abs(similarity) @ self._rated[rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            offsets = np.where(weights > 0, (similarity @ centred) / weights, 0.0)
        return offsets, weights > 0

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        predictions = np.empty(len(users))
        for user in np.unique(users):
            chosen = users == user
            offsets, _ = self._offsets(int(user))
            predictions[chosen] = self.user_means[user] + offsets[items[chosen]]
        return np.clip(predictions, 0.5, 5.0)

    def scores(self, user: int) -> np.ndarray:
        """Predicted ratings where neighbours rated the item; other items rank last."""
        offsets, known = self._offsets(user)
        return np.where(known, self.user_means[user] + offsets, -1e9)
