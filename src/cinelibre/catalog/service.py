from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import psycopg
from pydantic import Field, TypeAdapter, ValidationError

from cinelibre.catalog import repository
from cinelibre.catalog.repository import BookFilter, MovieFilter
from cinelibre.catalog.schemas import (
    BookCreate,
    BookPublic,
    CatalogueAdaptation,
    FilmAdaptation,
    MovieCreate,
    MoviePublic,
    MovieSort,
    SourceBook,
)
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
    conn: Connection, *, filters: MovieFilter, sort: MovieSort | None, page: PageRequest
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


class UpsertOutcome(StrEnum):
    INSERTED = "inserted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


async def upsert_item(conn: Connection, item: MovieCreate | BookCreate) -> UpsertOutcome:
    """Add an item, or bring the one it describes (same external id, else same title and year) up
    to date. Writing nothing when nothing changed keeps re-imports free."""
    if isinstance(item, MovieCreate):
        existing = await repository.find_movie(conn, item)
        if existing is None:
            await repository.insert_movie(conn, item)
            return UpsertOutcome.INSERTED
        changed = await repository.update_movie(conn, existing, item)
    else:
        existing = await repository.find_book(conn, item)
        if existing is None:
            await repository.insert_book(conn, item)
            return UpsertOutcome.INSERTED
        changed = await repository.update_book(conn, existing, item)
    return UpsertOutcome.UPDATED if changed else UpsertOutcome.UNCHANGED


@dataclass
class CatalogueImport:
    counts: Counter[UpsertOutcome] = field(default_factory=Counter)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)

    def summary(self, name: str) -> str:
        counts = self.counts
        return (
            f"Catalogue {name}: {counts[UpsertOutcome.INSERTED]} added, {counts[UpsertOutcome.UPDATED]} updated, "
            f"{counts[UpsertOutcome.UNCHANGED]} unchanged, {len(self.bad_lines)} bad lines skipped."
        )


_catalogue_item: TypeAdapter[MovieCreate | BookCreate] = TypeAdapter(
    Annotated[MovieCreate | BookCreate, Field(discriminator="item_type")]
)


def parse_catalogue_line(line: str) -> MovieCreate | BookCreate:
    """One JSONL line; raises ValueError with a readable reason."""
    try:
        return _catalogue_item.validate_json(line)
    except ValidationError as error:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'line'}: {e['msg']}" for e in error.errors(include_url=False)
        )
        raise ValueError(reasons) from None


async def import_catalogue(conn: Connection, lines: Iterable[str]) -> CatalogueImport:
    """Upsert every valid line; a bad line is reported with its number and skipped."""
    report = CatalogueImport()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = parse_catalogue_line(line)
            async with conn.transaction():
                report.counts[await upsert_item(conn, item)] += 1
        except ValueError as error:
            report.bad_lines.append((number, str(error)))
        except psycopg.errors.UniqueViolation:
            report.bad_lines.append((number, "its external ids belong to two different catalogue items"))
    return report


async def rows_by_key(conn: Connection, keys: list[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
    """The catalogue rows of a mixed list of (item_type, item_id), read with one query per type;
    callers validate them into whichever response model they return."""
    movie_ids = [item_id for item_type, item_id in keys if item_type == ItemType.MOVIE]
    book_ids = [item_id for item_type, item_id in keys if item_type == ItemType.BOOK]
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    if movie_ids:
        rows |= {(ItemType.MOVIE.value, row["id"]): row for row in await repository.get_movies(conn, movie_ids)}
    if book_ids:
        rows |= {(ItemType.BOOK.value, row["id"]): row for row in await repository.get_books(conn, book_ids)}
    return rows


async def count_items(conn: Connection) -> int:
    return await repository.count_items(conn)


async def insert_new_items(conn: Connection, *, movies: list[MovieCreate], books: list[BookCreate]) -> None:
    """Insert items known to be new (bulk loads into an empty catalogue); no matching is done."""
    await repository.insert_movies(conn, movies)
    await repository.insert_books(conn, books)


async def item_summaries(conn: Connection) -> list[dict[str, Any]]:
    return await repository.item_summaries(conn)


async def rating_count(conn: Connection, item_type: ItemType, item_id: int) -> int:
    return await repository.rating_count(conn, item_type, item_id)


async def recompute_rating_aggregates(conn: Connection) -> None:
    """Every item's rating count and average from the ratings themselves (after bulk loads)."""
    await repository.recompute_rating_aggregates(conn)


async def source_books(conn: Connection, movie_id: int) -> list[SourceBook]:
    """The books a film adapts; NotFoundError for an unknown film."""
    rows = await repository.source_books(conn, movie_id)
    if not rows and not await repository.item_exists(conn, ItemType.MOVIE, movie_id):
        raise NotFoundError(f"Movie {movie_id} does not exist.")
    return [SourceBook.model_validate(row) for row in rows]


async def book_adaptations(conn: Connection, book_id: int) -> list[FilmAdaptation]:
    """The films adapting a book; NotFoundError for an unknown book."""
    rows = await repository.book_adaptations(conn, book_id)
    if not rows and not await repository.item_exists(conn, ItemType.BOOK, book_id):
        raise NotFoundError(f"Book {book_id} does not exist.")
    return [FilmAdaptation.model_validate(row) for row in rows]


def parse_adaptation_line(line: str) -> CatalogueAdaptation:
    return CatalogueAdaptation.model_validate_json(line)


async def link_catalogue_adaptations(conn: Connection, pairs: list[CatalogueAdaptation]) -> int:
    """Link films to the books they adapt as a catalogue file names them (found_by 'catalogue');
    links already there stay as they are, so loading the same file again changes nothing.
    Returns how many of the pairs are linked."""
    return await repository.link_catalogue_adaptations(conn, pairs) if pairs else 0
