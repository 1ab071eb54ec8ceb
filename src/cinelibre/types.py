"""Field types shared by the request schemas of every domain."""

from enum import StrEnum
from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, Field, StringConstraints

POSTGRES_BIGINT_MAX = 2**63 - 1
MAX_SKIP = 1_000_000
MAX_LIMIT = 100
DEFAULT_LIMIT = 20


class ItemType(StrEnum):
    MOVIE = "movie"
    BOOK = "book"


def _reject_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it here rather than fail in the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_reject_nul)]


def bounded_text(*, min_length: int = 0, max_length: int, strip: bool = True) -> Any:
    """Text with length bounds (after stripping surrounding whitespace, unless strip=False).
    The bounds go before the NUL check: pydantic ignores constraints placed after a validator."""
    constraints = StringConstraints(strip_whitespace=strip, min_length=min_length, max_length=max_length)
    return Annotated[str, constraints, AfterValidator(_reject_nul)]


ItemId = Annotated[int, Field(ge=1, le=POSTGRES_BIGINT_MAX)]
Skip = Annotated[int, Field(ge=0, le=MAX_SKIP, description="How many results to skip.")]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description="How many results to return (1-100).")]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}$", description="ISO 639 language code, e.g. 'hi' or 'ta'.")]
PathId = Annotated[int, Path(ge=1, le=POSTGRES_BIGINT_MAX)]
