"""Route dependencies for the signed-in caller."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cinelibre.auth import service
from cinelibre.auth.rate_limits import AuthRateLimiter
from cinelibre.auth.schemas import SignedInUser
from cinelibre.auth.security import PasswordHasher, TokenCodec
from cinelibre.database.connection import DbConnection
from cinelibre.errors import AuthenticationError, ErrorResponse, ForbiddenError

# The answer routes guarded by the login limiter may give, for their OpenAPI description.
RATE_LIMITED = {429: {"model": ErrorResponse, "description": "Too many attempts; see the Retry-After header."}}

_bearer = HTTPBearer(auto_error=False, description="The access_token from /auth/register or /auth/login.")


# Dependencies that only read app.state are `async def`: FastAPI runs a plain `def` dependency in
# a worker thread, which costs more than the lookup itself on every request.
async def get_token_codec(request: Request) -> TokenCodec:
    return request.app.state.token_codec


async def get_password_hasher(request: Request) -> PasswordHasher:
    return request.app.state.password_hasher


async def get_rate_limiter(request: Request) -> AuthRateLimiter:
    return request.app.state.rate_limiter


async def client_address(request: Request) -> str:
    """The peer's address. Behind a proxy that is the proxy, unless the server trusts its
    X-Forwarded-For: uvicorn's --forwarded-allow-ips (or FORWARDED_ALLOW_IPS) decides that."""
    return request.client.host if request.client else "unknown"


Tokens = Annotated[TokenCodec, Depends(get_token_codec)]
Hasher = Annotated[PasswordHasher, Depends(get_password_hasher)]
Limiter = Annotated[AuthRateLimiter, Depends(get_rate_limiter)]
ClientAddress = Annotated[str, Depends(client_address)]


async def current_user(
    conn: DbConnection,
    tokens: Tokens,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> SignedInUser:
    if credentials is None:
        raise AuthenticationError("Not authenticated: send 'Authorization: Bearer <access_token>'.")
    return await service.user_for_token(conn, token=credentials.credentials, tokens=tokens)


CurrentUser = Annotated[SignedInUser, Depends(current_user)]


async def optional_user(
    conn: DbConnection,
    tokens: Tokens,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> SignedInUser | None:
    """The caller if a token is sent (a bad token is still a 401), None for anonymous callers."""
    if credentials is None:
        return None
    return await service.user_for_token(conn, token=credentials.credentials, tokens=tokens)


OptionalUser = Annotated[SignedInUser | None, Depends(optional_user)]


async def admin_user(user: CurrentUser) -> SignedInUser:
    if not user.is_admin:
        raise ForbiddenError("Only an administrator may do this.")
    return user


AdminUser = Annotated[SignedInUser, Depends(admin_user)]
