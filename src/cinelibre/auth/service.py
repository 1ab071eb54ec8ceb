from cinelibre.auth import repository
from cinelibre.auth.schemas import TokenResponse, UserLogin, UserPublic, UserRegister
from cinelibre.auth.security import InvalidTokenError, PasswordHasher, TokenCodec
from cinelibre.database.connection import Connection
from cinelibre.errors import AuthenticationError, ConflictError

WRONG_CREDENTIALS = "Incorrect email or password."


def normalise_email(email: str) -> str:
    # Domains are case-insensitive; we treat the local part the same way, as users expect.
    return email.strip().lower()


async def register(
    conn: Connection, *, data: UserRegister, hasher: PasswordHasher, tokens: TokenCodec
) -> TokenResponse:
    password_hash = await hasher.hash(data.password)
    user = await repository.insert_user(
        conn, email=normalise_email(data.email), name=data.name, password_hash=password_hash
    )
    if user is None:
        raise ConflictError("An account with this email already exists.", field="email")
    return TokenResponse(access_token=tokens.issue(user["id"]), user=UserPublic.model_validate(user))


async def login(conn: Connection, *, data: UserLogin, hasher: PasswordHasher, tokens: TokenCodec) -> TokenResponse:
    user = await repository.get_by_email(conn, normalise_email(data.email))
    password_hash = user["password_hash"] if user else None
    if not await hasher.verify(data.password, password_hash) or user is None:
        raise AuthenticationError(WRONG_CREDENTIALS)
    return TokenResponse(access_token=tokens.issue(user["id"]), user=UserPublic.model_validate(user))


async def user_for_token(conn: Connection, *, token: str, tokens: TokenCodec) -> UserPublic:
    try:
        user_id = tokens.user_id(token)
    except InvalidTokenError as error:
        raise AuthenticationError("The access token is invalid or has expired.") from error
    user = await repository.get_login_user(conn, user_id)
    if user is None:
        raise AuthenticationError("The access token's account no longer exists.")
    return UserPublic.model_validate(user)
