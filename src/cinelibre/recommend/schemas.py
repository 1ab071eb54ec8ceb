from typing import Annotated, Literal

from pydantic import BaseModel, Field

from cinelibre.catalog.schemas import BookPublic, MoviePublic
from cinelibre.experiments.schemas import ServedList
from cinelibre.search.schemas import BookHit, MovieHit


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


class RecommendationList(ServedList, Recommendations):
    """Recommendations as served: with the list's id, and its experiment while the caller is in one."""


class _Likeness(BaseModel):
    score: float = Field(
        ge=0.0,
        le=1.0,
        description="How alike, fused over the lists that found anything (meaning, and co-ratings once the item "
        "has 5 raters): 1.0 is first in every one of them; higher first.",
    )
    reason: str = Field(description="Why it is alike, in words: close in meaning, rated by the same people, or both.")


class SimilarMovie(MovieHit, _Likeness):
    pass


class SimilarBook(BookHit, _Likeness):
    pass


Similar = Annotated[SimilarMovie | SimilarBook, Field(discriminator="item_type")]


class SimilarItems(BaseModel):
    items: list[Similar]


class SimilarList(ServedList, SimilarItems):
    """Similar items as served: with the list's id, and its experiment while the caller is in one."""


class Prediction(BaseModel):
    item_type: str
    item_id: int
    predicted_rating: float = Field(description="Stars, 0.5 to 5, rounded to one decimal.")
    method: Literal["your rating", "rating model", "collaborative", "baseline"] = Field(
        description="Your own rating; the trained rating model; similar users' ratings (Pearson user-kNN); or your "
        "mean adjusted by the item's."
    )
    neighbour_count: int = Field(description="How many similar users rated the item (collaborative only).")
