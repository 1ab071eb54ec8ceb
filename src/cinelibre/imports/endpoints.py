import uuid
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile, status

from cinelibre.auth.dependencies import CurrentUser
from cinelibre.database.connection import DbConnection
from cinelibre.errors import ErrorResponse
from cinelibre.imports import service
from cinelibre.imports.readers import MAX_FILE_BYTES, Source
from cinelibre.imports.schemas import ImportList, ImportPublic, Resolution

router = APIRouter(prefix="/me/imports", tags=["imports"])

IMPORTS_PATH = "/me/imports"
# The body of an upload may exceed the file by the multipart framing (boundaries, part headers):
# a few hundred bytes, given room to spare.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
# What the request body limit allows POST /me/imports (every other route keeps the global one).
MAX_UPLOAD_BODY_BYTES = MAX_FILE_BYTES + MULTIPART_OVERHEAD_BYTES


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={413: {"model": ErrorResponse, "description": "The file is larger than 20 MB."}},
)
async def import_history(
    user: CurrentUser,
    conn: DbConnection,
    source: Annotated[Source, Query(description="The service the file was exported from.")],
    file: Annotated[
        UploadFile, File(description="The export: a CSV, or Letterboxd's ZIP (ratings, watched, watchlist).")
    ],
) -> ImportPublic:
    # One byte past the limit is enough to know the file is too large.
    data = await file.read(MAX_FILE_BYTES + 1)
    return await service.import_history(
        conn, user_id=user.id, source=source, filename=file.filename or "upload", data=data
    )


@router.get("")
async def my_imports(user: CurrentUser, conn: DbConnection) -> ImportList:
    return await service.list_mine(conn, user_id=user.id)


@router.post("/{import_id}/resolve")
async def resolve(import_id: uuid.UUID, data: Resolution, user: CurrentUser, conn: DbConnection) -> ImportPublic:
    return await service.resolve(conn, user_id=user.id, import_id=import_id, choices=data.choices)
