import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cinelibre.types import ItemId, ItemType, bounded_text


class InteractionKind(StrEnum):
    """What a user did. Add a member to track a new kind; the database accepts any short name."""

    VIEW = "view"
    CLICK = "click"
    SEARCH = "search"
    # On the user's watchlist or to-read shelf (imported from another service, or sent here): at
    # most one per user and item.
    WANT = "want"

    @property
    def needs_item(self) -> bool:
        return self in (InteractionKind.VIEW, InteractionKind.CLICK, InteractionKind.WANT)

    @property
    def needs_query(self) -> bool:
        return self is InteractionKind.SEARCH


SearchQuery = bounded_text(min_length=1, max_length=500)


class InteractionWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: InteractionKind
    item_id: ItemId | None = None
    item_type: ItemType | None = None
    query: SearchQuery | None = None
    list_id: uuid.UUID | None = Field(
        default=None,
        description="The list_id of the list the item was clicked or viewed from: the click is credited to that "
        "list (and its experiment's variant) when the list was shown to the caller and held the item.",
    )

    @model_validator(mode="after")
    def _complete_for_kind(self) -> "InteractionWrite":
        if (self.item_id is None) != (self.item_type is None):
            raise ValueError("item_id and item_type must be given together")
        if self.kind.needs_item and self.item_id is None:
            raise ValueError(f"a '{self.kind.value}' interaction needs item_id and item_type")
        if self.kind.needs_query and self.query is None:
            raise ValueError(f"a '{self.kind.value}' interaction needs a query")
        if self.list_id is not None and not self.kind.needs_item:
            raise ValueError(f"a '{self.kind.value}' interaction comes from no list: leave out list_id")
        return self


class InteractionPublic(BaseModel):
    id: int
    kind: str
    item_id: int | None
    item_type: ItemType | None
    title: str | None = Field(description="The item's title; null for a search, which names no item.")
    query: str | None
    created_at: datetime


@dataclass(frozen=True)
class InteractionQuota:
    """Most interactions one account may record per minute and per day (0: no such bound)."""

    per_minute: int
    per_day: int

    def windows(self) -> list[tuple[str, int, int]]:
        """(name, seconds, most) of each bound that is set."""
        bounds = [("minute", 60, self.per_minute), ("day", 24 * 3600, self.per_day)]
        return [bound for bound in bounds if bound[2] > 0]
