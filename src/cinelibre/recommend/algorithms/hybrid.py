import numpy as np

from cinelibre.experiments.configurations import DEFAULT, Configuration
from cinelibre.recommend.algorithms import blend, ranking
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
    MovieLens' genres). `configuration` is the recipe an experiment's variant serves
    (configurations.py); the default is what every user gets outside experiments."""

    predicts_ratings = True

    def __init__(self, item_vectors: np.ndarray, configuration: Configuration = DEFAULT) -> None:
        self.item_vectors = item_vectors
        self.configuration = configuration
        # Plain values a results file records: which configuration, and the diversity share it ranks with.
        self.configuration_name = configuration.name
        self.diversity = blend.DIVERSITY * configuration.diversity_factor
        names = {"default": "hybrid (served)", "no-diversity": "hybrid without MMR"}
        self.name = names.get(configuration.name, f"hybrid ({configuration.name})")
        self.ease = EASE(EASE_REGULARISATION, neighbours=EASE_NEIGHBOURS, rating_emphasis=blend.RATING_EMPHASIS)
        self.rating = RatingModel()
        self.popular = Popular()

    def fit(self, matrix: RatingMatrix) -> "Hybrid":
        self.matrix = matrix
        for model in (self.ease, self.rating, self.popular):
            model.fit(matrix)
        return self

    def configured(self, configuration: Configuration) -> "Hybrid":
        """The same fitted models serving another configuration's list."""
        other = Hybrid(self.item_vectors, configuration)
        other.ease, other.rating, other.popular = self.ease, self.rating, self.popular
        if hasattr(self, "matrix"):
            other.matrix = self.matrix
        return other

    def candidates(self, user: int, exclude: np.ndarray | None = None) -> tuple[ranking.Candidates, np.ndarray]:
        """Every item as a candidate for the user, as the service gathers its few hundred from the
        database: the same signals, in the popular list's order, so ranking.rank() breaks ties
        alike. `exclude` (by default what the user rated) is never listed."""
        rated, stars = self.matrix.rated_items(user), self.matrix.user_stars(user)
        user_mean = float(stars.mean()) if len(stars) else self.rating.mf.mean
        viewed = self._viewed(user)
        # As the service: the profile of what they liked, or, for a user who rated nothing, of
        # what they viewed or clicked.
        liked = rated[stars >= min(LIKED_STARS, stars.max())] if len(stars) else viewed
        profile = self.item_vectors[liked].mean(axis=0) if len(liked) else np.zeros(self.item_vectors.shape[1])
        norm = np.linalg.norm(profile)
        content = self.item_vectors @ (profile / norm) if norm > 0 else np.zeros(self.matrix.shape[1])
        popularity = self.popular.scores(user)
        order = np.lexsort((np.arange(len(popularity)), -popularity))
        left_out = np.zeros(self.matrix.shape[1], dtype=bool)
        left_out[rated if exclude is None else exclude] = True
        return ranking.Candidates(
            ratings=len(rated) + len(viewed),
            user_mean=user_mean,
            popularity=popularity[order],
            content=content[order],
            vectors=self.item_vectors[order],
            rated=left_out[order],
            heavily_viewed=np.zeros(len(order), dtype=bool),
            linked=self.ease.scores(user)[order],
            # Without ratings the rating model knows nothing of the user (the service solves no factors).
            factor_stars=self.rating.scores(user)[order] if len(stars) else np.full(len(order), np.nan),
            # MovieLens' folds add no item after training: the slot for new items stays unused.
            known=np.ones(len(order), dtype=bool),
        ), order

    def _viewed(self, user: int) -> np.ndarray:
        """Items the user viewed or clicked without rating them."""
        interactions = self.matrix.interactions
        if interactions is None:
            return np.empty(0, dtype=np.int64)
        items = interactions.indices[interactions.indptr[user] : interactions.indptr[user + 1]]
        items = items[interactions.data[interactions.indptr[user] : interactions.indptr[user + 1]] > 0]
        return np.setdiff1d(items, self.matrix.rated_items(user))

    def scores(self, user: int) -> np.ndarray:
        candidates, order = self.candidates(user)
        score = np.empty(len(order))
        score[order] = ranking.rank(candidates, 0, configuration=self.configuration).signals.score
        return score

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.rating.predict(users, items)

    def recommend(self, user: int, n: int, exclude: np.ndarray | None = None) -> np.ndarray:
        candidates, order = self.candidates(user, exclude)
        return order[ranking.rank(candidates, n, configuration=self.configuration).positions]
