from cinelibre.database.connection import Connection
from cinelibre.errors import NotFoundError
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
