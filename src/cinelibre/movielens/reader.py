"""Reading the two MovieLens folder layouts: ml-100k (u.item, u.data) and the CSV layout shared by
ml-latest-small, ml-latest, ml-25m and ml-32m (movies.csv, ratings.csv, links.csv, tags.csv)."""

import csv
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from cinelibre.errors import InvalidInputError


class Layout(StrEnum):
    ML_100K = "ml-100k"
    CSV = "csv"


@dataclass(frozen=True)
class Dataset:
    path: Path
    layout: Layout
    # Names the id spaces: users of two datasets are different people even when their ids match.
    name: str

    @property
    def ratings_file(self) -> Path:
        return self.path / ("u.data" if self.layout is Layout.ML_100K else "ratings.csv")


@dataclass(frozen=True)
class MovieLensMovie:
    movielens_id: int
    title: str
    original_title: str | None
    year: int | None
    genres: list[str]
    imdb_id: str | None = None
    tmdb_id: int | None = None
    tags: list[str] = field(default_factory=list)


# MovieLens genre names that TMDB (and so the rest of our catalogue) spells differently.
GENRE_NAMES = {"Sci-Fi": "Science Fiction", "Children's": "Family", "Children": "Family", "Musical": "Music"}
NOT_GENRES = {"(no genres listed)", "unknown", "IMAX"}
# A film's tags go into the text it is embedded from: the few most used say what it is about, and a
# long tag is a remark ("saw it without kids and plan on seeing it with them") rather than a label.
TAGS_PER_FILM = 10
MAX_TAG_LENGTH = 40
TRAILING_ARTICLES = (
    "The",
    "A",
    "An",
    "Les",
    "La",
    "Le",
    "L'",
    "Il",
    "Das",
    "Der",
    "Die",
    "El",
    "Los",
    "Las",
    "Lo",
    "I",
    "Gli",
    "Un",
    "Une",
    "Det",
    "Den",
    "De",
    "Het",
    "Ein",
    "Eine",
)
_YEAR_SUFFIX = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:\s*[-–]\s*\d{0,4})?\)\s*$")
_ALTERNATE_TITLE = re.compile(r"^(?P<title>.*\S)\s+\((?P<alternate>[^()]+)\)$")
_TRAILING_ARTICLE = re.compile(r"^(?P<rest>.+), (?P<article>" + "|".join(map(re.escape, TRAILING_ARTICLES)) + r")$")


def open_dataset(path: Path, name: str | None = None) -> Dataset:
    if (path / "u.item").is_file() and (path / "u.data").is_file():
        layout = Layout.ML_100K
    elif (path / "movies.csv").is_file() and (path / "ratings.csv").is_file():
        layout = Layout.CSV
    else:
        raise InvalidInputError(
            f"{path} is not a MovieLens folder: expected u.item and u.data (ml-100k) "
            "or movies.csv and ratings.csv (ml-latest-small, ml-25m, ml-32m)."
        )
    return Dataset(path=path, layout=layout, name=name or path.resolve().name)


def _front_article(title: str) -> str:
    """'Shawshank Redemption, The' -> 'The Shawshank Redemption'."""
    match = _TRAILING_ARTICLE.match(title)
    if not match:
        return title
    article = match["article"]
    return f"{article}{match['rest']}" if article.endswith("'") else f"{article} {match['rest']}"


def parse_title(raw: str) -> tuple[str, str | None, int | None]:
    """Split a MovieLens title into (title, alternate title, year)."""
    text = raw.strip()
    year = None
    if match := _YEAR_SUFFIX.match(text):
        text, year = match["title"], int(match["year"])
    alternate = None
    if (match := _ALTERNATE_TITLE.match(text)) and match["title"]:
        text = match["title"]
        alternate = _front_article(match["alternate"].removeprefix("a.k.a. ").strip())
    return _front_article(text.strip()) or raw.strip(), alternate, year


def _genres(names: list[str]) -> list[str]:
    return [GENRE_NAMES.get(name, name) for name in names if name and name not in NOT_GENRES]


def read_movies(dataset: Dataset) -> Iterator[MovieLensMovie]:
    if dataset.layout is Layout.ML_100K:
        yield from _read_100k_movies(dataset.path)
    else:
        yield from _read_csv_movies(dataset.path)


def _read_100k_movies(path: Path) -> Iterator[MovieLensMovie]:
    genre_names = [
        line.split("|")[0] for line in (path / "u.genre").read_text(encoding="latin-1").splitlines() if line.strip()
    ]
    for line in (path / "u.item").read_text(encoding="latin-1").splitlines():
        if not line.strip():
            continue
        fields = line.split("|")
        title, alternate, year = parse_title(fields[1])
        flags = fields[5 : 5 + len(genre_names)]
        genres = _genres([name for name, flag in zip(genre_names, flags, strict=False) if flag == "1"])
        yield MovieLensMovie(int(fields[0]), title, alternate, year, genres)


def read_tags(path: Path) -> dict[int, list[str]]:
    """Each film's tags from tags.csv, lower-cased, most users first (then alphabetically), at most
    TAGS_PER_FILM of them; {} when the folder has no tags.csv."""
    if not (path / "tags.csv").is_file():
        return {}
    taggers: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    with (path / "tags.csv").open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            tag = " ".join((row.get("tag") or "").split()).lower()
            if tag and len(tag) <= MAX_TAG_LENGTH and row.get("movieId", "").strip().isdigit():
                taggers[int(row["movieId"])][tag].add(row.get("userId", ""))
    return {
        movie_id: sorted(tags, key=lambda tag, tags=tags: (-len(tags[tag]), tag))[:TAGS_PER_FILM]
        for movie_id, tags in taggers.items()
    }


def _read_csv_movies(path: Path) -> Iterator[MovieLensMovie]:
    links: dict[int, tuple[str | None, int | None]] = {}
    if (path / "links.csv").is_file():
        with (path / "links.csv").open(encoding="utf-8", newline="") as file:
            for row in csv.DictReader(file):
                imdb = f"tt{row['imdbId'].strip()}" if row.get("imdbId", "").strip().isdigit() else None
                tmdb = int(row["tmdbId"]) if row.get("tmdbId", "").strip().isdigit() else None
                links[int(row["movieId"])] = (imdb, tmdb)
    tags = read_tags(path)
    with (path / "movies.csv").open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            movie_id = int(row["movieId"])
            title, alternate, year = parse_title(row["title"])
            imdb, tmdb = links.get(movie_id, (None, None))
            genres = _genres(row["genres"].split("|"))
            yield MovieLensMovie(movie_id, title, alternate, year, genres, imdb, tmdb, tags.get(movie_id, []))
