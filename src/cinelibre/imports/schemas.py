import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from cinelibre.imports.readers import Source
from cinelibre.types import ItemId, ItemType


class Candidate(BaseModel):
    """A catalogue item an imported row may be."""

    item_type: ItemType
    id: int
    title: str
    year: int | None
    authors: list[str]


class UnmatchedRow(BaseModel):
    """An imported row nothing in the catalogue matched (`row`: its line in `file`)."""

    row: int
    file: str
    title: str = Field(description="The title as the file gave it.")
    year: int | None
    authors: list[str]


class AmbiguousRow(UnmatchedRow):
    """An imported row several catalogue items match about as well: it waits for the user's choice."""

    rating: float | None = Field(description="The stars the row carries (half stars), if it is a rating.")
    want: bool = Field(description="Whether the row is a watchlist or to-read entry.")
    candidates: list[Candidate] = Field(description="The likely items, best match first (at most 5).")


class ImportPublic(BaseModel):
    import_id: uuid.UUID
    source: Source
    rows: int = Field(description="Rows that carry a rating or a want (watched-only or unrated rows are left out).")
    matched: int = Field(description="Rows matched to a catalogue item (by the import or by a choice made since).")
    ambiguous: list[AmbiguousRow]
    not_found: list[UnmatchedRow] = Field(description="Rows nothing matched, and ambiguous rows the user skipped.")
    ratings_added: int
    ratings_updated: int
    wants_added: int
    created_at: datetime


class ImportList(BaseModel):
    items: list[ImportPublic]


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    row: int = Field(ge=1)
    file: str = Field(min_length=1, max_length=500)
    item_id: ItemId | None = Field(description="The chosen candidate's id; null: none of them (the row is skipped).")


class Resolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    choices: list[Choice] = Field(min_length=1, max_length=1000)
