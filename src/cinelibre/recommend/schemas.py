from typing import Annotated, Literal

from pydantic import BaseModel, Field

from cinelibre.catalog.schemas import BookPublic, MoviePublic


class _Recommendation(BaseModel):
    score: float = Field(description="How strongly this item is recommended; higher first.")
    predicted_rating: float | None = Field(
        default=None, description="The stars the caller would give it, where a rating model can tell."
    )
    reason: str = Field(description="Why it is recommended, in words.")


class RecommendedMovie(MoviePublic, _Recommendation):
    item_type: Literal["movie"] = "movie"


class RecommendedBook(BookPublic, _Recommendation):
    item_type: Literal["book"] = "book"


Recommended = Annotated[RecommendedMovie | RecommendedBook, Field(discriminator="item_type")]


class Recommendations(BaseModel):
    items: list[Recommended]


class Prediction(BaseModel):
    item_type: str
    item_id: int
    predicted_rating: float = Field(description="Stars, 0.5 to 5, rounded to one decimal.")
    method: Literal["your rating", "rating model", "collaborative", "baseline"] = Field(
        description="Your own rating; the trained rating model; similar users' ratings (Pearson user-kNN); or your "
        "mean adjusted by the item's."
    )
    neighbour_count: int = Field(description="How many similar users rated the item (collaborative only).")
