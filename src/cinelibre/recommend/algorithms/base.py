"""The contract every recommender honours, and the rating matrix they learn from.

Users and items are row and column indices of a sparse users × items matrix of star ratings
(0 means "not rated"). A model is fitted once, then answers for any user row:
- `scores(user)`: one number per item, higher is better (for ranking);
- `predict(users, items)`: star ratings for (user, item) pairs, where the model can tell
  (`predicts_ratings`), for rating prediction.
"""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import sparse


@dataclass(frozen=True)
class RatingMatrix:
    """users × items star ratings, CSR; `ratings.data` holds the stars. `interactions` optionally
    holds, for pairs the user viewed or clicked without rating, how much that counts (0-1)."""

    ratings: sparse.csr_matrix
    interactions: sparse.csr_matrix | None = None

    @classmethod
    def from_triples(
        cls, users: np.ndarray, items: np.ndarray, stars: np.ndarray, shape: tuple[int, int]
    ) -> "RatingMatrix":
        matrix = sparse.csr_matrix((stars.astype(np.float32), (users, items)), shape=shape)
        matrix.sum_duplicates()
        return cls(matrix)

    @property
    def shape(self) -> tuple[int, int]:
        return self.ratings.shape

    @property
    def global_mean(self) -> float:
        return float(self.ratings.data.mean()) if self.ratings.nnz else 3.0

    def rated_items(self, user: int) -> np.ndarray:
        return self.ratings.indices[self.ratings.indptr[user] : self.ratings.indptr[user + 1]]

    def user_stars(self, user: int) -> np.ndarray:
        return self.ratings.data[self.ratings.indptr[user] : self.ratings.indptr[user + 1]]

    def binary(self) -> sparse.csr_matrix:
        """1 where rated."""
        matrix = self.ratings.copy()
        matrix.data = np.ones_like(matrix.data)
        return matrix

    def feedback(self) -> sparse.csr_matrix:
        """What ranking models learn from: 1 where rated, the interaction's weight where only
        viewed or clicked."""
        if self.interactions is None:
            return self.binary()
        unrated = self.interactions - self.interactions.multiply(self.binary())
        return (self.binary() + unrated).tocsr()


class Recommender:
    name: ClassVar[str]
    predicts_ratings: ClassVar[bool] = False

    def fit(self, matrix: RatingMatrix) -> "Recommender":
        raise NotImplementedError

    def scores(self, user: int) -> np.ndarray:
        raise NotImplementedError

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{self.name} does not predict ratings")

    def recommend(self, user: int, n: int, exclude: np.ndarray | None = None) -> np.ndarray:
        """The n best item indices for the user, leaving out `exclude` (by default what they rated)."""
        scores = self.scores(user).astype(np.float64, copy=True)
        scores[self.seen(user) if exclude is None else exclude] = -np.inf
        n = min(n, int(np.isfinite(scores).sum()))
        if n <= 0:
            return np.empty(0, dtype=np.int64)
        best = np.argpartition(-scores, n - 1)[:n]
        return best[np.lexsort((best, -scores[best]))]

    def seen(self, user: int) -> np.ndarray:
        return self.matrix.rated_items(user)

    matrix: RatingMatrix
