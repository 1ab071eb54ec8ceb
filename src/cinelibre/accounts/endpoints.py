from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.responses import StreamingResponse

from cinelibre.accounts import service
from cinelibre.accounts.schemas import AccountExport, PasswordConfirmation
from cinelibre.auth.dependencies import RATE_LIMITED, ClientAddress, CurrentUser, Hasher, Limiter
from cinelibre.database.connection import Connection, DbConnection, request_transaction

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


# The export is read while it is sent: its transaction lasts until the last byte is out. Declared
# before the caller's identity, so it is opened first and closed last.
ExportConnection = Annotated[Connection, Depends(request_transaction, scope="request")]


@router.get("/me/export", response_model=AccountExport)
async def export_me(conn: ExportConnection, user: CurrentUser) -> StreamingResponse:
    """Everything kept about the caller, as JSON, streamed as it is read."""
    return StreamingResponse(service.export_account(conn, user=user), media_type="application/json")
