"""Account self-service: what a signed-in person can do with everything kept about them. It sits
above auth (identity), ratings and interactions, and asks each of them for its part."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from pydantic import BaseModel, TypeAdapter

from cinelibre.auth import service as auth_service
from cinelibre.auth.rate_limits import RateLimiter
from cinelibre.auth.schemas import SignedInUser
from cinelibre.auth.security import PasswordHasher
from cinelibre.database.connection import Connection
from cinelibre.experiments import service as experiments_service
from cinelibre.imports import service as imports_service
from cinelibre.interactions import service as interactions_service
from cinelibre.ratings import service as ratings_service


async def delete_account(
    conn: Connection,
    *,
    user: SignedInUser,
    password: str,
    hasher: PasswordHasher,
    limiter: RateLimiter,
    address: str,
) -> None:
    """Delete the account with its ratings (taken out of their items' counts and averages),
    interactions and the lists it was shown."""
    await auth_service.confirm_password(
        conn, user=user, password=password, field="password", hasher=hasher, limiter=limiter, address=address
    )
    await ratings_service.delete_all_of_user(conn, user_id=user.id)
    await interactions_service.delete_all_of_user(conn, user_id=user.id)
    await experiments_service.delete_user_exposures(conn, user_id=user.id)
    await auth_service.delete_user(conn, user_id=user.id)


# Rows per piece of the streamed export: few enough to keep memory flat, enough to keep the
# number of writes to the socket small.
EXPORT_ROWS_PER_CHUNK = 200


async def export_account(conn: Connection, *, user: SignedInUser) -> AsyncIterator[bytes]:
    """Everything kept about the account as the JSON of AccountExport, written piece by piece as
    the ratings, interactions and lists shown are read, so an account with a long history is never held in
    memory whole."""
    exported_at = TypeAdapter(datetime).dump_json(datetime.now(UTC))
    account = user.model_dump_json().encode()
    yield b'{"exported_at":' + exported_at + b',"account":' + account + b',"ratings":['
    async for piece in _json_array_items(ratings_service.each_of_user(conn, user_id=user.id)):
        yield piece
    yield b'],"interactions":['
    async for piece in _json_array_items(interactions_service.each_of_user(conn, user_id=user.id)):
        yield piece
    yield b'],"lists_shown":['
    async for piece in _json_array_items(experiments_service.each_list_shown(conn, user_id=user.id)):
        yield piece
    imports = await imports_service.all_of_user(conn, user_id=user.id)
    yield b'],"imports":[' + b",".join(item.model_dump_json().encode() for item in imports) + b"]}"


async def _json_array_items(models: AsyncIterator[BaseModel]) -> AsyncIterator[bytes]:
    """The models as the comma-separated inside of a JSON array, EXPORT_ROWS_PER_CHUNK at a time."""
    chunk: list[bytes] = []
    first = True
    async for model in models:
        chunk.append(model.model_dump_json().encode())
        if len(chunk) == EXPORT_ROWS_PER_CHUNK:
            yield (b"" if first else b",") + b",".join(chunk)
            chunk, first = [], False
    if chunk:
        yield (b"" if first else b",") + b",".join(chunk)
