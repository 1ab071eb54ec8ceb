from cinelibre.catalog import service as catalog_service
from cinelibre.database.connection import Connection
from cinelibre.interactions import repository
from cinelibre.interactions.schemas import InteractionPublic, InteractionWrite
from cinelibre.pagination import Page, PageRequest


async def record(conn: Connection, *, user_id: int, data: InteractionWrite) -> InteractionPublic:
    if data.item_type is not None and data.item_id is not None:
        await catalog_service.ensure_item_exists(conn, data.item_type, data.item_id)
    row = await repository.insert(
        conn,
        user_id=user_id,
        kind=data.kind.value,
        item_type=data.item_type,
        item_id=data.item_id,
        query=data.query,
    )
    return InteractionPublic.model_validate(row)


async def list_mine(conn: Connection, *, user_id: int, page: PageRequest) -> Page[InteractionPublic]:
    rows, total = await repository.list_for_user(conn, user_id=user_id, skip=page.skip, limit=page.limit)
    items = [InteractionPublic.model_validate(row) for row in rows]
    return Page(items=items, total=total, skip=page.skip, limit=page.limit)


async def delete_all_of_user(conn: Connection, *, user_id: int) -> int:
    return await repository.delete_all_for_user(conn, user_id=user_id)


async def all_of_user(conn: Connection, *, user_id: int) -> list[InteractionPublic]:
    return [InteractionPublic.model_validate(row) for row in await repository.all_for_user(conn, user_id=user_id)]


async def record_search(conn: Connection, *, user_id: int, query: str) -> None:
    await repository.insert(conn, user_id=user_id, kind="search", item_type=None, item_id=None, query=query)
