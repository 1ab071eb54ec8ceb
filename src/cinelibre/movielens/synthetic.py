"""A MovieLens-shaped data set made up from a seed: films with titles, years, genres and a short
overview, raters, and half-star ratings, at any size up to and past ml-25m's. It lets us measure
how import, training and the API behave at a scale we have no real data for, and the same seed
always gives the same data.

How the shape was chosen, from ml-25m (25,000,095 ratings by 162,541 raters of 62,423 films):
- Raters grow in proportion to the ratings (162,541 per 25 million: 154 ratings each on average).
- Films grow more slowly: across the MovieLens releases (ml-100k: 1,682 films for 100,000
  ratings; ml-25m: 62,423 for 25 million) the catalogue grows as the ratings to the power 0.65
  (the slope between the two on a log-log plot), so films = 62,423 · (ratings / 25M)^0.65.
- Every rater has at least 20 ratings, as MovieLens only lists such raters; the rest of each
  rater's count follows a log-normal law fitted to ml-25m's median (71) and mean (154), which
  also gives its longest profiles (tens of thousands of ratings) at full size.
- Film popularity follows a shifted power law, weight ∝ (rank + 280)^-1.9: at full size the most
  rated film is rated by about half of the raters (ml-25m: 81,491 ratings) and the tail is long
  (most films have a few dozen ratings or fewer).
- Release years lean to recent decades (an exponential law back from 2019); ratings fall between
  1996 and November 2019, in a span of activity per rater, never before the film's release.
- Stars: a rating is a rounded noisy sum of a mean of 3.62, a rater bias, a film bias
  (popular films slightly better liked) and the dot product of a rater's and a film's taste
  vectors, the film's drawn around the directions of its genres. Raters who start before
  MovieLens offered half stars (February 2003), and a quarter of the later ones, round to whole
  stars, so whole stars are the commoner (as in ml-25m, where 4.0 and 3.0 lead and the mean is
  3.53). The structure is there for a model to learn; the noise keeps it from being trivial.

Generation is numpy only and yields the ratings in chunks of about a million rows, so that even
25 million ratings never sit in Python objects."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from cinelibre.movielens.reader import GENRE_NAMES, NOT_GENRES

FULL_SIZE_RATINGS = 25_000_000
FULL_SIZE_USERS = 162_541
FULL_SIZE_FILMS = 62_423
FILM_GROWTH_EXPONENT = 0.65
MIN_RATINGS_PER_USER = 20
# Log-normal law of each rater's ratings beyond the first 20: median 51, mean 134.
EXTRA_RATINGS_MEDIAN = 51
EXTRA_RATINGS_SIGMA = 1.39
POPULARITY_SHIFT = 280
POPULARITY_EXPONENT = 1.9
# Raters with more ratings than this share of the catalogue pick their films by an exact weighted
# draw over all films; the others by repeated draws with replacement, far cheaper for short lists.
EXACT_DRAW_SHARE = 0.05
ROWS_PER_CHUNK = 1_000_000

# ml-25m's genres and how many of its films have each; IMAX and "no genres" are dropped on import.
GENRE_FILMS = {
    "Drama": 25606,
    "Comedy": 16870,
    "Thriller": 8654,
    "Romance": 7719,
    "Action": 7348,
    "Horror": 5989,
    "Documentary": 5605,
    "Crime": 5319,
    "(no genres listed)": 5062,
    "Adventure": 4145,
    "Sci-Fi": 3595,
    "Children": 2935,
    "Animation": 2929,
    "Mystery": 2925,
    "Fantasy": 2731,
    "War": 1874,
    "Western": 1399,
    "Musical": 1054,
    "Film-Noir": 353,
    "IMAX": 195,
}
FIRST_RATING = datetime(1996, 1, 1, tzinfo=UTC).timestamp()
LAST_RATING = datetime(2019, 11, 21, tzinfo=UTC).timestamp()
HALF_STARS_FROM = datetime(2003, 2, 12, tzinfo=UTC).timestamp()
LATEST_YEAR = 2019
DAY = 86_400.0

MEAN_RATING = 3.62
USER_BIAS_SD = 0.42
FILM_BIAS_SD = 0.35
POPULAR_FILM_BONUS = 0.12  # per standard deviation of log popularity
TASTE_DIMENSIONS = 12
TASTE_SD = 0.55  # of the rater-film dot product
NOISE_SD = 0.75

ADJECTIVES = [
    "Silent",
    "Broken",
    "Last",
    "Hidden",
    "Golden",
    "Dark",
    "Burning",
    "Lonely",
    "Wild",
    "Secret",
    "Crimson",
    "Frozen",
    "Distant",
    "Forgotten",
    "Endless",
    "Bitter",
    "Electric",
    "Quiet",
    "Savage",
    "Midnight",
    "Hollow",
    "Shining",
    "Restless",
    "Lost",
    "Iron",
    "Velvet",
    "Wandering",
    "Final",
    "Sweet",
    "Deadly",
]
NOUNS = [
    "River",
    "Night",
    "City",
    "Heart",
    "Storm",
    "Summer",
    "Road",
    "Garden",
    "Mirror",
    "Shadow",
    "Kingdom",
    "Harbor",
    "Stranger",
    "Promise",
    "Winter",
    "Island",
    "Frontier",
    "Letter",
    "Empire",
    "Valley",
    "Dream",
    "Station",
    "Hunter",
    "Witness",
    "Circus",
    "Orchard",
    "Machine",
    "Signal",
    "Harvest",
    "Voyage",
]
PLACES = [
    "Paris",
    "Tokyo",
    "Berlin",
    "Texas",
    "Naples",
    "Lagos",
    "Montreal",
    "Havana",
    "Bombay",
    "Alaska",
    "Vienna",
    "Marseille",
    "Glasgow",
    "Oslo",
    "Seoul",
]
TITLE_PATTERNS = (
    "The {adjective} {noun}",
    "{noun} of the {adjective} {noun2}",
    "{adjective} {noun}",
    "A {noun} in {place}",
    "The {noun} and the {noun2}",
    "{place} {noun}",
    "Return of the {noun}",
)
# What a film of each genre is about, for overviews that an embedding model can tell apart.
GENRE_STORIES = {
    "Drama": "a family torn apart by an old secret",
    "Comedy": "a hapless pair whose plans go hilariously wrong",
    "Thriller": "a witness hunted by a ruthless killer",
    "Romance": "two strangers who fall in love against the odds",
    "Action": "an ex-soldier fighting a gang of mercenaries",
    "Horror": "a haunted house where something evil waits",
    "Documentary": "the real people behind a forgotten event",
    "Crime": "a detective chasing a gang of bank robbers",
    "(no genres listed)": "an unusual journey",
    "Adventure": "explorers searching for a lost treasure",
    "Sci-Fi": "a starship crew facing an alien threat",
    "Children": "a young girl and her talking dog",
    "Animation": "an animated fable about brave little animals",
    "Mystery": "a puzzling disappearance in a small town",
    "Fantasy": "a young wizard on a quest against a dark lord",
    "War": "soldiers trapped behind enemy lines",
    "Western": "a lone gunslinger riding into a lawless town",
    "Musical": "singers and dancers chasing fame on Broadway",
    "Film-Noir": "a private eye caught up with a femme fatale",
    "IMAX": "breathtaking images on the biggest screen",
}


@dataclass(frozen=True)
class Shape:
    ratings: int
    users: int
    films: int

    @classmethod
    def for_ratings(cls, ratings: int) -> "Shape":
        scale = ratings / FULL_SIZE_RATINGS
        users = max(1, round(FULL_SIZE_USERS * scale))
        films = max(MIN_RATINGS_PER_USER, round(FULL_SIZE_FILMS * scale**FILM_GROWTH_EXPONENT))
        if ratings < users * MIN_RATINGS_PER_USER:
            raise ValueError(f"{ratings} ratings are too few for {users} raters of at least {MIN_RATINGS_PER_USER}")
        return cls(ratings=ratings, users=users, films=films)


@dataclass(frozen=True)
class SyntheticFilm:
    movielens_id: int
    title: str
    year: int
    genres: list[str]  # as the catalogue names them (what the MovieLens import keeps)
    overview: str


# One chunk of ratings: rater (external id, from 1), film (MovieLens id, from 1), stars, Unix time.
RATING_DTYPE = np.dtype([("user", np.int64), ("movie", np.int32), ("rating", np.float32), ("rated_at", np.int64)])


class SyntheticMovieLens:
    """The films, raters and ratings of one data set. Films and per-rater parameters are drawn
    when it is made (a few MB at full size); ratings are drawn as rating_chunks() is iterated."""

    def __init__(self, ratings: int, *, seed: int = 25) -> None:
        self.shape = Shape.for_ratings(ratings)
        self.seed = seed
        rng = np.random.default_rng([seed, 0])
        films, users = self.shape.films, self.shape.users
        # Films: popularity by a random rank, so ids say nothing about it.
        rank = rng.permutation(films)
        weights = (rank + POPULARITY_SHIFT) ** -POPULARITY_EXPONENT
        self._popularity = weights / weights.sum()
        self._cumulative = np.cumsum(self._popularity)
        self._cumulative[-1] = 1.0
        self._years = np.clip(LATEST_YEAR - np.floor(rng.exponential(20, films)), 1902, LATEST_YEAR).astype(np.int32)
        release = np.array([datetime(int(year), 1, 1, tzinfo=UTC).timestamp() for year in self._years])
        self._released = np.minimum(release + rng.uniform(0, 330 * DAY, films), LAST_RATING - 30 * DAY)
        self._genres = self._draw_genres(rng, films)
        genre_names = list(GENRE_FILMS)
        directions = rng.normal(0, 1, (len(genre_names), TASTE_DIMENSIONS))
        taste = np.stack(
            [directions[[genre_names.index(g) for g in names]].mean(axis=0) for names in self._genres]
        ) + rng.normal(0, 0.6, (films, TASTE_DIMENSIONS))
        log_popularity = np.log(self._popularity)
        self._film_bias = rng.normal(0, FILM_BIAS_SD, films) + POPULAR_FILM_BONUS * (
            (log_popularity - log_popularity.mean()) / log_popularity.std()
        )
        # Centred on the ratings films get (most go to popular films), so the mean rating is the
        # same at every size.
        self._film_bias -= (self._popularity * self._film_bias).sum()
        self._titles = self._draw_titles(rng, films)
        # Raters.
        self._counts = self._draw_counts(rng)
        self._user_bias = rng.normal(0, USER_BIAS_SD, users)
        user_taste = rng.normal(0, 1, (users, TASTE_DIMENSIONS))
        self._first_rating = rng.uniform(FIRST_RATING, LAST_RATING - DAY, users)
        span = rng.exponential(200 * DAY * (1 + self._counts / 200))
        self._last_rating = np.minimum(self._first_rating + span, LAST_RATING)
        self._half_stars = (self._first_rating >= HALF_STARS_FROM) & (rng.random(users) < 0.75)
        # Scale the tastes so that their dot product has the intended spread.
        pairs = rng.integers(0, [users, films], (10_000, 2))
        spread = np.einsum("ij,ij->i", user_taste[pairs[:, 0]], taste[pairs[:, 1]]).std()
        self._film_taste = (taste * np.sqrt(TASTE_SD / spread)).astype(np.float32)
        self._user_taste = (user_taste * np.sqrt(TASTE_SD / spread)).astype(np.float32)

    @staticmethod
    def _draw_genres(rng: np.random.Generator, films: int) -> list[list[str]]:
        names = list(GENRE_FILMS)
        share = np.array(list(GENRE_FILMS.values()), dtype=float)
        share /= share.sum()
        # ml-25m films have 1.8 genres on average: one, plus a few more with falling odds.
        sizes = 1 + rng.binomial(3, 0.27, films)
        genres = []
        for size in sizes:
            picked = rng.choice(len(names), size=size, replace=False, p=share)
            if names.index("(no genres listed)") in picked:
                picked = [names.index("(no genres listed)")]
            genres.append([names[i] for i in sorted(picked)])
        return genres

    @staticmethod
    def _draw_titles(rng: np.random.Generator, films: int) -> list[str]:
        titles = []
        for pattern, adjective, noun, noun2, place in zip(
            rng.integers(0, len(TITLE_PATTERNS), films),
            rng.integers(0, len(ADJECTIVES), films),
            rng.integers(0, len(NOUNS), films),
            rng.integers(0, len(NOUNS), films),
            rng.integers(0, len(PLACES), films),
            strict=True,
        ):
            titles.append(
                TITLE_PATTERNS[pattern].format(
                    adjective=ADJECTIVES[adjective], noun=NOUNS[noun], noun2=NOUNS[noun2], place=PLACES[place]
                )
            )
        return titles

    def _draw_counts(self, rng: np.random.Generator) -> np.ndarray:
        """Each rater's number of ratings: at least 20, log-normal beyond, at most every film, and
        adding up to exactly the ratings asked for."""
        users, films = self.shape.users, self.shape.films
        extra_total = self.shape.ratings - MIN_RATINGS_PER_USER * users
        room = films - MIN_RATINGS_PER_USER
        if extra_total > room * users:
            raise ValueError(f"{self.shape.ratings} ratings do not fit {users} raters of {films} films")
        extra = rng.lognormal(np.log(EXTRA_RATINGS_MEDIAN), EXTRA_RATINGS_SIGMA, users)
        extra *= extra_total / extra.sum()
        while (extra > room).any():
            full = extra >= room
            excess = (extra[full] - room).sum()
            extra[full] = room
            extra[~full] += excess * extra[~full] / extra[~full].sum()
        whole = np.floor(extra).astype(np.int64)
        short = extra_total - whole.sum()
        # The ratings lost to rounding down go to the raters who lost most, one each.
        order = np.argsort((whole - extra) + (whole >= room), kind="stable")
        whole[order[:short]] += 1
        return MIN_RATINGS_PER_USER + whole

    def films(self) -> Iterator[SyntheticFilm]:
        for index in range(self.shape.films):
            genres = self._genres[index]
            story = " and ".join(GENRE_STORIES[g] for g in genres[:2])
            yield SyntheticFilm(
                movielens_id=index + 1,
                title=self._titles[index],
                year=int(self._years[index]),
                genres=[GENRE_NAMES.get(g, g) for g in genres if g not in NOT_GENRES],
                overview=f"The story of {story}.",
            )

    @property
    def ratings_per_user(self) -> np.ndarray:
        return self._counts

    def rating_chunks(self, rows_per_chunk: int = ROWS_PER_CHUNK) -> Iterator[np.ndarray]:
        """The ratings, rater by rater (ids from 1), in arrays of RATING_DTYPE of whole raters each,
        at most `rows_per_chunk` long (unless one rater has more). A chunk's draws depend only on
        the seed and where the chunk starts, so the same seed and chunk size give the same rows."""
        first = 0
        bounds = np.cumsum(self._counts)
        while first < self.shape.users:
            # Whole raters up to the chunk's size (and at least one).
            last = max(first + 1, int(np.searchsorted(bounds, bounds[first] - self._counts[first] + rows_per_chunk)))
            yield self._ratings_of(first, min(last, self.shape.users))
            first = last

    def _ratings_of(self, first: int, last: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, 1, first])
        counts = self._counts[first:last]
        films = np.concatenate([self._films_of(rng, int(count)) for count in counts])
        users = np.repeat(np.arange(first, last), counts)
        taste = np.einsum("ij,ij->i", self._user_taste[users], self._film_taste[films])
        score = MEAN_RATING + self._user_bias[users] + self._film_bias[films] + taste
        score += rng.normal(0, NOISE_SD, len(users))
        half = self._half_stars[users]
        stars = np.where(half, np.clip(np.round(score * 2) / 2, 0.5, 5.0), np.clip(np.round(score), 1.0, 5.0))
        start, end = self._first_rating[users], self._last_rating[users]
        when = start + rng.random(len(users)) * (end - start)
        when = np.minimum(np.maximum(when, self._released[films] + rng.random(len(users)) * 90 * DAY), LAST_RATING)
        chunk = np.empty(len(users), RATING_DTYPE)
        chunk["user"] = users + 1
        chunk["movie"] = films + 1
        chunk["rating"] = stars
        chunk["rated_at"] = when.astype(np.int64)
        return chunk

    def _films_of(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """`count` distinct films drawn by popularity."""
        films = self.shape.films
        if count > EXACT_DRAW_SHARE * films:
            # Efraimidis and Spirakis: the smallest Exp(1)/weight keys are a weighted draw without
            # replacement.
            keys = rng.exponential(size=films) / self._popularity
            return np.argpartition(keys, count - 1)[:count]
        picked = np.unique(np.searchsorted(self._cumulative, rng.random(count + count // 4 + 8)))
        while len(picked) < count:
            more = np.searchsorted(self._cumulative, rng.random(2 * (count - len(picked)) + 8))
            picked = np.union1d(picked, more)
        return rng.permutation(picked)[:count] if len(picked) > count else picked
