"""The demo raters' taste model: who the 80 demo raters are, what each of them saw or read, and
how many stars they gave it. Seeded, so every install gets the same ratings.

A rating is the item's standing with audiences (demo/standing.py), moved by the rater's taste in
genres and their own leniency, plus noise, rounded to half stars. What a rater rates is drawn by
how likely they are to have come across it: films in the languages they watch, genres they like,
widely seen titles far more than obscure ones."""

import hashlib
import math
import random
from dataclasses import dataclass
from typing import Any

from cinelibre.demo import standing

RATER_COUNT = 80
SEED = "cinelibre-demo-raters"

# The languages the raters watch and read in, and how many raters call each home: an English-
# speaking audience and the Indian-language audiences the catalogue is built around.
HOME_LANGUAGES = {"en": 30, "hi": 22, "ta": 10, "te": 9, "ml": 8, "kn": 6, "bn": 6, "mr": 5, "pa": 4}
INDIAN_LANGUAGES = frozenset(HOME_LANGUAGES) - {"en"}

# Tastes come in families that run across films and books, so that people who rate one fantasy
# film also rate fantasy novels, and lists of "rated by the same people" make sense.
TASTES = {
    "fantasy and science fiction": (
        "Fantasy",
        "Science Fiction",
        "Adventure",
        "Animation",
        "Young Adult",
        "Children",
        "Mythology",
    ),
    "crime and suspense": ("Crime", "Thriller", "Mystery", "Horror", "Action"),
    "drama and literature": (
        "Drama",
        "History",
        "War",
        "Literary Fiction",
        "Classics",
        "Historical Fiction",
        "Short Stories",
        "Poetry",
    ),
    "comedy and romance": ("Comedy", "Romance", "Family", "Music", "Humor"),
    "true stories and ideas": (
        "Documentary",
        "History",
        "Science",
        "Philosophy",
        "Politics",
        "Essays",
        "Biography",
        "Autobiography",
        "Self-Help",
        "Business",
        "Travel",
    ),
}

LANDMARK_STARS = 4.15
ACCLAIMED_STARS = 3.45
DIVISIVE_STARS = 2.9
LIKED_GENRE_STARS = 0.35
DISLIKED_GENRE_STARS = -0.6
LENIENCY_SPREAD = 0.3
NOISE_SPREAD = 0.6

# How many items a rater rates: log-normal, so most rate a couple of dozen and a few rate well
# over a hundred, as on real sites.
MEDIAN_RATINGS = 22
RATINGS_SPREAD = 0.75
FEWEST_RATINGS = 5
MOST_RATINGS = 160
FEWEST_RATERS_PER_ITEM = 3


@dataclass(frozen=True)
class Rater:
    home_languages: frozenset[str]
    watches_world_cinema: bool
    reads_books: bool
    liked_genres: frozenset[str]
    disliked_genres: frozenset[str]
    leniency: float
    own_picks: int


def title_and_year(item: dict[str, Any]) -> str:
    return f"{item['title']} ({item['year']})"


def standing_stars(item: dict[str, Any]) -> float:
    """The mean stars an item earns from people who see it, before anyone's own taste."""
    landmarks, divisive = (
        (standing.LANDMARK_MOVIES, standing.DIVISIVE_MOVIES)
        if item["item_type"] == "movie"
        else (standing.LANDMARK_BOOKS, standing.DIVISIVE_BOOKS)
    )
    base = (
        LANDMARK_STARS
        if title_and_year(item) in landmarks
        else DIVISIVE_STARS
        if title_and_year(item) in divisive
        else ACCLAIMED_STARS
    )
    # A small fixed offset per title, so items of one standing do not all tie.
    digest = hashlib.sha256(title_and_year(item).encode()).digest()
    return base + (digest[0] / 255 - 0.5) * 0.3


def reach(item: dict[str, Any]) -> float:
    """How widely an item has been seen or read, relative to an ordinary title of the catalogue."""
    widely = standing.WIDELY_SEEN_MOVIES if item["item_type"] == "movie" else standing.WIDELY_READ_BOOKS
    if title_and_year(item) in widely:
        return 5.0
    # Old titles that never became household names find fewer viewers today.
    return 0.6 if item["year"] is not None and item["year"] < 1970 else 1.0


