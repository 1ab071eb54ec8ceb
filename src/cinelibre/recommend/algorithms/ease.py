import numpy as np
from scipy import linalg, sparse

from cinelibre.recommend.algorithms import blend
from cinelibre.recommend.algorithms.base import RatingMatrix, Recommender

BLOCK = 256  # items per step where a step over all items at once would need large temporaries


def centred_feedback(matrix: RatingMatrix, emphasis: float = blend.RATING_EMPHASIS) -> sparse.csr_matrix:
    """The feedback matrix EASE learns from and sums: rated pairs weighted by blend.rating_strength()
    around the user's mean stars, pairs only viewed or clicked at their implicit strength."""
    ratings = matrix.ratings.tocsr()
    counts = np.diff(ratings.indptr)
    means = np.asarray(ratings.sum(axis=1), dtype=np.float64).ravel() / np.maximum(counts, 1)
    strengths = ratings.astype(np.float64)
    strengths.data = blend.rating_strength(strengths.data, np.repeat(means, counts), emphasis)
    feedback = matrix.feedback().astype(np.float64)
    # feedback() holds 1 where rated: swapped for the rating's strength.
    return (feedback - matrix.binary().astype(np.float64) + strengths).tocsr()


class EASE(Recommender):
    """Embarrassingly Shallow Autoencoder (Steck, 2019): an item-to-item weight matrix learnt in
    closed form, B = I - P diag(1/diag P) with P = (XᵀX + λI)⁻¹ and a zero diagonal.

    The inverse is dense, items × items, so it is learnt over the `max_items` most-rated items
    (float32, inverted in place: 5,000 items take about 100 MB); the rest of the catalogue is
    reached through the rating model and content. With `neighbours`, each item keeps only its
    strongest outgoing weights by size: what the service stores and serves (on ml-100k's five
    folds, top 200 per item measured 0.381 NDCG@10 against 0.385 dense, 0.375 at 100).

    With `rating_emphasis`, X is centred_feedback(): a rating counts more the further above the
    user's mean stars it is, so the weights say what people who liked an item liked too, and a
    user's sums lean on what they liked (blend.RATING_EMPHASIS; it lifted the stored model's
    validation NDCG@10 on ml-100k from 0.241 to 0.264)."""

    def __init__(
        self,
        regularisation: float = 500.0,
        neighbours: int | None = None,
        max_items: int | None = None,
        rating_emphasis: float = 0.0,
    ) -> None:
        # The stored ranking model keeps top links of centred ratings.
        if neighbours is None:
            self.name = "EASE on centred ratings" if rating_emphasis else "EASE"
        else:
            self.name = f"EASE top {neighbours}" + (" (ranking model)" if rating_emphasis else "")
        self.regularisation = regularisation
        self.neighbours = neighbours
        self.max_items = max_items
        self.rating_emphasis = rating_emphasis

    def fit(self, matrix: RatingMatrix) -> "EASE":
        self.matrix = matrix
        feedback = centred_feedback(matrix, self.rating_emphasis).tocsc()
        counts = np.diff(feedback.indptr)
        kept = np.flatnonzero(counts)
        if self.max_items is not None and len(kept) > self.max_items:
            kept = np.sort(kept[np.argsort(-counts[kept], kind="stable")[: self.max_items]])
        self.items = kept
        columns = feedback[:, kept].astype(np.float32).tocsc()
        # Filled a block of columns at a time: the sparse product of all columns at once can
        # hold more than the dense result.
        gram = np.empty((len(kept), len(kept)), dtype=np.float32)
        for start in range(0, len(kept), BLOCK):
            gram[:, start : start + BLOCK] = (columns.T @ columns[:, start : start + BLOCK]).toarray()
        gram[np.diag_indices_from(gram)] += self.regularisation
        # The gram is symmetric, so its transpose (a Fortran-ordered view) is the same matrix in
        # the layout LAPACK inverts in place, without a second copy.
        precision = linalg.inv(gram.T, overwrite_a=True, check_finite=False)
        del gram
        precision /= -np.diag(precision)
        np.fill_diagonal(precision, 0.0)
        self.weights = self._spread(precision, matrix.shape[1])
        self._feedback = feedback.tocsr()
        return self

    def _spread(self, weights: np.ndarray, n_items: int) -> sparse.csr_matrix:
        """The learnt block in catalogue coordinates, keeping each row's strongest weights."""
        if self.neighbours is None or self.neighbours >= len(self.items) - 1:
            rows, columns = np.nonzero(weights)
            values = weights[rows, columns]
        else:
            # Strongest by size: the negative weights matter too, pushing down what people who
            # rated the user's items avoided (keeping only positive ones measured 0.010 lower).
            k = self.neighbours
            chosen = [
                # copy(): a view would keep each block's whole ordering alive
                np.argpartition(-np.abs(weights[start : start + BLOCK]), k - 1, axis=1)[:, :k].copy()
                for start in range(0, len(self.items), BLOCK)
            ]  # by blocks of rows, so the temporaries stay small
            columns = np.concatenate(chosen).ravel()
            rows = np.repeat(np.arange(len(self.items)), k)
            values = weights[rows, columns]
            kept = values != 0
            rows, columns, values = rows[kept], columns[kept], values[kept]
        return sparse.csr_matrix(
            (values, (self.items[rows], self.items[columns])), shape=(n_items, n_items), dtype=np.float32
        )

    def scores(self, user: int) -> np.ndarray:
        return np.asarray((self._feedback[user] @ self.weights).todense()).ravel()
