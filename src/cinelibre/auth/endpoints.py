from fastapi import APIRouter, status

from cinelibre.auth import service
from cinelibre.auth.dependencies import CurrentUser, Hasher, Tokens
from cinelibre.auth.schemas import TokenResponse, UserLogin, UserPublic, UserRegister
from cinelibre.database.connection import DbConnection

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=status.HTTP_201_CREATED)
async def register(data: UserRegister, conn: DbConnection, hasher: Hasher, tokens: Tokens) -> TokenResponse:
    return await service.register(conn, data=data, hasher=hasher, tokens=tokens)


@router.post("/login")
async def login(data: UserLogin, conn: DbConnection, hasher: Hasher, tokens: Tokens) -> TokenResponse:
    return await service.login(conn, data=data, hasher=hasher, tokens=tokens)


@router.get("/me")
async def me(user: CurrentUser) -> UserPublic:
    return user
