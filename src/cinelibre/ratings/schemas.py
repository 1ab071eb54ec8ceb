from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from cinelibre.types import ItemId, ItemType

# Half stars from 0.5 to 5; strict so that true, "4.5" or null are refused rather than coerced.
Stars = Annotated[float, Field(ge=0.5, le=5.0, multiple_of=0.5, strict=True)]


class RatingWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: ItemId
    item_type: ItemType
    rating: Stars


class RatingPublic(BaseModel):
    id: int
    item_id: int
    item_type: ItemType
    rating: float
    created_at: datetime
    updated_at: datetime


class RatingWithItem(RatingPublic):
    title: str = Field(description="The rated item's title.")
