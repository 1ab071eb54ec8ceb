"""Turning upstream JSON into catalogue rows. Upstream data is often incomplete or odd: missing
or null fields, numbers as strings, impossible dates, HTML in descriptions, text of any length.
Each field is cleaned on its own (an unusable value becomes "unknown"); an item is skipped, with
its reason, only when it cannot be identified or titled."""

import hashlib
import html
import json
import re
from datetime import date
from typing import Any

import nh3
from pydantic import ValidationError

from cinelibre.sync.schemas import MAX_NAME, MAX_NAMES, MAX_OVERVIEW, SyncedBook, SyncedMovie

TMDB_IMAGE_BASE = "https://image.tmdb.org/t/p/w500"
TOP_CAST = 8
# TMDB crew jobs that credit the writer of what a film adapts rather than of its screenplay.
SOURCE_WRITER_JOBS = frozenset(
    {"Novel", "Book", "Author", "Short Story", "Original Story", "Story", "Writer (Novel)", "Play", "Theatre Play"}
)
# Possessive runs of spaces: two adjacent `\s*` around an optional "/" would split a long run of
# spaces every possible way before failing (quadratic time on hostile upstream text).
_BREAKS = re.compile(r"<\s*+(br|/p|/div|/li)\s*+(?:/\s*+)?>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class SkipItem(ValueError):
    """This upstream item cannot be stored; the message is the logged reason."""


def text(value: Any, max_length: int = MAX_NAME) -> str | None:
    """Plain text: markup removed, entities decoded, whitespace tidied, cut at a word boundary."""
    if not isinstance(value, str):
        return None
    plain = html.unescape(nh3.clean(_BREAKS.sub("\n", value), tags=set()))
    plain = _CONTROL.sub("", plain)
    plain = "\n".join(_SPACES.sub(" ", line).strip() for line in plain.splitlines())
    plain = re.sub(r"\n{3,}", "\n\n", plain).strip()
    if len(plain) > max_length:
        cut = plain[: max_length - 1]
        plain = (cut.rsplit(" ", 1)[0] if " " in cut[-40:] else cut) + "…"
    return plain or None


def names(values: Any, key: str | None = "name", limit: int = MAX_NAMES) -> list[str]:
    """A clean, de-duplicated list of names from a list of strings or of {key: name} objects."""
    found: list[str] = []
    for value in values if isinstance(values, list) else []:
        name = text(value.get(key) if isinstance(value, dict) and key else value)
        if name and name not in found:
            found.append(name)
    return found[:limit]


def integer(value: Any, *, low: int, high: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and low <= value <= high else None


def number(value: Any, *, low: float, high: float) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and low <= value <= high and value == value:
        return float(value)
    return None


def calendar_date(value: Any) -> date | None:
    """An ISO date (YYYY-MM-DD); anything else, including impossible dates, is unknown."""
    if isinstance(value, str):
        try:
            parsed = date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
        return parsed if 1870 <= parsed.year <= 2200 else None
    return None


def fingerprint(summary: dict[str, Any]) -> str:
    """What a TMDB list entry says about a film that its details would too: when it is the same,
    the stored details are still current."""
    described = {
        key: summary.get(key) for key in ("title", "original_title", "overview", "release_date", "poster_path")
    }
    described["genre_ids"] = sorted(g for g in summary.get("genre_ids") or [] if isinstance(g, int))
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()[:32]


def movie_from_tmdb(details: Any, genre_names: dict[int, str], list_fingerprint: str) -> SyncedMovie:
    if not isinstance(details, dict):
        raise SkipItem("the details are not a JSON object")
    tmdb_id = integer(details.get("id"), low=1, high=2**31 - 1)
    title = text(details.get("title"), 500) or text(details.get("original_title"), 500)
    if tmdb_id is None:
        raise SkipItem(f"no usable TMDB id ({details.get('id')!r})")
    if title is None:
        raise SkipItem(f"TMDB {tmdb_id} has no title")
    released = calendar_date(details.get("release_date"))
    genres = names(details.get("genres")) or [
        genre_names[g] for g in details.get("genre_ids") or [] if isinstance(g, int) and g in genre_names
    ]
    credits = details.get("credits") if isinstance(details.get("credits"), dict) else {}
    crew = [person for person in credits.get("crew") or [] if isinstance(person, dict)]
    cast = sorted(
        (person for person in credits.get("cast") or [] if isinstance(person, dict)),
        key=lambda person: integer(person.get("order"), low=0, high=10**6) or 0,
    )
    keywords = details.get("keywords") if isinstance(details.get("keywords"), dict) else {}
    imdb = details.get("imdb_id")
    poster = details.get("poster_path")
    language = details.get("original_language")
    try:
        return SyncedMovie(
            tmdb_id=tmdb_id,
            imdb_id=imdb if isinstance(imdb, str) and re.fullmatch(r"tt[0-9]{5,10}", imdb) else None,
            title=title,
            original_title=text(details.get("original_title"), 500),
            year=released.year if released else None,
            release_date=released,
            original_language=language if isinstance(language, str) and re.fullmatch(r"[a-z]{2,3}", language) else None,
            spoken_languages=[
                code
                for code in names(details.get("spoken_languages"), key="iso_639_1")
                if re.fullmatch(r"[a-z]{2,3}", code)
            ],
            genres=genres,
            keywords=names(keywords.get("keywords")),
            overview=text(details.get("overview"), MAX_OVERVIEW),
            directors=names([p for p in crew if p.get("job") == "Director"]),
            cast=names(cast, limit=TOP_CAST),
            poster_url=TMDB_IMAGE_BASE + poster
            if isinstance(poster, str) and re.fullmatch(r"/[\w.-]{1,100}", poster)
            else None,
            runtime=integer(details.get("runtime"), low=1, high=2000),
            popularity=number(details.get("popularity"), low=0, high=1e9),
            vote_average=number(details.get("vote_average"), low=0, high=10),
            vote_count=integer(details.get("vote_count"), low=0, high=2**31 - 1),
            list_fingerprint=list_fingerprint,
            source_authors=names([p for p in crew if p.get("job") in SOURCE_WRITER_JOBS]),
        )
    except ValidationError as error:
        raise SkipItem(f"TMDB {tmdb_id}: {error.errors(include_url=False)[0]['msg']}") from None


def _isbn13(identifiers: Any) -> str | None:
    for identifier in identifiers if isinstance(identifiers, list) else []:
        if isinstance(identifier, dict) and identifier.get("type") == "ISBN_13":
            digits = re.sub(r"[^0-9]", "", str(identifier.get("identifier", "")))
            if re.fullmatch(r"97[89][0-9]{10}", digits) and _isbn13_check_digit_ok(digits):
                return digits
    return None


def _isbn13_check_digit_ok(digits: str) -> bool:
    total = sum(int(d) * (1 if position % 2 == 0 else 3) for position, d in enumerate(digits[:12]))
    return (10 - total % 10) % 10 == int(digits[12])


def book_from_volume(volume: Any) -> SyncedBook:
    if not isinstance(volume, dict) or not isinstance(volume.get("volumeInfo"), dict):
        raise SkipItem("the volume has no volumeInfo object")
    info = volume["volumeInfo"]
    volume_id = volume.get("id")
    if not isinstance(volume_id, str) or not re.fullmatch(r"[A-Za-z0-9_-]{4,40}", volume_id):
        raise SkipItem(f"no usable volume id ({volume_id!r})")
    title = text(info.get("title"), 500)
    if title is None:
        raise SkipItem(f"volume {volume_id} has no title")
    published = text(info.get("publishedDate"), 20)
    year_match = re.match(r"^([0-9]{4})", published or "")
    language = info.get("language")
    images = info.get("imageLinks") if isinstance(info.get("imageLinks"), dict) else {}
    thumbnail = images.get("thumbnail") or images.get("smallThumbnail")
    try:
        return SyncedBook(
            google_books_id=volume_id,
            isbn13=_isbn13(info.get("industryIdentifiers")),
            title=title,
            subtitle=text(info.get("subtitle"), 500),
            authors=names(info.get("authors"), key=None),
            description=text(info.get("description"), MAX_OVERVIEW),
            categories=names(info.get("categories"), key=None),
            language=language if isinstance(language, str) and re.fullmatch(r"[a-z]{2,3}", language) else None,
            year=int(year_match.group(1)) if year_match and int(year_match.group(1)) <= 2200 else None,
            published_date=published if year_match else None,
            page_count=integer(info.get("pageCount"), low=1, high=100_000),
            thumbnail_url=thumbnail if isinstance(thumbnail, str) and re.match(r"^https?://", thumbnail) else None,
            average_rating=number(info.get("averageRating"), low=0, high=5),
            ratings_count=integer(info.get("ratingsCount"), low=0, high=2**31 - 1),
        )
    except ValidationError as error:
        raise SkipItem(f"volume {volume_id}: {error.errors(include_url=False)[0]['msg']}") from None
