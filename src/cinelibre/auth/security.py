"""Password hashing (bcrypt) and access tokens (HS256 JWT)."""

import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path

import bcrypt
import jwt
from anyio import to_thread
from cachetools import LRUCache

from cinelibre.settings import ConfigurationError, Settings

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


# Checking a token's signature costs more than the rest of a cached answer; a client sends the
# same token request after request, so tokens already checked are remembered until they expire.
VERIFIED_TOKENS_KEPT = 10_000


@dataclass(frozen=True)
class TokenCodec:
    secret: str
    lifetime: timedelta
    _verified: LRUCache[str, tuple[int, float]] = field(
        default_factory=lambda: LRUCache(maxsize=VERIFIED_TOKENS_KEPT), init=False, repr=False, compare=False
    )

    def issue(self, user_id: int) -> str:
        now = datetime.now(UTC)
        claims = {"sub": str(user_id), "iat": now, "exp": now + self.lifetime}
        return jwt.encode(claims, self.secret, algorithm=JWT_ALGORITHM)

    def user_id(self, token: str) -> int:
        known = self._verified.get(token)
        if known is not None and known[1] > time.time():
            return known[0]
        try:
            claims = jwt.decode(token, self.secret, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "sub"]})
            user_id = int(claims["sub"])
        except (jwt.PyJWTError, ValueError) as error:
            raise InvalidTokenError(str(error)) from error
        self._verified[token] = (user_id, float(claims["exp"]))
        return user_id


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
