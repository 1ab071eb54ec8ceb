from fastapi import APIRouter, status

from cinelibre.auth.dependencies import CurrentUser
from cinelibre.database.connection import DbConnection
from cinelibre.interactions import service
from cinelibre.interactions.schemas import InteractionPublic, InteractionWrite
from cinelibre.pagination import Page, PageParams

router = APIRouter(prefix="/interactions", tags=["interactions"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def record(data: InteractionWrite, user: CurrentUser, conn: DbConnection) -> InteractionPublic:
    return await service.record(conn, user_id=user.id, data=data)


@router.get("/my")
async def my_interactions(user: CurrentUser, conn: DbConnection, page: PageParams) -> Page[InteractionPublic]:
    return await service.list_mine(conn, user_id=user.id, page=page)
