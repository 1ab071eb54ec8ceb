import numpy as np

from cinelibre.recommend.algorithms.base import RatingMatrix, Recommender


class GlobalMean(Recommender):
    """Predicts the mean of all ratings: the floor every rating model must beat."""

    name = "global mean"
    predicts_ratings = True

    def fit(self, matrix: RatingMatrix) -> "GlobalMean":
        self.matrix = matrix
        self.mean = matrix.global_mean
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.full(len(users), self.mean)

    def scores(self, user: int) -> np.ndarray:
        return np.full(self.matrix.shape[1], self.mean)


def fit_biases(
    matrix: RatingMatrix, *, user_reg: float = 15.0, item_reg: float = 10.0, rounds: int = 10
) -> tuple[float, np.ndarray, np.ndarray]:
    """mean + user bias + item bias, by alternating regularised least squares."""
    coo = matrix.ratings.tocoo()
    mean = matrix.global_mean
    n_users, n_items = matrix.shape
    user_bias = np.zeros(n_users)
    item_bias = np.zeros(n_items)
    for _ in range(rounds):
        residual = coo.data - mean - user_bias[coo.row]
        item_bias = np.bincount(coo.col, residual, n_items) / (item_reg + np.bincount(coo.col, minlength=n_items))
        residual = coo.data - mean - item_bias[coo.col]
        user_bias = np.bincount(coo.row, residual, n_users) / (user_reg + np.bincount(coo.row, minlength=n_users))
    return mean, user_bias, item_bias


class BiasBaseline(Recommender):
    """mean + user bias + item bias (regularised): how generous a user is, how liked an item is."""

    name = "bias baseline"
    predicts_ratings = True

    def fit(self, matrix: RatingMatrix) -> "BiasBaseline":
        self.matrix = matrix
        self.mean, self.user_bias, self.item_bias = fit_biases(matrix)
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.clip(self.mean + self.user_bias[users] + self.item_bias[items], 0.5, 5.0)

    def scores(self, user: int) -> np.ndarray:
        return self.mean + self.user_bias[user] + self.item_bias
