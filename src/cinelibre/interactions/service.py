from collections.abc import AsyncIterator

from cinelibre import metrics
from cinelibre.catalog import service as catalog_service
from cinelibre.database.connection import Connection
from cinelibre.database.notifications import announce_user_activity
from cinelibre.errors import TooManyRequestsError
from cinelibre.interactions import repository
from cinelibre.interactions.schemas import InteractionKind, InteractionPublic, InteractionQuota, InteractionWrite
from cinelibre.pagination import Page, PageRequest
from cinelibre.types import ItemType


async def record(
    conn: Connection, *, user_id: int, data: InteractionWrite, quota: InteractionQuota
) -> InteractionPublic:
    if data.item_type is not None and data.item_id is not None:
        await catalog_service.ensure_item_exists(conn, data.item_type, data.item_id)
    await _ensure_room(conn, user_id=user_id, quota=quota)
    if data.kind is InteractionKind.WANT and data.item_type is not None and data.item_id is not None:
        # At most one want per user and item: wanting it again answers the want already there.
        await repository.lock_user_activity(conn, user_id=user_id)
        existing = await repository.existing_want(conn, user_id=user_id, item_type=data.item_type, item_id=data.item_id)
        if existing is not None:
            return InteractionPublic.model_validate(existing)
    row = await repository.insert(
        conn,
        user_id=user_id,
        kind=data.kind.value,
        item_type=data.item_type,
        item_id=data.item_id,
        query=data.query,
        list_id=data.list_id,
    )
    if data.kind.needs_item:
        # Views and clicks shape the user's recommendations; searches do not.
        await announce_user_activity(conn, user_id=user_id)
    if data.list_id is not None and data.item_type is not None and data.item_id is not None:
        await _count_for_experiment(conn, data, user_id=user_id)
    return InteractionPublic.model_validate(row)


async def _count_for_experiment(conn: Connection, data: InteractionWrite, *, user_id: int) -> None:
    """Count the interaction for its list's experiment and variant (a Prometheus counter). The
    results do not rely on this: they credit interactions by list_id when asked, including those
    that arrived before their list was written."""
    assert data.list_id is not None and data.item_type is not None and data.item_id is not None
    found = await repository.experiment_of_list(
        conn, list_id=data.list_id, user_id=user_id, item_type=data.item_type.value, item_id=data.item_id
    )
    if found is not None:
        metrics.experiment_interactions.labels(str(found["experiment_id"]), found["variant"], data.kind.value).inc()


async def record_wants(conn: Connection, *, user_id: int, items: list[tuple[ItemType, int]]) -> int:
    """Record that the user wants each item (their watchlist or to-read shelf from another
    service), once per item however often it comes; returns how many wants are new. No quota:
    an imported list is one deliberate act, however long."""
    if not items:
        return 0
    await repository.lock_user_activity(conn, user_id=user_id)
    added = await repository.insert_missing_wants(conn, user_id=user_id, items=items)
    if added:
        await announce_user_activity(conn, user_id=user_id)
    return added


async def record_search(conn: Connection, *, user_id: int, query: str, quota: InteractionQuota) -> None:
    """A signed-in user's search, recorded under the same quota as the interactions they send."""
    await _ensure_room(conn, user_id=user_id, quota=quota)
    await repository.insert(conn, user_id=user_id, kind="search", item_type=None, item_id=None, query=query)


async def _ensure_room(conn: Connection, *, user_id: int, quota: InteractionQuota) -> None:
    """Refuse (429, nothing written) when one more interaction would pass a quota."""
    if not quota.windows():
        return
    await repository.lock_user_activity(conn, user_id=user_id)
    for name, seconds, most in quota.windows():
        recent, frees_in = await repository.recent_count(conn, user_id=user_id, seconds=seconds, most=most)
        if recent >= most:
            wait = max(1, frees_in)
            raise TooManyRequestsError(
                f"At most {most} interactions per {name} are recorded for an account; try again in {wait} s.",
                retry_after_seconds=wait,
            )


async def list_mine(conn: Connection, *, user_id: int, page: PageRequest) -> Page[InteractionPublic]:
    rows, total = await repository.list_for_user(conn, user_id=user_id, skip=page.skip, limit=page.limit)
    items = [InteractionPublic.model_validate(row) for row in rows]
    return Page(items=items, total=total, skip=page.skip, limit=page.limit)


async def delete_all_of_user(conn: Connection, *, user_id: int) -> int:
    return await repository.delete_all_for_user(conn, user_id=user_id)


async def each_of_user(conn: Connection, *, user_id: int) -> AsyncIterator[InteractionPublic]:
    """The user's interactions, oldest first, a few at a time (for a data export)."""
    async for row in repository.each_for_user(conn, user_id=user_id):
        yield InteractionPublic.model_validate(row)
