import numpy as np
from scipy import sparse

from cinelibre.recommend.algorithms.base import RatingMatrix, Recommender
from cinelibre.recommend.algorithms.fold_in import neighbour_correction
from cinelibre.recommend.algorithms.mf import BiasedMF

SIMILARITY_BLOCK = 128  # items per block while computing similarities, to bound memory


class RatingModel(Recommender):
    """What the service predicts stars with: biased MF, then corrected by the user's own errors
    on the item's nearest neighbours (a neighbourhood model on the factor model's residuals).
    Neighbours are the `neighbours` most similar items by shrunk Pearson correlation of
    baseline-centred ratings, among the `max_items` most-rated items.

    On ml-100k's five folds MF alone measured RMSE 0.913; with the correction 0.907 (50
    neighbours stored per item; 100 measured the same, a shrinkage of 100 co-raters)."""

    name = "biased MF + neighbours (rating model)"
    predicts_ratings = True

    def __init__(
        self,
        factors: int = 64,
        regularisation: float = 0.12,
        neighbours: int = 50,
        shrinkage: float = 100.0,
        max_items: int | None = None,
    ) -> None:
        self.mf = BiasedMF(factors=factors, regularisation=regularisation)
        self.neighbours = neighbours
        self.shrinkage = shrinkage
        self.max_items = max_items

    def fit(self, matrix: RatingMatrix) -> "RatingModel":
        self.matrix = matrix
        self.mf.fit(matrix)
        self.similarity = self._similarities(matrix)
        return self

    def _similarities(self, matrix: RatingMatrix) -> sparse.csr_matrix:
        """items × items, row i holding i's neighbours (positive similarities only)."""
        ratings = matrix.ratings.tocoo()
        residual = ratings.data - (self.mf.mean + self.mf.user_bias[ratings.row] + self.mf.item_bias[ratings.col])
        by_item = sparse.csc_matrix((residual, (ratings.row, ratings.col)), shape=matrix.shape, dtype=np.float64)
        counts = np.diff(by_item.indptr)
        kept = np.flatnonzero(counts > 1)
        if self.max_items is not None and len(kept) > self.max_items:
            kept = np.sort(kept[np.argsort(-counts[kept], kind="stable")[: self.max_items]])
        errors = by_item[:, kept]
        squared = errors.multiply(errors).tocsc()
        rated = errors.copy()
        rated.data = np.ones_like(rated.data)
        k = min(self.neighbours, len(kept) - 1)
        rows, columns, values = [], [], []
        for start in range(0, len(kept) if k > 0 else 0, SIMILARITY_BLOCK):
            block = slice(start, start + SIMILARITY_BLOCK)
            # Sums over the users who rated both items of each pair.
            products = (errors[:, block].T @ errors).toarray()
            own_spread = (squared[:, block].T @ rated).toarray()
            their_spread = (rated[:, block].T @ squared).toarray()
            co_raters = (rated[:, block].T @ rated).toarray()
            denominator = np.sqrt(own_spread * their_spread)
            pearson = np.divide(products, denominator, out=np.zeros_like(products), where=denominator > 0)
            similarity = pearson * np.maximum(co_raters - 1, 0) / (np.maximum(co_raters - 1, 0) + self.shrinkage)
            local = np.arange(similarity.shape[0])
            similarity[local, start + local] = 0.0
            best = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
            strength = np.take_along_axis(similarity, best, axis=1)
            keep = strength > 0
            rows.append(np.repeat(kept[block], k).reshape(-1, k)[keep])
            columns.append(kept[best][keep])
            values.append(strength[keep])
        if not rows:
            return sparse.csr_matrix((matrix.shape[1], matrix.shape[1]), dtype=np.float64)
        return sparse.csr_matrix(
            (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
            shape=(matrix.shape[1], matrix.shape[1]),
        )

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        predicted = np.empty(len(users))
        order = np.argsort(users, kind="stable")
        boundaries = np.flatnonzero(np.diff(users[order])) + 1
        for positions in np.split(order, boundaries):
            if not len(positions):
                continue
            user = int(users[positions[0]])
            rated, stars = self.matrix.rated_items(user), self.matrix.user_stars(user)
            residuals = stars - self._raw(user, rated)
            similarities = self.similarity[items[positions]][:, rated].toarray()
            predicted[positions] = self._raw(user, items[positions]) + neighbour_correction(similarities, residuals)
        return np.clip(predicted, 0.5, 5.0)

    def _raw(self, user: int, items: np.ndarray) -> np.ndarray:
        mf = self.mf
        return mf.mean + mf.user_bias[user] + mf.item_bias[items] + mf.item_factors[items] @ mf.user_factors[user]

    def scores(self, user: int) -> np.ndarray:
        # Ranking uses the factor model alone: correcting every item of the catalogue per user
        # would cost far more than it changes the order.
        return self.mf.scores(user)
