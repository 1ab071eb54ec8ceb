from typing import Annotated

from fastapi import APIRouter, Query

from cinelibre.catalog import service
from cinelibre.catalog.repository import BookFilter, MovieFilter
from cinelibre.catalog.schemas import BookPublic, FilmAdaptations, MoviePublic, MovieSort, SourceBooks
from cinelibre.database.connection import ReadConnection
from cinelibre.errors import InvalidInputError
from cinelibre.pagination import Page, PageParams
from cinelibre.types import LanguageCode, PathId, bounded_text

router = APIRouter(tags=["catalogue"])

Year = Annotated[int, Query(ge=1870, le=2200)]
Genre = Annotated[bounded_text(min_length=1, max_length=50), Query()]
TextFilter = Annotated[
    bounded_text(min_length=1, max_length=200),
    Query(
        description="Words of the title or original title (movies) or of the title or an author (books); "
        "close misspellings match too."
    ),
]


@router.get("/movies")
async def list_movies(
    conn: ReadConnection,
    page: PageParams,
    language: Annotated[LanguageCode | None, Query()] = None,
    genre: Genre | None = None,
    year_from: Year | None = None,
    year_to: Year | None = None,
    q: TextFilter | None = None,
    sort: Annotated[
        MovieSort | None, Query(description="Left out: the closest matches to `q` first, else popularity.")
    ] = None,
) -> Page[MoviePublic]:
    if year_from is not None and year_to is not None and year_from > year_to:
        raise InvalidInputError("year_from must not be after year_to.", field="query.year_from")
    filters = MovieFilter(language=language, genre=genre, year_from=year_from, year_to=year_to, text=q)
    return await service.list_movies(conn, filters=filters, sort=sort, page=page)


@router.get("/movies/{movie_id}")
async def get_movie(movie_id: PathId, conn: ReadConnection) -> MoviePublic:
    return await service.get_movie(conn, movie_id)


@router.get("/movies/{movie_id}/source-books")
async def get_source_books(movie_id: PathId, conn: ReadConnection) -> SourceBooks:
    """The books the film adapts, each with `found_by`: how the link was made (TMDB's credits or
    keywords, or the catalogue file)."""
    return SourceBooks(items=await service.source_books(conn, movie_id))


@router.get("/books")
async def list_books(
    conn: ReadConnection,
    page: PageParams,
    language: Annotated[LanguageCode | None, Query()] = None,
    category: Genre | None = None,
    q: TextFilter | None = None,
) -> Page[BookPublic]:
    """The most rated books first; with `q`, the closest matches first."""
    filters = BookFilter(language=language, category=category, text=q)
    return await service.list_books(conn, filters=filters, page=page)


@router.get("/books/{book_id}")
async def get_book(book_id: PathId, conn: ReadConnection) -> BookPublic:
    return await service.get_book(conn, book_id)


@router.get("/books/{book_id}/adaptations")
async def get_book_adaptations(book_id: PathId, conn: ReadConnection) -> FilmAdaptations:
    """The films adapting the book, oldest first, each with `found_by`."""
    return FilmAdaptations(items=await service.book_adaptations(conn, book_id))
