"""Route dependencies for the signed-in caller."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cinelibre.auth import service
from cinelibre.auth.schemas import UserPublic
from cinelibre.auth.security import PasswordHasher, TokenCodec
from cinelibre.database.connection import DbConnection
from cinelibre.errors import AuthenticationError

_bearer = HTTPBearer(auto_error=False, description="The access_token from /auth/register or /auth/login.")


# Dependencies that only read app.state are `async def`: FastAPI runs a plain `def` dependency in
# a worker thread, which costs more than the lookup itself on every request.
async def get_token_codec(request: Request) -> TokenCodec:
    return request.app.state.token_codec


async def get_password_hasher(request: Request) -> PasswordHasher:
    return request.app.state.password_hasher


Tokens = Annotated[TokenCodec, Depends(get_token_codec)]
Hasher = Annotated[PasswordHasher, Depends(get_password_hasher)]


async def current_user(
    conn: DbConnection,
    tokens: Tokens,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> UserPublic:
    if credentials is None:
        raise AuthenticationError("Not authenticated: send 'Authorization: Bearer <access_token>'.")
    return await service.user_for_token(conn, token=credentials.credentials, tokens=tokens)


CurrentUser = Annotated[UserPublic, Depends(current_user)]


async def optional_user(
    conn: DbConnection,
    tokens: Tokens,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> UserPublic | None:
    """The caller if a token is sent (a bad token is still a 401), None for anonymous callers."""
    if credentials is None:
        return None
    return await service.user_for_token(conn, token=credentials.credentials, tokens=tokens)


OptionalUser = Annotated[UserPublic | None, Depends(optional_user)]
