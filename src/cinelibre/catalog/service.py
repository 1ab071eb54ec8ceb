from cinelibre.catalog import repository
from cinelibre.catalog.repository import BookFilter, MovieFilter
from cinelibre.catalog.schemas import BookPublic, MoviePublic, MovieSort
from cinelibre.database.connection import Connection
from cinelibre.errors import NotFoundError
from cinelibre.pagination import Page, PageRequest
from cinelibre.types import ItemType


async def get_movie(conn: Connection, movie_id: int) -> MoviePublic:
    row = await repository.get_movie(conn, movie_id)
    if row is None:
        raise NotFoundError(f"Movie {movie_id} does not exist.")
    return MoviePublic.model_validate(row)


async def get_book(conn: Connection, book_id: int) -> BookPublic:
    row = await repository.get_book(conn, book_id)
    if row is None:
        raise NotFoundError(f"Book {book_id} does not exist.")
    return BookPublic.model_validate(row)


async def list_movies(
    conn: Connection, *, filters: MovieFilter, sort: MovieSort, page: PageRequest
) -> Page[MoviePublic]:
    rows, total = await repository.list_movies(conn, filters=filters, sort=sort, skip=page.skip, limit=page.limit)
    items = [MoviePublic.model_validate(row) for row in rows]
    return Page(items=items, total=total, skip=page.skip, limit=page.limit)


async def list_books(conn: Connection, *, filters: BookFilter, page: PageRequest) -> Page[BookPublic]:
    rows, total = await repository.list_books(conn, filters=filters, skip=page.skip, limit=page.limit)
    items = [BookPublic.model_validate(row) for row in rows]
    return Page(items=items, total=total, skip=page.skip, limit=page.limit)


async def ensure_item_exists(conn: Connection, item_type: ItemType, item_id: int) -> None:
    if not await repository.item_exists(conn, item_type, item_id):
        raise NotFoundError(f"{item_type.value.capitalize()} {item_id} does not exist.", field="item_id")
