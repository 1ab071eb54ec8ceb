from fastapi import APIRouter, status

from cinelibre.accounts import service
from cinelibre.accounts.schemas import AccountExport, PasswordConfirmation
from cinelibre.auth.dependencies import RATE_LIMITED, ClientAddress, CurrentUser, Hasher, Limiter
from cinelibre.database.connection import DbConnection

# Under /auth/me with the caller's identity, where clients already look for "my account".
router = APIRouter(prefix="/auth", tags=["auth"])


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, responses=RATE_LIMITED)
async def delete_me(
    data: PasswordConfirmation,
    user: CurrentUser,
    conn: DbConnection,
    hasher: Hasher,
    limiter: Limiter,
    address: ClientAddress,
) -> None:
    """Delete the caller's account, ratings and interactions, for good."""
    await service.delete_account(
        conn, user=user, password=data.password, hasher=hasher, limiter=limiter, address=address
    )


@router.get("/me/export")
async def export_me(user: CurrentUser, conn: DbConnection) -> AccountExport:
    """Everything kept about the caller, as JSON."""
    return await service.export_account(conn, user=user)
