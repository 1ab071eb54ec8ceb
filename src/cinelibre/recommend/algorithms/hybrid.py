import numpy as np

from cinelibre.recommend.algorithms import blend
from cinelibre.recommend.algorithms.base import RatingMatrix, Recommender
from cinelibre.recommend.algorithms.ease import EASE
from cinelibre.recommend.algorithms.popular import Popular
from cinelibre.recommend.algorithms.rating_model import RatingModel

# What training stores and the service serves (see EASE's docstring for the measurements).
EASE_REGULARISATION = 500.0
EASE_NEIGHBOURS = 200
LIKED_STARS = 4.0


class Hybrid(Recommender):
    """The personalized list as the API serves it: the sparse EASE the service stores, nudged by
    the rating model's factor-predicted stars, blended with a content profile (the mean vector of what the
    user liked) and popularity by blend.blend(), and diversified by MMR on the item vectors.

    `item_vectors` stand in for the embeddings: unit rows, one per item (the evaluation uses
    MovieLens' genres)."""

    predicts_ratings = True

    def __init__(self, item_vectors: np.ndarray, diversity: float = blend.DIVERSITY) -> None:
        self.item_vectors = item_vectors
        self.diversity = diversity
        self.name = "hybrid (served)" if diversity else "hybrid without MMR"
        self.ranking = EASE(EASE_REGULARISATION, neighbours=EASE_NEIGHBOURS)
        self.rating = RatingModel()
        self.popular = Popular()

    def fit(self, matrix: RatingMatrix) -> "Hybrid":
        self.matrix = matrix
        for model in (self.ranking, self.rating, self.popular):
            model.fit(matrix)
        return self

    def signals(self, user: int) -> blend.Signals:
        rated, stars = self.matrix.rated_items(user), self.matrix.user_stars(user)
        user_mean = float(stars.mean()) if len(stars) else self.rating.mf.mean
        liked = rated[stars >= min(LIKED_STARS, stars.max())] if len(stars) else rated
        profile = self.item_vectors[liked].mean(axis=0) if len(liked) else np.zeros(self.item_vectors.shape[1])
        norm = np.linalg.norm(profile)
        content = self.item_vectors @ (profile / norm) if norm > 0 else np.zeros(self.matrix.shape[1])
        linked = self.ranking.scores(user)
        linked[rated] = 0.0  # as in the service, whose candidates leave out what the user rated
        return blend.blend(
            ratings=len(rated),
            collaborative=blend.collaborative_signal(linked, self.rating.scores(user), user_mean),
            content=content,
            popularity=self.popular.scores(user),
        )

    def scores(self, user: int) -> np.ndarray:
        return self.signals(user).score

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.rating.predict(users, items)

    def recommend(self, user: int, n: int, exclude: np.ndarray | None = None) -> np.ndarray:
        # The service's last step, blend.with_fresh(), gives a place to items added to the
        # catalogue since training; MovieLens' folds have none, so it is not part of this.
        ranked = super().recommend(user, n * blend.SHORTLIST_FACTOR if self.diversity else n, exclude)
        if not self.diversity:
            return ranked
        scores = self.scores(user)[ranked]
        # The same widening as the service, so a measured list is the first page it serves.
        picks = blend.mmr(scores, self.item_vectors[ranked], n, self.diversity, widening=blend.SHORTLIST_FACTOR)
        return ranked[picks]