def make_rater(genres: list[str], rng: random.Random) -> Rater:
    languages = list(HOME_LANGUAGES)
    home = {rng.choices(languages, weights=list(HOME_LANGUAGES.values()))[0]}
    if rng.random() < 0.35:
        home.add(rng.choices(languages, weights=list(HOME_LANGUAGES.values()))[0])
    liked = set(TASTES[rng.choice(sorted(TASTES))])
    if rng.random() < 0.3:
        liked.update(TASTES[rng.choice(sorted(TASTES))])
    disliked = rng.choice([genre for genre in genres if genre not in liked])
    count = round(math.exp(rng.gauss(math.log(MEDIAN_RATINGS), RATINGS_SPREAD)))
    return Rater(
        home_languages=frozenset(home),
        watches_world_cinema=rng.random() < 0.3,
        reads_books=rng.random() < 0.5,
        liked_genres=frozenset(liked),
        disliked_genres=frozenset({disliked}),
        leniency=rng.gauss(0, LENIENCY_SPREAD),
        own_picks=min(MOST_RATINGS, max(FEWEST_RATINGS, count)),
    )


def language_weight(rater: Rater, language: str | None) -> float:
    if language in rater.home_languages:
        return 3.0
    if language == "en":
        return 1.0
    indian_rater = bool(rater.home_languages & INDIAN_LANGUAGES)
    if language == "hi" and indian_rater:
        return 1.0  # Hindi films play all over India
    if language in INDIAN_LANGUAGES:
        return 0.25 if indian_rater else 0.08
    return 1.2 if rater.watches_world_cinema else 0.2


def genre_weight(rater: Rater, genres: list[str]) -> float:
    if rater.disliked_genres.intersection(genres):
        return 0.4
    return 4.0 if rater.liked_genres.intersection(genres) else 1.0


def chance_of_rating(rater: Rater, item: dict[str, Any]) -> float:
    seen_everywhere = reach(item) > 1
    # The most widely seen titles cross languages: subtitled, dubbed or simply famous.
    language = max(language_weight(rater, item["language"]), 0.6 if seen_everywhere else 0)
    weight = language * genre_weight(rater, item["genres"]) * reach(item)
    if item["item_type"] == "book":
        weight *= 1.0 if rater.reads_books else 0.05
    return weight


def stars(rater: Rater, item: dict[str, Any], rng: random.Random) -> float:
    raw = standing_stars(item) + rater.leniency + rng.gauss(0, NOISE_SPREAD)
    if rater.liked_genres.intersection(item["genres"]):
        raw += LIKED_GENRE_STARS
    if rater.disliked_genres.intersection(item["genres"]):
        raw += DISLIKED_GENRE_STARS
    return min(5.0, max(0.5, round(raw * 2) / 2))


def demo_ratings(items: list[dict[str, Any]]) -> dict[int, list[tuple[str, int, float]]]:
    """Every demo rater's (item_type, item_id, stars) ratings, by external id, sorted.
    `items` are the catalogue's items in a stable order (catalog item_summaries)."""
    genres = sorted({genre for item in items if item["item_type"] == "movie" for genre in item["genres"]})
    rngs = {external_id: random.Random(f"{SEED}-{external_id}") for external_id in range(1, RATER_COUNT + 1)}
    raters = {external_id: make_rater(genres, rng) for external_id, rng in rngs.items()}
    # Weighted sampling without replacement (Efraimidis and Spirakis): each item draws a key
    # u ** (1 / weight) per rater, and a rater's largest keys are what they rated.
    keys = {
        external_id: [rngs[external_id].random() ** (1 / chance_of_rating(rater, item)) for item in items]
        for external_id, rater in raters.items()
    }
    chosen = {
        external_id: set(sorted(range(len(items)), key=lambda index: -keys[external_id][index])[: rater.own_picks])
        for external_id, rater in raters.items()
    }
    # Every item gets a few raters, those likeliest to have come across it: a lone rating would
    # put any title at the head of a list sorted by average stars.
    for index in range(len(items)):
        raters_of_item = [external_id for external_id in raters if index in chosen[external_id]]
        others = sorted(
            (external_id for external_id in raters if index not in chosen[external_id]),
            key=lambda external_id: -keys[external_id][index],
        )
        for external_id in others[: max(0, FEWEST_RATERS_PER_ITEM - len(raters_of_item))]:
            chosen[external_id].add(index)
    return {
        external_id: sorted(
            (items[index]["item_type"], items[index]["id"], stars(rater, items[index], rngs[external_id]))
            for index in sorted(chosen[external_id])
        )
        for external_id, rater in raters.items()
    }
