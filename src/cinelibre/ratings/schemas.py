from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cinelibre.types import ItemId, ItemType


def _exactly_half_stars(value: float) -> float:
    # multiple_of allows for rounding (4.5000000001 passes it), and the numeric(2,1) column would
    # then store 4.5 without a word: only an exact half star is a rating.
    if not (value * 2).is_integer():
        raise ValueError("Input should be a multiple of 0.5")
    return value


# Half stars from 0.5 to 5; strict so that true, "4.5" or null are refused rather than coerced.
Stars = Annotated[float, Field(ge=0.5, le=5.0, multiple_of=0.5, strict=True), AfterValidator(_exactly_half_stars)]


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
