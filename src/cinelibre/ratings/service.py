from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from cinelibre.database.connection import Connection
from cinelibre.database.notifications import announce_user_activity
from cinelibre.database.retry import retried_once_on_conflict
from cinelibre.errors import AuthenticationError, InvalidInputError, NotFoundError
from cinelibre.pagination import Page, PageRequest
from cinelibre.ratings import repository
from cinelibre.ratings.schemas import RatingPublic, RatingWithItem, RatingWrite
from cinelibre.types import ItemType


@dataclass(frozen=True)
class SavedRating:
    rating: RatingPublic
    created: bool


async def rate(conn: Connection, *, user_id: int, data: RatingWrite) -> SavedRating:
    """Create the caller's rating of an item, or change it; keeps the item's aggregates in step.
    Open live-update sockets of the user get their new recommendations once this commits."""
    saved = await retried_once_on_conflict(conn, partial(_insert_or_update, conn, user_id=user_id, data=data))
    await announce_user_activity(conn, user_id=user_id)
    return saved


async def _insert_or_update(conn: Connection, *, user_id: int, data: RatingWrite) -> SavedRating:
    key = {"user_id": user_id, "item_type": data.item_type, "item_id": data.item_id, "rating": data.rating}
    # Two attempts: a concurrent request may delete the rating between our insert (which found
    # it) and our update (which then does not).
    for _ in range(2):
        row = await repository.insert_counted(conn, **key)
        if row is not None:
            return SavedRating(RatingPublic.model_validate(row), created=True)
        row = await repository.update_counted(conn, **key)
        if row is not None:
            return SavedRating(RatingPublic.model_validate(row), created=False)
    raise RuntimeError("rating changed concurrently twice in a row")


async def delete(conn: Connection, *, user_id: int, rating_id: int) -> None:
    """Delete the caller's rating and take it out of its item's aggregates."""
    row = await retried_once_on_conflict(
        conn, partial(repository.delete_owned_counted, conn, rating_id=rating_id, user_id=user_id)
    )
    if row is not None:
        await announce_user_activity(conn, user_id=user_id)
        return
    if not await repository.account_exists(conn, user_id=user_id):
        # The account was deleted (its ratings with it) after this request was authenticated.
        raise AuthenticationError(repository.ACCOUNT_GONE)
    # Someone else's rating answers exactly like a missing one.
    raise NotFoundError(f"Rating {rating_id} does not exist.")


async def list_mine(
    conn: Connection, *, user_id: int, item_type: ItemType | None, item_id: int | None = None, page: PageRequest
) -> Page[RatingWithItem]:
    """The user's ratings, newest first; with `item_id` (which needs `item_type`), their rating of
    that one item, if any."""
    if item_id is not None and item_type is None:
        raise InvalidInputError("item_id needs item_type (movie or book).", field="query.item_type")
    rows, total = await repository.list_for_user(
        conn, user_id=user_id, item_type=item_type, item_id=item_id, skip=page.skip, limit=page.limit
    )
    items = [RatingWithItem.model_validate(row) for row in rows]
    return Page(items=items, total=total, skip=page.skip, limit=page.limit)


async def delete_all_of_user(conn: Connection, *, user_id: int) -> int:
    """Remove the user's every rating (their items' counts and averages follow); returns how many."""
    return await repository.delete_all_counted(conn, user_id=user_id)


async def each_of_user(conn: Connection, *, user_id: int) -> AsyncIterator[RatingWithItem]:
    """The user's ratings with their items' titles, oldest first, a few at a time (for a data export)."""
    async for row in repository.each_for_user(conn, user_id=user_id):
        yield RatingWithItem.model_validate(row)


@dataclass(frozen=True)
class MergedRatings:
    added: int
    updated: int


async def merge_dated(
    conn: Connection, *, user_id: int, ratings: list[tuple[ItemType, int, float, datetime | None]]
) -> MergedRatings:
    """Bring in ratings made elsewhere, (item_type, item_id, stars, when made there or None), at
    most one per item: an item the user has not rated is rated; one they have is changed only by
    a rating dated after they last set it here (an undated one never changes it). Item counts and
    averages follow; merging the same ratings twice changes nothing the second time."""
    if not ratings:
        return MergedRatings(added=0, updated=0)
    added, updated = await retried_once_on_conflict(
        conn, partial(repository.merge_dated_counted, conn, user_id=user_id, ratings=ratings)
    )
    if added or updated:
        await announce_user_activity(conn, user_id=user_id)
    return MergedRatings(added=added, updated=updated)


async def insert_many(conn: Connection, rows: list[tuple[int, str, int, float]]) -> None:
    """Bulk-insert (user_id, item_type, item_id, stars) rows; the caller recomputes the items' aggregates."""
    await repository.insert_many(conn, rows)
