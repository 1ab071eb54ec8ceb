from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from cinelibre.types import bounded_text

# bcrypt only reads the first 72 bytes of a password; longer ones are refused, not silently cut.
BCRYPT_MAX_PASSWORD_BYTES = 72
MIN_PASSWORD_LENGTH = 8

Name = bounded_text(min_length=1, max_length=100)


def _fits_bcrypt(password: str) -> str:
    if len(password.encode()) > BCRYPT_MAX_PASSWORD_BYTES:
        raise ValueError(f"must be at most {BCRYPT_MAX_PASSWORD_BYTES} bytes long")
    return password


# Not stripped: spaces are part of a password. A password being chosen (registering, changing
# it) needs MIN_PASSWORD_LENGTH characters; one being checked (logging in, confirming) only has
# to fit bcrypt, so an account made when the minimum was shorter can still log in and change it.
NewPassword = Annotated[
    bounded_text(min_length=MIN_PASSWORD_LENGTH, max_length=BCRYPT_MAX_PASSWORD_BYTES, strip=False),
    AfterValidator(_fits_bcrypt),
]
Password = Annotated[
    bounded_text(min_length=1, max_length=BCRYPT_MAX_PASSWORD_BYTES, strip=False),
    AfterValidator(_fits_bcrypt),
]


class _Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[EmailStr, Field(max_length=254)]
    password: Password


class UserRegister(_Credentials):
    password: NewPassword
    name: Name


class UserLogin(_Credentials):
    pass


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: Password
    new_password: NewPassword


class UserPublic(BaseModel):
    id: int
    email: str
    name: str
    created_at: datetime


class SignedInUser(UserPublic):
    """The caller, as route dependencies see them. `GET /auth/me` shows the caller whether they
    are an administrator (so a client shows admin pages only to them); other answers show only
    UserPublic's fields."""

    is_admin: bool


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    user: UserPublic
