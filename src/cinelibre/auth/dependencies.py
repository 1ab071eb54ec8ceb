"""Route dependencies for the signed-in caller."""

from contextlib import suppress
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cinelibre.auth import service
from cinelibre.auth.rate_limits import CostlyRead, RateLimiter
from cinelibre.auth.schemas import SignedInUser
from cinelibre.auth.security import InvalidTokenError, PasswordHasher, TokenCodec
from cinelibre.database.connection import DbConnection
from cinelibre.errors import AuthenticationError, ErrorResponse, ForbiddenError

# The answer routes guarded by a rate limit may give, for their OpenAPI description.
RATE_LIMITED = {429: {"model": ErrorResponse, "description": "Too many requests; see the Retry-After header."}}

_bearer = HTTPBearer(auto_error=False, description="The access_token from /auth/register or /auth/login.")


# Dependencies that only read app.state are `async def`: FastAPI runs a plain `def` dependency in
# a worker thread, which costs more than the lookup itself on every request.
async def get_token_codec(request: Request) -> TokenCodec:
    return request.app.state.token_codec


async def get_password_hasher(request: Request) -> PasswordHasher:
    return request.app.state.password_hasher


async def get_rate_limiter(request: Request) -> RateLimiter:
    return request.app.state.rate_limiter


async def client_address(request: Request) -> str:
    """The peer's address. Behind a proxy that is the proxy, unless the server trusts its
    X-Forwarded-For: uvicorn's --forwarded-allow-ips (or FORWARDED_ALLOW_IPS) decides that."""
    return request.client.host if request.client else "unknown"


Tokens = Annotated[TokenCodec, Depends(get_token_codec)]
Hasher = Annotated[PasswordHasher, Depends(get_password_hasher)]
Limiter = Annotated[RateLimiter, Depends(get_rate_limiter)]
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


def costly_read_limit(kind: CostlyRead) -> Any:
    """A route dependency that counts the request against `kind`'s limit, per client address and
    per signed-in user, before the route takes a database connection. The user comes from the
    token's signature alone: a revoked token is still counted as its user's, and the route's own
    sign-in check refuses it."""

    async def count(
        limiter: Limiter,
        tokens: Tokens,
        address: ClientAddress,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        user_id = None
        # A bad token is counted by its address alone; the route itself answers it 401.
        if credentials is not None:
            with suppress(InvalidTokenError):
                user_id = tokens.subject(credentials.credentials).user_id
        await limiter.costly_read(kind, address=address, user_id=user_id)

    return Depends(count)


async def signed_user_id(
    tokens: Tokens, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> int | None:
    """The caller's user id from the token's signature alone, without a database read; None for
    an anonymous caller or a bad token (which a route that needs sign-in refuses itself)."""
    if credentials is None:
        return None
    with suppress(InvalidTokenError):
        return tokens.subject(credentials.credentials).user_id
    return None


SignedUserId = Annotated[int | None, Depends(signed_user_id)]

SEARCH_LIMIT = costly_read_limit(CostlyRead.SEARCH)
RECOMMENDATION_LIMIT = costly_read_limit(CostlyRead.RECOMMENDATIONS)
