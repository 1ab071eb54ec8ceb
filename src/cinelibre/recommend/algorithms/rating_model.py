from collections.abc import Iterator

import numpy as np
from scipy import sparse

from cinelibre.recommend.algorithms.base import RatingMatrix, Recommender
from cinelibre.recommend.algorithms.fold_in import (
    BLENDS,
    COUNT_TERMS,
    NEIGHBOURS,
    PARTS,
    REGULARISATION,
    blend_parts,
    blended_stars,
    count_terms,
)
from cinelibre.recommend.algorithms.mf import BiasedMF

SIMILARITY_BLOCK = 128  # items per block while computing similarities, to bound memory


class RatingModel(Recommender):
    """What the service predicts stars with: biased MF, its biases alone, and each corrected by
    the user's own errors on the item's nearest neighbours, blended with weights learnt on
    validation ratings (fold_in.LEARNT_BLEND) that depend on the user's and the item's numbers of
    ratings. Neighbours are the `neighbours` most similar items by shrunk Pearson correlation of
    the factor model's errors, among the `max_items` most-rated items. `blend` names the weights
    (fold_in.BLENDS): the evaluation also shows parts on their own.

    The defaults are fold_in's (chosen on validation folds; see there). The shrinkage of 100
    co-raters was kept from the factor model's correction."""

    name = "rating model (learnt blend)"
    predicts_ratings = True

    def __init__(
        self,
        factors: int = 64,
        regularisation: float = REGULARISATION,
        neighbours: int = NEIGHBOURS,
        shrinkage: float = 100.0,
        max_items: int | None = None,
        blend: str = "learnt",
    ) -> None:
        self.mf = BiasedMF(factors=factors, regularisation=regularisation)
        self.neighbours = neighbours
        self.shrinkage = shrinkage
        self.max_items = max_items
        self.blend = blend

    def fit(self, matrix: RatingMatrix) -> "RatingModel":
        self.matrix = matrix
        self.mf.fit(matrix)
        # How many ratings each item has: the blend trusts its parts by it (the service stores it).
        self.item_ratings = np.bincount(matrix.ratings.indices, minlength=matrix.shape[1])
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

    def parts(self, users: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For learning the blend: pairs × PARTS (fold_in.blend_parts) and pairs × COUNT_TERMS
        (fold_in.count_terms)."""
        parts = np.empty((len(users), len(PARTS)))
        terms = np.empty((len(users), len(COUNT_TERMS)))
        for user, positions, candidates in self._per_user(users, items):
            parts[positions] = candidates
            terms[positions] = count_terms(len(self.matrix.rated_items(user)), self.item_ratings[items[positions]])
        return parts, terms

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        blend = BLENDS[self.blend]
        predicted = np.empty(len(users))
        for user, positions, candidates in self._per_user(users, items):
            predicted[positions] = blended_stars(
                blend,
                candidates,
                user_ratings=len(self.matrix.rated_items(user)),
                item_ratings=self.item_ratings[items[positions]],
            )
        return np.clip(predicted, 0.5, 5.0)

    def _per_user(self, users: np.ndarray, items: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Each user's pairs at once, as the service computes one user's: the user, the pairs'
        positions and their blend_parts."""
        order = np.argsort(users, kind="stable")
        boundaries = np.flatnonzero(np.diff(users[order])) + 1
        for positions in np.split(order, boundaries):
            if not len(positions):
                continue
            user = int(users[positions[0]])
            rated, stars = self.matrix.rated_items(user), self.matrix.user_stars(user)
            yield (
                user,
                positions,
                blend_parts(
                    bias_stars=self._biases(user, items[positions]),
                    factor_stars=self._raw(user, items[positions]),
                    similarities=self.similarity[items[positions]][:, rated].toarray(),
                    bias_residuals=stars - self._biases(user, rated),
                    factor_residuals=stars - self._raw(user, rated),
                ),
            )

    def _biases(self, user: int, items: np.ndarray) -> np.ndarray:
        return self.mf.mean + self.mf.user_bias[user] + self.mf.item_bias[items]

    def _raw(self, user: int, items: np.ndarray) -> np.ndarray:
        return self._biases(user, items) + self.mf.item_factors[items] @ self.mf.user_factors[user]

    def scores(self, user: int) -> np.ndarray:
        # Ranking uses the factor model alone: correcting every item of the catalogue per user
        # would cost far more than it changes the order.
        return self.mf.scores(user)


class CorrectedMF(RatingModel):
    """Biased MF corrected by its errors on similar items alone (the rating model before the
    blend), for the evaluation's table."""

    name = "biased MF + neighbours"

    def __init__(self, **settings) -> None:
        super().__init__(**{"blend": "corrected MF", **settings})


class CorrectedBiases(RatingModel):
    """The factor model's biases corrected by the user's errors against them on similar items (a
    kNN baseline), for the evaluation's table."""

    name = "MF biases + neighbours (kNN baseline)"

    def __init__(self, **settings) -> None:
        super().__init__(**{"blend": "corrected biases", **settings})
