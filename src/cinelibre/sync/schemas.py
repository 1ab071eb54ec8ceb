from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, Field

from cinelibre.types import LanguageCode, Text, bounded_text

Title = bounded_text(min_length=1, max_length=500)
# Upstream text is cut to these lengths before it reaches these models (see cleaning.py).
MAX_OVERVIEW = 5000
MAX_NAME = 200
MAX_NAMES = 30


class SyncedMovie(BaseModel):
    """A film as TMDB describes it, cleaned: what a sync writes."""

    tmdb_id: Annotated[int, Field(gt=0, le=2**31 - 1)]
    imdb_id: Annotated[str, Field(pattern=r"^tt[0-9]{5,10}$")] | None
    title: Title
    original_title: Text | None
    year: Annotated[int, Field(ge=1870, le=2200)] | None
    release_date: date | None
    original_language: LanguageCode | None
    spoken_languages: list[LanguageCode]
    genres: list[Text]
    keywords: list[Text]
    overview: Text | None
    directors: list[Text]
    cast: list[Text]
    poster_url: Text | None
    runtime: Annotated[int, Field(gt=0, le=2000)] | None
    popularity: Annotated[float, Field(ge=0)] | None
    vote_average: Annotated[float, Field(ge=0, le=10)] | None
    vote_count: Annotated[int, Field(ge=0)] | None
    list_fingerprint: str
    # Not stored on the film: who TMDB credits for the book it adapts (Novel, Short Story...),
    # read to link it to that book.
    source_authors: list[Text] = []


class SyncedBook(BaseModel):
    """A Google Books volume, cleaned: what a sync writes."""

    google_books_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{4,40}$")]
    isbn13: Annotated[str, Field(pattern=r"^97[89][0-9]{10}$")] | None
    title: Title
    subtitle: Text | None
    authors: list[Text]
    description: Text | None
    categories: list[Text]
    language: LanguageCode | None
    year: Annotated[int, Field(ge=0, le=2200)] | None
    published_date: Text | None
    page_count: Annotated[int, Field(gt=0, le=100_000)] | None
    thumbnail_url: Text | None
    average_rating: Annotated[float, Field(ge=0, le=5)] | None
    ratings_count: Annotated[int, Field(ge=0)] | None


@dataclass
class SourceReport:
    """One source's run: what happened to each item it saw."""

    source: str
    run_id: int | None = None
    resumed: bool = False
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    embedded: int = 0
    requests: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    COUNTS = ("fetched", "new", "updated", "unchanged", "skipped", "failed")

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.COUNTS}

    def add_counts(self, counts: dict[str, int]) -> None:
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + int(counts.get(name, 0)))

    SUMMARY_COLUMNS = ("source", *COUNTS, "embedded", "requests", "time")

    def error_lines(self, shown: int) -> list[str]:
        """The first `shown` errors, then how many more there were."""
        lines = self.errors[:shown]
        if len(self.errors) > shown:
            lines.append(f"… and {len(self.errors) - shown} more (see `cinelibre sync status`)")
        return lines

    def summary_cells(self) -> list[str]:
        """The run as one table row under SUMMARY_COLUMNS."""
        source = f"{self.source} (resumed run {self.run_id})" if self.resumed else self.source
        counts = (str(count) for count in self.counts().values())
        return [source, *counts, str(self.embedded), str(self.requests), f"{self.seconds:.1f} s"]


RECENT_RUN_COLUMNS = ("run", "source", "started", "status", *SourceReport.COUNTS, "errors")


def recent_run_cells(run: dict[str, Any]) -> list[str]:
    """A stored run (as sync_service.recent_runs gives it) as one table row under RECENT_RUN_COLUMNS."""
    counts = (str(run["counts"].get(name, 0)) for name in SourceReport.COUNTS)
    started = f"{run['started_at']:%Y-%m-%d %H:%M}"
    return [str(run["id"]), run["source"], started, run["status"], *counts, str(run["error_count"])]
