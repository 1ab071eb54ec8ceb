"""Account self-service: what a signed-in person can do with everything kept about them. It sits
above auth (identity), ratings and interactions, and asks each of them for its part."""

from datetime import UTC, datetime

from cinelibre.accounts.schemas import AccountExport
from cinelibre.auth import service as auth_service
from cinelibre.auth.rate_limits import AuthRateLimiter
from cinelibre.auth.schemas import SignedInUser, UserPublic
from cinelibre.auth.security import PasswordHasher
from cinelibre.database.connection import Connection
from cinelibre.interactions import service as interactions_service
from cinelibre.ratings import service as ratings_service


async def delete_account(
    conn: Connection,
    *,
    user: SignedInUser,
    password: str,
    hasher: PasswordHasher,
    limiter: AuthRateLimiter,
    address: str,
) -> None:
    """Delete the account with its ratings (taken out of their items' counts and averages) and
    interactions."""
    await auth_service.confirm_password(
        conn, user=user, password=password, field="password", hasher=hasher, limiter=limiter, address=address
    )
    await ratings_service.delete_all_of_user(conn, user_id=user.id)
    await interactions_service.delete_all_of_user(conn, user_id=user.id)
    await auth_service.delete_user(conn, user_id=user.id)


async def export_account(conn: Connection, *, user: SignedInUser) -> AccountExport:
    return AccountExport(
        exported_at=datetime.now(UTC),
        account=UserPublic.model_validate(user.model_dump()),
        ratings=await ratings_service.all_of_user(conn, user_id=user.id),
        interactions=await interactions_service.all_of_user(conn, user_id=user.id),
    )
