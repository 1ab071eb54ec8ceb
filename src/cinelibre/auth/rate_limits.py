"""Rate limits on registering and logging in: per client address, per account, and a growing
wait after repeated failed logins for one email. Counters live in Redis when REDIS_URL is set
(every instance sees the same counts) and in this process otherwise.

Emails are counted whether or not an account has them, so a limit or a wait never tells an
unknown address from a registered one; keys hold a digest of the email, never the email itself.
A counter store that fails (Redis down) lets the request through, with a warning: an outage of
the cache must not lock everyone out.
"""

import hashlib
import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool
from redis.exceptions import RedisError

from cinelibre.errors import TooManyRequestsError
from cinelibre.settings import Settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "cinelibre:limits"
# Failed logins in a row are forgotten this long after the first one (or at a successful login).
FAILURES_KEPT_SECONDS = 24 * 3600
# IPv6 clients usually hold a whole /64: counting single addresses would give each one billions.
IPV6_PREFIX_LENGTH = 64
TOO_MANY_ATTEMPTS = "Too many attempts; try again in {seconds} s."


@dataclass(frozen=True)
class RateLimitPolicy:
    register_per_address: RateLimitItem
    login_per_address: RateLimitItem
    login_per_account: RateLimitItem
    backoff_after_failures: int
    backoff_max_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "RateLimitPolicy":
        return cls(
            register_per_address=parse(settings.register_rate_limit),
            login_per_address=parse(settings.login_rate_limit),
            login_per_account=parse(settings.login_account_rate_limit),
            backoff_after_failures=settings.login_backoff_after_failures,
            backoff_max_seconds=settings.login_backoff_max_seconds,
        )

    def backoff_seconds(self, failures: int) -> int:
        """How long to refuse logins after `failures` failed ones in a row (0: not at all)."""
        if failures < self.backoff_after_failures:
            return 0
        return min(2 ** min(failures - self.backoff_after_failures, 30), self.backoff_max_seconds)


class AuthRateLimiter:
    """Raises TooManyRequestsError (429 with Retry-After) when an attempt is over a limit. With
    `storage=None` (RATE_LIMITS=off) every attempt passes and nothing is counted."""

    def __init__(self, storage: Storage | None, policy: RateLimitPolicy, redis_pool: ConnectionPool | None = None):
        self._storage = storage
        self._windows = MovingWindowRateLimiter(storage) if storage is not None else None
        self._policy = policy
        self._redis_pool = redis_pool

    @property
    def enabled(self) -> bool:
        return self._storage is not None

    async def register_attempt(self, address: str) -> None:
        await self._hit(self._policy.register_per_address, "register", "address", address_key(address))

    async def login_attempt(self, address: str, email: str) -> None:
        """Before a password is checked for `email` (logging in, or confirming a change)."""
        account = email_key(email)
        await self._hit(self._policy.login_per_address, "login", "address", address_key(address))
        await self._refuse_while_backing_off(account)
        await self._hit(self._policy.login_per_account, "login", "account", account)

    async def login_failed(self, email: str) -> None:
        if self._storage is None:
            return
        account = email_key(email)
        try:
            failures = await self._storage.incr(f"failures/{account}", FAILURES_KEPT_SECONDS)
            wait = self._policy.backoff_seconds(failures)
            if wait:
                # A key that lives exactly as long as the wait: its expiry is when logins resume.
                await self._storage.clear(f"backoff/{account}")
                await self._storage.incr(f"backoff/{account}", wait)
        except (StorageError, RedisError, OSError) as error:
            logger.warning("rate limit store unreachable, failed login not counted: %s", error)

    async def login_succeeded(self, email: str) -> None:
        if self._storage is None:
            return
        try:
            await self._storage.clear(f"failures/{email_key(email)}")
        except (StorageError, RedisError, OSError) as error:
            logger.warning("rate limit store unreachable, failed logins not reset: %s", error)

    async def close(self) -> None:
        if self._redis_pool is not None:
            await self._redis_pool.aclose()

    async def _hit(self, limit: RateLimitItem, *identifiers: str) -> None:
        if self._windows is None:
            return
        try:
            if await self._windows.hit(limit, *identifiers):
                return
            window = await self._windows.get_window_stats(limit, *identifiers)
        except (StorageError, RedisError, OSError) as error:
            logger.warning("rate limit store unreachable, request let through: %s", error)
            return
        raise _too_many(window.reset_time)

    async def _refuse_while_backing_off(self, account: str) -> None:
        if self._storage is None:
            return
        try:
            if not await self._storage.get(f"backoff/{account}"):
                return
            resumes_at = await self._storage.get_expiry(f"backoff/{account}")
        except (StorageError, RedisError, OSError) as error:
            logger.warning("rate limit store unreachable, request let through: %s", error)
            return
        raise _too_many(resumes_at)


def _too_many(resumes_at: float) -> TooManyRequestsError:
    seconds = max(1, math.ceil(resumes_at - time.time()))
    return TooManyRequestsError(TOO_MANY_ATTEMPTS.format(seconds=seconds), retry_after_seconds=seconds)


def email_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def address_key(address: str) -> str:
    """The address, or for IPv6 its /64 network (an IPv4 address mapped into IPv6 counts as itself)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_PREFIX_LENGTH}", strict=False))
    return str(parsed)


def open_rate_limiter(settings: Settings) -> AuthRateLimiter:
    policy = RateLimitPolicy.from_settings(settings)
    if not settings.rate_limits_enabled:
        return AuthRateLimiter(None, policy)
    if settings.redis_url:
        # Short timeouts, as for the cache: a slow store must not hold up logins.
        pool = ConnectionPool.from_url(settings.redis_url, socket_timeout=0.25, socket_connect_timeout=0.5)
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=KEY_PREFIX,
            wrap_exceptions=True,
            connection_pool=pool,
        )
        return AuthRateLimiter(storage, policy, redis_pool=pool)
    return AuthRateLimiter(MemoryStorage(), policy)
