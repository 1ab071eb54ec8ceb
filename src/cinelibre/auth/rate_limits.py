"""Rate limits: on registering and logging in, per client address, with a growing wait after
failed logins; and on the costly reads (semantic search, recommendations), per client address
and per signed-in user. Counters live in Redis when REDIS_URL is set (every instance sees the
same counts) and in this process otherwise.

Failed logins are counted per (account, address): failures from one address make that address
wait, never the account's owner at another. Across addresses, an account's failed logins have a
limit of their own, and once it is reached only the addresses that failed for that account are
refused; an address that has not failed still has its password checked.

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
from enum import StrEnum

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
# What a refusal says was too many: "Too many attempts; try again in 60 s."
ATTEMPTS = "attempts"
STORE_ERRORS = (StorageError, RedisError, OSError)


class CostlyRead(StrEnum):
    """The reads that make the server work hard, each kind with a limit of its own."""

    SEARCH = "search"
    RECOMMENDATIONS = "recommendations"


@dataclass(frozen=True)
class RateLimitPolicy:
    register_per_address: RateLimitItem
    login_per_address: RateLimitItem
    login_failures_per_account: RateLimitItem
    backoff_after_failures: int
    backoff_max_seconds: int
    costly_reads: dict[CostlyRead, RateLimitItem]

    @classmethod
    def from_settings(cls, settings: Settings) -> "RateLimitPolicy":
        return cls(
            register_per_address=parse(settings.register_rate_limit),
            login_per_address=parse(settings.login_rate_limit),
            login_failures_per_account=parse(settings.login_account_rate_limit),
            backoff_after_failures=settings.login_backoff_after_failures,
            backoff_max_seconds=settings.login_backoff_max_seconds,
            costly_reads={
                CostlyRead.SEARCH: parse(settings.search_rate_limit),
                CostlyRead.RECOMMENDATIONS: parse(settings.recommendation_rate_limit),
            },
        )

    def backoff_seconds(self, failures: int) -> int:
        """How long to refuse logins after `failures` failed ones in a row (0: not at all)."""
        if failures < self.backoff_after_failures:
            return 0
        return min(2 ** min(failures - self.backoff_after_failures, 30), self.backoff_max_seconds)


class RateLimiter:
    """Raises TooManyRequestsError (429 with Retry-After) when a request is over a limit; the
    Retry-After is the longest of the waits that apply, so a client that waits that long is let
    in. With `storage=None` (RATE_LIMITS=off) every request passes and nothing is counted."""

    def __init__(self, storage: Storage | None, policy: RateLimitPolicy, redis_pool: ConnectionPool | None = None):
        self._storage = storage
        self._windows = MovingWindowRateLimiter(storage) if storage is not None else None
        self._policy = policy
        self._redis_pool = redis_pool

    @property
    def enabled(self) -> bool:
        return self._storage is not None

    async def register_attempt(self, address: str) -> None:
        await self._pass_all([(self._policy.register_per_address, ("register", "address", address_key(address)))])

    async def costly_read(self, kind: CostlyRead, *, address: str, user_id: int | None) -> None:
        """Before a search or a recommendation list: counted for the address and, when the caller
        is signed in, for the user too (from wherever they ask)."""
        limit = self._policy.costly_reads[kind]
        counters = [(limit, (kind.value, "address", address_key(address)))]
        if user_id is not None:
            counters.append((limit, (kind.value, "user", str(user_id))))
        await self._pass_all(counters, what=f"{kind.value} requests")

    async def login_attempt(self, address: str, email: str) -> None:
        """Before a password is checked for `email` (logging in, or confirming a change)."""
        if self._storage is None or self._windows is None:
            return
        account, client = email_key(email), address_key(address)
        per_address = self._policy.login_per_address
        try:
            waits = [
                await self._wait_for(per_address, "login", "address", client),
                await self._backoff_wait(account, client),
            ]
            if await self._storage.get(f"failures/{account}/{client}"):
                failures = self._policy.login_failures_per_account
                waits.append(await self._wait_for(failures, "login-failures", "account", account))
            if max(waits) <= 0:
                await self._windows.hit(per_address, "login", "address", client)
                return
        except STORE_ERRORS as error:
            logger.warning("rate limit store unreachable, request let through: %s", error)
            return
        raise _too_many(max(waits), ATTEMPTS)

    async def login_failed(self, address: str, email: str) -> None:
        if self._storage is None or self._windows is None:
            return
        account, client = email_key(email), address_key(address)
        try:
            failures = await self._storage.incr(f"failures/{account}/{client}", FAILURES_KEPT_SECONDS)
            await self._windows.hit(self._policy.login_failures_per_account, "login-failures", "account", account)
            wait = self._policy.backoff_seconds(failures)
            if wait:
                # A key that lives exactly as long as the wait: its expiry is when logins resume.
                await self._storage.clear(f"backoff/{account}/{client}")
                await self._storage.incr(f"backoff/{account}/{client}", wait)
        except STORE_ERRORS as error:
            logger.warning("rate limit store unreachable, failed login not counted: %s", error)

    async def login_succeeded(self, address: str, email: str) -> None:
        if self._storage is None:
            return
        try:
            await self._storage.clear(f"failures/{email_key(email)}/{address_key(address)}")
        except STORE_ERRORS as error:
            logger.warning("rate limit store unreachable, failed logins not reset: %s", error)

    async def close(self) -> None:
        if self._redis_pool is not None:
            await self._redis_pool.aclose()

    async def _pass_all(self, counters: list[tuple[RateLimitItem, tuple[str, ...]]], what: str = ATTEMPTS) -> None:
        """Count the request on every counter if none of them is full; otherwise count nothing
        and refuse it until the last of the full ones has room again."""
        if self._windows is None:
            return
        try:
            wait = max([await self._wait_for(limit, *identifiers) for limit, identifiers in counters])
            if wait <= 0:
                for limit, identifiers in counters:
                    await self._windows.hit(limit, *identifiers)
                return
        except STORE_ERRORS as error:
            logger.warning("rate limit store unreachable, request let through: %s", error)
            return
        raise _too_many(wait, what)

    async def _wait_for(self, limit: RateLimitItem, *identifiers: str) -> float:
        """Seconds until this counter has room for one more request (0 when it has now)."""
        assert self._windows is not None
        if await self._windows.test(limit, *identifiers):
            return 0.0
        window = await self._windows.get_window_stats(limit, *identifiers)
        return window.reset_time - time.time()

    async def _backoff_wait(self, account: str, client: str) -> float:
        assert self._storage is not None
        if not await self._storage.get(f"backoff/{account}/{client}"):
            return 0.0
        return await self._storage.get_expiry(f"backoff/{account}/{client}") - time.time()


def _too_many(wait_seconds: float, what: str) -> TooManyRequestsError:
    seconds = max(1, math.ceil(wait_seconds))
    return TooManyRequestsError(f"Too many {what}; try again in {seconds} s.", retry_after_seconds=seconds)


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


def open_rate_limiter(settings: Settings) -> RateLimiter:
    policy = RateLimitPolicy.from_settings(settings)
    if not settings.rate_limits_enabled:
        return RateLimiter(None, policy)
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
        return RateLimiter(storage, policy, redis_pool=pool)
    return RateLimiter(MemoryStorage(), policy)
