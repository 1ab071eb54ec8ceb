import numpy as np
from scipy import sparse

from cinelibre.recommend.algorithms.base import RatingMatrix, Recommender


class ItemKNN(Recommender):
    """Items like the ones the user rated: cosine similarity of items' rater sets. A candidate
    item is scored by its k most similar items among those the user rated (similarity[j, i] kept
    for the k strongest j of each i: measured better than keeping each j's k strongest i). Sparse
    throughout, so it scales with the ratings rather than the square of the catalogue. The
    evaluation's classic baseline; the service serves EASE, which measures better."""

    name = "item-kNN (cosine)"

    def __init__(self, neighbours: int = 100) -> None:
        self.neighbours = neighbours

    def fit(self, matrix: RatingMatrix) -> "ItemKNN":
        self.matrix = matrix
        binary = matrix.binary().astype(np.float32)
        co_rated = (binary.T @ binary).tocsr()
        norms = np.sqrt(co_rated.diagonal())
        inverse = sparse.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0))
        similarity = (inverse @ co_rated @ inverse).tocsr()
        similarity.setdiag(0)
        similarity.eliminate_zeros()
        self.similarity = _keep_strongest_per_row(similarity.T.tocsr(), self.neighbours).T.tocsr()
        self._binary = binary.tocsr()
        return self

    def scores(self, user: int) -> np.ndarray:
        return np.asarray((self._binary[user] @ self.similarity).todense()).ravel()


def _keep_strongest_per_row(matrix: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
    rows, columns, values = [], [], []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        if start == end:
            continue
        data, indices = matrix.data[start:end], matrix.indices[start:end]
        keep = np.argsort(-data, kind="stable")[:k]
        rows.append(np.full(len(keep), row))
        columns.append(indices[keep])
        values.append(data[keep])
    if not rows:
        return sparse.csr_matrix(matrix.shape, dtype=np.float32)
    return sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))), shape=matrix.shape
    )
