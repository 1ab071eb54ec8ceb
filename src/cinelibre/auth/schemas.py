from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from cinelibre.types import bounded_text

# bcrypt only reads the first 72 bytes of a password; longer ones are refused, not silently cut.
BCRYPT_MAX_PASSWORD_BYTES = 72
MIN_PASSWORD_LENGTH = 6

Name = bounded_text(min_length=1, max_length=100)
# Not stripped: spaces are part of a password. The byte limit is checked below.
Password = bounded_text(min_length=MIN_PASSWORD_LENGTH, max_length=BCRYPT_MAX_PASSWORD_BYTES, strip=False)


class _Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[EmailStr, Field(max_length=254)]
    password: Password

    @field_validator("password")
    @classmethod
    def _fits_bcrypt(cls, password: str) -> str:
        if len(password.encode()) > BCRYPT_MAX_PASSWORD_BYTES:
            raise ValueError(f"must be at most {BCRYPT_MAX_PASSWORD_BYTES} bytes long")
        return password


class UserRegister(_Credentials):
    name: Name


class UserLogin(_Credentials):
    pass


class UserPublic(BaseModel):
    id: int
    email: str
    name: str
    created_at: datetime


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    user: UserPublic
