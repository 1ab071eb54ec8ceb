from typing import Any

from cinelibre.catalog import repository as catalog_repository
from cinelibre.catalog.schemas import BookPublic, MoviePublic
from cinelibre.database.connection import Connection
from cinelibre.errors import NotFoundError
from cinelibre.recommend import repository
from cinelibre.recommend.schemas import RecommendedBook, RecommendedMovie
from cinelibre.search import service as search_service
from cinelibre.search.embedder import Embedder
from cinelibre.search.schemas import BookHit, MovieHit
from cinelibre.types import ItemType


async def similar_items(
    conn: Connection,
    *,
    embedder: Embedder,
    item_type: ItemType,
    item_id: int,
    target_type: ItemType | None,
    limit: int,
) -> list[MovieHit | BookHit]:
    """Content-based neighbours of an item (its own type unless target_type says otherwise)."""
    hits = await search_service.similar_to(
        conn, embedder=embedder, item_type=item_type, item_id=item_id, target_type=target_type or item_type, limit=limit
    )
    if hits is None:
        raise NotFoundError(f"{item_type.value.capitalize()} {item_id} does not exist.")
    return hits


async def _with_items(conn: Connection, rows: list[dict[str, Any]]) -> list[RecommendedMovie | RecommendedBook]:
    """Attach each recommended item's usual object; rows carry item_type, item_id, score, reason."""
    movie_ids = [row["item_id"] for row in rows if row["item_type"] == ItemType.MOVIE]
    book_ids = [row["item_id"] for row in rows if row["item_type"] == ItemType.BOOK]
    movies = {m["id"]: m for m in await catalog_repository.get_movies(conn, movie_ids)} if movie_ids else {}
    books = {b["id"]: b for b in await catalog_repository.get_books(conn, book_ids)} if book_ids else {}
    items: list[RecommendedMovie | RecommendedBook] = []
    for row in rows:
        extra = {"score": row["score"], "predicted_rating": row.get("predicted_rating"), "reason": row["reason"]}
        if row["item_type"] == ItemType.MOVIE:
            items.append(RecommendedMovie(**MoviePublic.model_validate(movies[row["item_id"]]).model_dump(), **extra))
        else:
            items.append(RecommendedBook(**BookPublic.model_validate(books[row["item_id"]]).model_dump(), **extra))
    return items


def _popularity_reason(row: dict[str, Any], window_days: int | None) -> str:
    when = f" in the last {window_days} days" if window_days else ""
    if row["rating_count"]:
        return f"rated {row['average_rating']:.1f}★ on average by {row['rating_count']} of our users{when}"
    return f"viewed {row['interaction_count']} times by our users{when}"


async def popular(
    conn: Connection, *, item_type: ItemType | None, window_days: int | None, limit: int
) -> list[RecommendedMovie | RecommendedBook]:
    rows = await repository.popular_items(conn, item_type=item_type, window_days=window_days, limit=limit)
    return await _with_items(conn, [row | {"reason": _popularity_reason(row, window_days)} for row in rows])
