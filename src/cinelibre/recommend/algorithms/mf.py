import numpy as np

from cinelibre.recommend.algorithms.base import RatingMatrix, Recommender
from cinelibre.recommend.algorithms.baseline import fit_biases
from cinelibre.recommend.algorithms.fold_in import fold_in


class BiasedMF(Recommender):
    """Matrix factorisation with user and item biases (the "SVD" of rating prediction), fitted by
    alternating least squares: rating ≈ mean + b_u + b_i + p_u · q_i. The L2 penalty grows with
    how many ratings a user or item has (ALS-WR), which measured better than a fixed one."""

    name = "biased MF (ALS)"
    predicts_ratings = True

    def __init__(self, factors: int = 64, regularisation: float = 0.12, rounds: int = 12, seed: int = 7) -> None:
        self.factors = factors
        self.regularisation = regularisation
        self.rounds = rounds
        self.seed = seed

    def fit(self, matrix: RatingMatrix) -> "BiasedMF":
        self.matrix = matrix
        self.mean, self.user_bias, self.item_bias = fit_biases(matrix)
        rng = np.random.default_rng(self.seed)
        n_users, n_items = matrix.shape
        self.user_factors = rng.normal(0, 0.1, (n_users, self.factors))
        self.item_factors = rng.normal(0, 0.1, (n_items, self.factors))
        by_user = matrix.ratings
        by_item = matrix.ratings.T.tocsr()
        for _ in range(self.rounds):
            self._solve(by_user, self.user_factors, self.user_bias, self.item_factors, self.item_bias)
            self._solve(by_item, self.item_factors, self.item_bias, self.user_factors, self.user_bias)
        return self

    def _solve(self, rows, factors, biases, other_factors, other_biases) -> None:
        """For each row (user or item): least squares of its factors and bias against the other side."""
        for row in range(rows.shape[0]):
            start, end = rows.indptr[row], rows.indptr[row + 1]
            if start == end:
                continue
            columns = rows.indices[start:end]
            factors[row], biases[row] = fold_in(
                other_factors[columns], other_biases[columns], rows.data[start:end], self.mean, self.regularisation
            )

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        raw = (
            self.mean
            + self.user_bias[users]
            + self.item_bias[items]
            + np.einsum("ij,ij->i", self.user_factors[users], self.item_factors[items])
        )
        return np.clip(raw, 0.5, 5.0)

    def scores(self, user: int) -> np.ndarray:
        return self.mean + self.user_bias[user] + self.item_bias + self.item_factors @ self.user_factors[user]
