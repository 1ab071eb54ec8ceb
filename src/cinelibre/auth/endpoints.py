from fastapi import APIRouter, status

from cinelibre.auth import service
from cinelibre.auth.dependencies import RATE_LIMITED, ClientAddress, CurrentUser, Hasher, Limiter, Tokens
from cinelibre.auth.schemas import (
    PasswordChange,
    SignedInUser,
    TokenResponse,
    UserLogin,
    UserRegister,
)
from cinelibre.database.connection import DbConnection

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=status.HTTP_201_CREATED, responses=RATE_LIMITED)
async def register(
    data: UserRegister, conn: DbConnection, hasher: Hasher, tokens: Tokens, limiter: Limiter, address: ClientAddress
) -> TokenResponse:
    return await service.register(conn, data=data, hasher=hasher, tokens=tokens, limiter=limiter, address=address)


@router.post("/login", responses=RATE_LIMITED)
async def login(
    data: UserLogin, conn: DbConnection, hasher: Hasher, tokens: Tokens, limiter: Limiter, address: ClientAddress
) -> TokenResponse:
    return await service.login(conn, data=data, hasher=hasher, tokens=tokens, limiter=limiter, address=address)


@router.get("/me")
async def me(user: CurrentUser) -> SignedInUser:
    return user


@router.post("/password", responses=RATE_LIMITED)
async def change_password(
    data: PasswordChange,
    user: CurrentUser,
    conn: DbConnection,
    hasher: Hasher,
    tokens: Tokens,
    limiter: Limiter,
    address: ClientAddress,
) -> TokenResponse:
    """Change the password. Every token issued before stops working; use the one returned."""
    return await service.change_password(
        conn, user=user, data=data, hasher=hasher, tokens=tokens, limiter=limiter, address=address
    )


@router.post("/logout-all")
async def log_out_everywhere(user: CurrentUser, conn: DbConnection, tokens: Tokens) -> TokenResponse:
    """Make every token issued so far stop working (on every device); use the one returned."""
    return await service.log_out_everywhere(conn, user=user, tokens=tokens)
