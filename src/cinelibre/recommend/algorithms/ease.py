import numpy as np

from cinelibre.recommend.algorithms.base import RatingMatrix, Recommender


class EASE(Recommender):
    """Embarrassingly Shallow Autoencoder (Steck, 2019): an item-to-item weight matrix learnt in
    closed form, B = I - P diag(1/diag P) with P = (XᵀX + λI)⁻¹ and a zero diagonal. Needs an
    items × items dense matrix: right for catalogues up to ~20k rated items."""

    name = "EASE"

    def __init__(self, regularisation: float = 300.0) -> None:
        self.regularisation = regularisation

    def fit(self, matrix: RatingMatrix) -> "EASE":
        self.matrix = matrix
        binary = matrix.binary()
        gram = (binary.T @ binary).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += self.regularisation
        precision = np.linalg.inv(gram)
        weights = -precision / np.diag(precision)
        np.fill_diagonal(weights, 0.0)
        self.weights = weights
        self._binary = binary
        return self

    def scores(self, user: int) -> np.ndarray:
        return np.asarray(self._binary[user] @ self.weights).ravel()
