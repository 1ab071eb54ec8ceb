import numpy as np

from cinelibre.recommend.algorithms.base import RatingMatrix, Recommender


class ItemKNN(Recommender):
    """Items like the ones the user rated: cosine similarity of items' rater sets, the k nearest
    neighbours of each item kept."""

    name = "item-kNN (cosine)"

    def __init__(self, neighbours: int = 100) -> None:
        self.neighbours = neighbours

    def fit(self, matrix: RatingMatrix) -> "ItemKNN":
        self.matrix = matrix
        binary = matrix.binary().tocsc()
        co_rated = (binary.T @ binary).toarray().astype(np.float64)
        norms = np.sqrt(np.diag(co_rated))
        with np.errstate(divide="ignore", invalid="ignore"):
            similarity = np.nan_to_num(co_rated / np.outer(norms, norms))
        np.fill_diagonal(similarity, 0.0)
        if self.neighbours < similarity.shape[0]:
            weakest = np.argpartition(-similarity, self.neighbours, axis=0)[self.neighbours :]
            np.put_along_axis(similarity, weakest, 0.0, axis=0)
        self.similarity = similarity
        self._binary = matrix.binary()
        return self

    def scores(self, user: int) -> np.ndarray:
        return np.asarray(self._binary[user] @ self.similarity).ravel()
