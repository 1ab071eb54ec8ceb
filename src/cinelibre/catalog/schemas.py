from datetime import date
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cinelibre.types import LanguageCode, Text, bounded_text

Title = bounded_text(min_length=1, max_length=500)
# Medium size; default=false makes a missing cover a 404 instead of a blank image.
OPEN_LIBRARY_COVER = "https://covers.openlibrary.org/b/isbn/{isbn}-M.jpg?default=false"


class MovieSort(StrEnum):
    POPULARITY = "popularity"
    RATING = "rating"
    YEAR = "year"
    TITLE = "title"


class MoviePublic(BaseModel):
    # Read from database rows by column name (cast_members), built from other models by field name.
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)

    id: int
    title: str
    original_title: str | None
    year: int | None
    release_date: date | None
    original_language: str | None
    genres: list[str]
    keywords: list[str]
    overview: str | None
    directors: list[str]
    cast: list[str] = Field(validation_alias="cast_members")
    poster_url: str | None = Field(
        description="The poster, served by TMDB, for films whose TMDB details gave one (the TMDB sync and "
        "its enrichment)."
    )
    runtime: int | None = Field(validation_alias="runtime_minutes")
    tmdb_id: int | None
    imdb_id: str | None
    movielens_id: int | None
    popularity: float | None
    vote_average: float | None
    vote_count: int | None
    spoken_languages: list[str] = Field(description="ISO 639-1 codes of the languages spoken in it (from TMDB).")
    average_rating: float | None = Field(description="Mean of our own users' ratings.")
    rating_count: int = Field(description="How many of our users rated it.")


class BookPublic(BaseModel):
    id: int
    title: str
    subtitle: str | None
    authors: list[str]
    description: str | None
    categories: list[str]
    language: str | None
    year: int | None
    published_date: str | None
    page_count: int | None
    thumbnail_url: str | None = Field(
        description="The cover, served by its upstream: Google Books' thumbnail, else Open Library's cover "
        "for the ISBN-13 (a 404 where Open Library has none)."
    )
    google_books_id: str | None
    isbn13: str | None
    upstream_average_rating: float | None
    upstream_ratings_count: int | None
    average_rating: float | None = Field(description="Mean of our own users' ratings.")
    rating_count: int = Field(description="How many of our users rated it.")

    @model_validator(mode="after")
    def cover_from_isbn(self) -> Self:
        # Open Library's Covers API serves any ISBN's cover at a fixed address, so a book known
        # by its ISBN alone (a site's own catalogue file) still shows its cover when online.
        if self.thumbnail_url is None and self.isbn13 is not None:
            self.thumbnail_url = OPEN_LIBRARY_COVER.format(isbn=self.isbn13)
        return self


class MovieCreate(BaseModel):
    """A movie as a catalogue file or an importer describes it (the JSONL fields)."""

    model_config = ConfigDict(extra="forbid")

    item_type: Literal["movie"] = "movie"
    title: Title
    original_title: Text | None = None
    year: Annotated[int, Field(ge=1870, le=2200)] | None = None
    original_language: LanguageCode | None = None
    genres: list[Text] = []
    overview: Text | None = None
    directors: list[Text] = []
    cast: list[Text] = []
    runtime: Annotated[int, Field(gt=0, le=2000)] | None = None
    tmdb_id: Annotated[int, Field(gt=0, le=2**31 - 1)] | None = None
    imdb_id: Annotated[str, Field(pattern=r"^tt[0-9]{5,10}$")] | None = None


class BookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_type: Literal["book"] = "book"
    title: Title
    year: Annotated[int, Field(ge=0, le=2200)] | None = None
    language: LanguageCode | None = None
    categories: list[Text] = []
    description: Text | None = None
    authors: list[Text] = []
    page_count: Annotated[int, Field(gt=0, le=100_000)] | None = None
    google_books_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{4,40}$")] | None = None
    isbn13: Annotated[str, Field(pattern=r"^97[89][0-9]{10}$")] | None = None


class AdaptationSource(StrEnum):
    """How a film was linked to the book it adapts."""

    TMDB_CREDITS = "tmdb_credits"  # TMDB credits the book's author (Novel, Short Story...)
    TMDB_KEYWORDS = "tmdb_keywords"  # TMDB tags it "based on novel or book" and a book has its title
    CATALOGUE = "catalogue"  # a catalogue file ships the link


class SourceBook(BookPublic):
    found_by: AdaptationSource


class FilmAdaptation(MoviePublic):
    found_by: AdaptationSource


class SourceBooks(BaseModel):
    items: list[SourceBook]


class FilmAdaptations(BaseModel):
    items: list[FilmAdaptation]


class FilmReference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    year: Annotated[int, Field(ge=1870, le=2200)]


class BookReference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    authors: Annotated[list[Text], Field(min_length=1)]


class CatalogueAdaptation(BaseModel):
    """A line of a catalogue's adaptations file: a film, by title and year, and the book it
    adapts, by title and authors (as the catalogue files name them)."""

    model_config = ConfigDict(extra="forbid")

    movie: FilmReference
    book: BookReference
