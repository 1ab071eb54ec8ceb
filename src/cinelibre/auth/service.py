from typing import Any

from cinelibre.auth import repository
from cinelibre.auth.rate_limits import RateLimiter
from cinelibre.auth.schemas import (
    PasswordChange,
    SignedInUser,
    TokenResponse,
    UserLogin,
    UserPublic,
    UserRegister,
)
from cinelibre.auth.security import InvalidTokenError, PasswordHasher, TokenCodec
from cinelibre.database.connection import Connection
from cinelibre.errors import AuthenticationError, ConflictError, InvalidInputError, NotFoundError

WRONG_CREDENTIALS = "Incorrect email or password."
# One message for every refused token (bad, expired, revoked, or its account deleted), so a
# token's answer tells nothing about the account behind it.
INVALID_TOKEN = "The access token is invalid or has expired."
WRONG_PASSWORD = "The password is not correct."


def normalise_email(email: str) -> str:
    # Domains are case-insensitive; we treat the local part the same way, as users expect.
    return email.strip().lower()


async def register(
    conn: Connection,
    *,
    data: UserRegister,
    hasher: PasswordHasher,
    tokens: TokenCodec,
    limiter: RateLimiter,
    address: str,
) -> TokenResponse:
    await limiter.register_attempt(address)
    # Hashed before the email is looked at, so a taken email costs the same time as a new one.
    # The 409 itself still says the email is taken: without a confirmation email, registering
    # cannot hide that; the rate limit is what keeps anyone from asking about many addresses.
    password_hash = await hasher.hash(data.password)
    user = await repository.insert_user(
        conn, email=normalise_email(data.email), name=data.name, password_hash=password_hash
    )
    if user is None:
        raise ConflictError("An account with this email already exists.", field="email")
    return _token_response(user, tokens)


async def login(
    conn: Connection,
    *,
    data: UserLogin,
    hasher: PasswordHasher,
    tokens: TokenCodec,
    limiter: RateLimiter,
    address: str,
) -> TokenResponse:
    email = normalise_email(data.email)
    await limiter.login_attempt(address, email)
    user = await repository.get_by_email(conn, email)
    password_hash = user["password_hash"] if user else None
    # An unknown email still costs a bcrypt check (against a decoy hash) and counts as a failure.
    if not await hasher.verify(data.password, password_hash) or user is None:
        await limiter.login_failed(address, email)
        raise AuthenticationError(WRONG_CREDENTIALS)
    await limiter.login_succeeded(address, email)
    return _token_response(user, tokens)


async def user_for_token(conn: Connection, *, token: str, tokens: TokenCodec) -> SignedInUser:
    try:
        subject = tokens.subject(token)
    except InvalidTokenError as error:
        raise AuthenticationError(INVALID_TOKEN) from error
    user = await repository.get_login_user(conn, user_id=subject.user_id, token_version=subject.version)
    if user is None:
        raise AuthenticationError(INVALID_TOKEN)
    return SignedInUser.model_validate(user)


async def change_password(
    conn: Connection,
    *,
    user: SignedInUser,
    data: PasswordChange,
    hasher: PasswordHasher,
    tokens: TokenCodec,
    limiter: RateLimiter,
    address: str,
) -> TokenResponse:
    """Set a new password; every token issued before stops working. Returns a fresh token."""
    await confirm_password(
        conn,
        user=user,
        password=data.current_password,
        field="current_password",
        hasher=hasher,
        limiter=limiter,
        address=address,
    )
    row = await repository.revoke_tokens(conn, user.id, password_hash=await hasher.hash(data.new_password))
    if row is None:
        raise AuthenticationError(INVALID_TOKEN)
    return _token_response(row, tokens)


async def log_out_everywhere(conn: Connection, *, user: SignedInUser, tokens: TokenCodec) -> TokenResponse:
    """Every token issued so far stops working; the caller carries on with the one returned."""
    row = await repository.revoke_tokens(conn, user.id)
    if row is None:
        raise AuthenticationError(INVALID_TOKEN)
    return _token_response(row, tokens)


async def delete_user(conn: Connection, *, user_id: int) -> None:
    """Remove the account row itself (what hangs off it is the caller's to remove first)."""
    await repository.delete_user(conn, user_id)


async def set_admin(conn: Connection, *, email: str, is_admin: bool) -> UserPublic:
    user = await repository.set_admin(conn, email=normalise_email(email), is_admin=is_admin)
    if user is None:
        raise NotFoundError(f"No account has the email {email}.", field="email")
    return UserPublic.model_validate(user)


async def confirm_password(
    conn: Connection,
    *,
    user: SignedInUser,
    password: str,
    field: str,
    hasher: PasswordHasher,
    limiter: RateLimiter,
    address: str,
) -> None:
    """The same limits and backoff as logging in: a stolen token must not become a way to guess
    the password."""
    await limiter.login_attempt(address, user.email)
    if not await hasher.verify(password, await repository.get_password_hash(conn, user.id)):
        await limiter.login_failed(address, user.email)
        raise InvalidInputError(WRONG_PASSWORD, field=field)
    await limiter.login_succeeded(address, user.email)


def _token_response(user: dict[str, Any], tokens: TokenCodec) -> TokenResponse:
    return TokenResponse(
        access_token=tokens.issue(user["id"], user["token_version"]), user=UserPublic.model_validate(user)
    )


async def ensure_imported_users(conn: Connection, *, source: str, external_ids: list[int]) -> dict[int, int]:
    """The accounts a data set brings (they cannot log in), created once; external id → our id."""
    return await repository.ensure_imported_users(conn, source=source, external_ids=external_ids)
