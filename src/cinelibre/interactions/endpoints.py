from fastapi import APIRouter, status

from cinelibre.auth.dependencies import RATE_LIMITED, CurrentUser
from cinelibre.database.connection import DbConnection
from cinelibre.interactions import service
from cinelibre.interactions.dependencies import QuotaDep
from cinelibre.interactions.schemas import InteractionPublic, InteractionWrite
from cinelibre.pagination import Page, PageParams

router = APIRouter(prefix="/interactions", tags=["interactions"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=RATE_LIMITED)
async def record(data: InteractionWrite, user: CurrentUser, conn: DbConnection, quota: QuotaDep) -> InteractionPublic:
    """Record what the caller did; at most INTERACTIONS_PER_MINUTE and INTERACTIONS_PER_DAY per account."""
    return await service.record(conn, user_id=user.id, data=data, quota=quota)


@router.get("/my")
async def my_interactions(user: CurrentUser, conn: DbConnection, page: PageParams) -> Page[InteractionPublic]:
    return await service.list_mine(conn, user_id=user.id, page=page)
