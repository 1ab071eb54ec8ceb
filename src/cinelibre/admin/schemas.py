from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class SyncSource(StrEnum):
    MOVIES = "movies"  # TMDB
    BOOKS = "books"  # Google Books

    @property
    def run_source(self) -> str:
        """The name sync_runs and the sync lock use for it."""
        return "tmdb" if self is SyncSource.MOVIES else "google_books"


class JobStarted(BaseModel):
    started: bool = True


class SyncRun(BaseModel):
    id: int
    source: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    options: dict[str, Any]
    counts: dict[str, int]
    error_count: int


class SyncRuns(BaseModel):
    items: list[SyncRun]
