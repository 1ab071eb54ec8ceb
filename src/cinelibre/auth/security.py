"""Password hashing (bcrypt) and access tokens (HS256 JWT)."""

import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import bcrypt
import jwt
from anyio import to_thread
from cachetools import LRUCache

from cinelibre.settings import DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER, ConfigurationError, Settings

logger = logging.getLogger(__name__)

JWT_ALGORITHM = "HS256"
DEVELOPMENT_SECRET_FILE = "jwt-secret"


@dataclass(frozen=True)
class PasswordHasher:
    rounds: int

    async def hash(self, password: str) -> str:
        # bcrypt is deliberately slow: keep it off the event loop.
        return await to_thread.run_sync(self._hash_sync, password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        if password_hash is None:
            # Spend the same time as a real check, so unknown emails cannot be told from wrong passwords.
            await to_thread.run_sync(self._check_sync, password, self._decoy_hash)
            return False
        return await to_thread.run_sync(self._check_sync, password, password_hash)

    def _hash_sync(self, password: str) -> str:
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(self.rounds)).decode()

    @staticmethod
    def _check_sync(password: str, password_hash: str) -> bool:
        return bcrypt.checkpw(password.encode(), password_hash.encode())

    @cached_property
    def _decoy_hash(self) -> str:
        return self._hash_sync(secrets.token_urlsafe(16))


class InvalidTokenError(Exception):
    pass


class TokenSubject(NamedTuple):
    """Whom a valid token names, and the account's token version it was issued under."""

    user_id: int
    version: int


# Checking a token's signature costs more than the rest of a cached answer; a client sends the
# same token request after request, so tokens already checked are remembered until they expire.
# Only the signature and the times are remembered: the version is compared with the account's
# row on every request.
VERIFIED_TOKENS_KEPT = 10_000
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "sub", "ver"]


@dataclass(frozen=True)
class TokenCodec:
    secret: str
    lifetime: timedelta
    issuer: str | None = DEFAULT_JWT_ISSUER
    audience: str | None = DEFAULT_JWT_AUDIENCE
    _verified: LRUCache[str, tuple[TokenSubject, float]] = field(
        default_factory=lambda: LRUCache(maxsize=VERIFIED_TOKENS_KEPT), init=False, repr=False, compare=False
    )

    def issue(self, user_id: int, version: int = 0) -> str:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "ver": version,
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime,
        }
        if self.issuer:
            claims["iss"] = self.issuer
        if self.audience:
            claims["aud"] = self.audience
        return jwt.encode(claims, self.secret, algorithm=JWT_ALGORITHM)

    def subject(self, token: str) -> TokenSubject:
        """Raises InvalidTokenError unless the token is an HS256 token signed with our secret, for
        our issuer and audience, valid now, and names a user and a token version."""
        known = self._verified.get(token)
        if known is not None and known[1] > time.time():
            return known[0]
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[JWT_ALGORITHM],  # never "none", nor whatever the token's header asks for
                issuer=self.issuer,
                audience=self.audience,
                options={"require": self._required_claims},
            )
            version = claims["ver"]
            if type(version) is not int:
                raise ValueError("the ver claim must be an integer")
            subject = TokenSubject(user_id=int(claims["sub"]), version=version)
        except (jwt.PyJWTError, ValueError) as error:
            raise InvalidTokenError(str(error)) from error
        self._verified[token] = (subject, float(claims["exp"]))
        return subject

    @cached_property
    def _required_claims(self) -> list[str]:
        return REQUIRED_CLAIMS + (["iss"] if self.issuer else []) + (["aud"] if self.audience else [])


def resolve_jwt_secret(settings: Settings) -> str:
    """The configured secret; in development, one generated once and kept in the data directory."""
    if settings.jwt_secret_key is not None:
        return settings.jwt_secret_key.get_secret_value()
    if not settings.is_development:
        raise ConfigurationError("JWT_SECRET_KEY is required when ENVIRONMENT=production.")
    secret_file = settings.data_dir / DEVELOPMENT_SECRET_FILE
    if not secret_file.exists():
        _write_private_file(secret_file, secrets.token_urlsafe(48))
    logger.warning(
        "JWT_SECRET_KEY is not set: using the development secret kept in %s. "
        "Set JWT_SECRET_KEY (and ENVIRONMENT=production) before deploying.",
        secret_file,
    )
    return secret_file.read_text().strip()


def _write_private_file(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=False)
    path.write_text(content)
