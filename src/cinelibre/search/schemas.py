from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from cinelibre.catalog.schemas import BookPublic, MoviePublic
from cinelibre.experiments.schemas import ServedList
from cinelibre.types import ItemType


@dataclass(frozen=True)
class Candidate:
    """One item a retriever found."""

    item_type: ItemType
    item_id: int
    # The retriever's own score (cosine similarity, text rank or word similarity): higher is better.
    score: float
    # Cosine similarity to the query, when the item has an embedding from the current model.
    similarity: float | None


@dataclass(frozen=True)
class NameMatch(Candidate):
    """An item the names retriever found, with how closely the whole query matches its title and
    the closest of its people's names (0 to 1)."""

    title_match: float
    person_match: float
    # How alike the query and the title are as wholes (pg_trgm similarity): 1 for the very title,
    # less for a longer title that contains the query ("Toy Story 3" for "toy story").
    whole_title_match: float = 0.0


class SearchScope(StrEnum):
    MOVIE = "movie"
    BOOK = "book"
    ALL = "all"


class SearchMode(StrEnum):
    """hybrid fuses all retrievers; vector and fulltext use one alone (for comparison)."""

    HYBRID = "hybrid"
    VECTOR = "vector"
    FULLTEXT = "fulltext"


class MovieHit(MoviePublic):
    item_type: Literal["movie"] = "movie"
    similarity: float | None = Field(description="Cosine similarity to the query (null if not embedded yet).")


class BookHit(BookPublic):
    item_type: Literal["book"] = "book"
    similarity: float | None = Field(description="Cosine similarity to the query (null if not embedded yet).")


Hit = Annotated[MovieHit | BookHit, Field(discriminator="item_type")]


class SearchResults(BaseModel):
    items: list[Hit]


class SearchAnswer(SearchResults):
    """A search's results, and whether the whole catalogue had been embedded when they were ranked."""

    hint: str | None = Field(
        default=None, description="When nothing was found: why, and what to try instead. Null otherwise."
    )

    partial: bool = Field(
        description="True while some items are not embedded from their current text yet (at first start, after "
        "an import or a model change): the answer may miss them and is not cached."
    )
    embedded_share: float = Field(
        ge=0.0, le=1.0, description="Share of the catalogue embedded from its current text, rounded down; 1.0: all."
    )


class EmbeddingStatus(BaseModel):
    model: str
    current: int = Field(description="Items embedded by the configured model from their current text.")
    missing: int = Field(description="Items not embedded yet.")
    outdated: int = Field(description="Items whose text changed since they were embedded.")
    other_model: int = Field(description="Items embedded by another model: never compared with this one's.")
    other_models: list[str]


class SearchList(ServedList, SearchAnswer):
    """A search's answer as served: with the list's id, and its experiment while the caller is in one."""
