from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from cinelibre.auth.dependencies import CurrentUser
from cinelibre.database.connection import DbConnection
from cinelibre.pagination import Page, PageParams
from cinelibre.ratings import service
from cinelibre.ratings.schemas import RatingPublic, RatingWithItem, RatingWrite
from cinelibre.types import POSTGRES_BIGINT_MAX, ItemType, PathId

router = APIRouter(prefix="/ratings", tags=["ratings"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "An existing rating was changed.", "model": RatingPublic}},
)
async def rate(data: RatingWrite, user: CurrentUser, conn: DbConnection, response: Response) -> RatingPublic:
    saved = await service.rate(conn, user_id=user.id, data=data)
    if not saved.created:
        response.status_code = status.HTTP_200_OK
    return saved.rating


@router.get("/my")
async def my_ratings(
    user: CurrentUser,
    conn: DbConnection,
    page: PageParams,
    item_type: ItemType | None = None,
    item_id: Annotated[int | None, Query(ge=1, le=POSTGRES_BIGINT_MAX)] = None,
) -> Page[RatingWithItem]:
    return await service.list_mine(conn, user_id=user.id, item_type=item_type, item_id=item_id, page=page)


@router.delete("/{rating_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rating(rating_id: PathId, user: CurrentUser, conn: DbConnection) -> None:
    await service.delete(conn, user_id=user.id, rating_id=rating_id)
