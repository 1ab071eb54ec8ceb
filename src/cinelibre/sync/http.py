"""A polite JSON client for upstream APIs: a request-rate limit, bounded concurrency, retries of
429s (after their Retry-After), 5xx answers and timeouts with exponential backoff and jitter."""

import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import anyio
import httpx
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

# A Retry-After longer than this is not waited for: the request fails and the run moves on.
MAX_RETRY_AFTER_SECONDS = 120.0


class UpstreamError(Exception):
    """The upstream answered something unusable; the message says what, for the run's errors."""


class UpstreamNotFound(UpstreamError):
    pass


class RetryableError(UpstreamError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: a number of seconds, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


@dataclass
class ClientOptions:
    requests_per_second: float
    concurrency: int
    timeout_seconds: float
    attempts: int
    backoff_seconds: float


@dataclass
class PoliteClient:
    base_url: str
    options: ClientOptions
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    # When each request was sent (monotonic seconds): what the limiter actually held.
    sent_at: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._client = httpx.AsyncClient(
            base_url=self.base_url.rstrip("/"), headers=self.headers, timeout=self.options.timeout_seconds
        )
        # A bucket of one request refilled every 1/rate seconds: requests go out evenly spaced, so
        # no one-second window ever holds more than the rate (a bucket of a second's worth would
        # allow twice the rate across a window when a burst follows the refill).
        self._limiter = AsyncLimiter(1, 1.0 / self.options.requests_per_second)
        self._slots = anyio.Semaphore(self.options.concurrency)
        self._backoff = wait_exponential_jitter(
            multiplier=self.options.backoff_seconds, max=30, jitter=self.options.backoff_seconds
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> "PoliteClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableError) and error.retry_after is not None:
            return error.retry_after
        return self._backoff(state)

    async def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET path and decode its JSON, retrying what may succeed later; raises UpstreamError."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.options.attempts),
            wait=self._wait,
            retry=retry_if_exception_type((RetryableError, httpx.TimeoutException, httpx.TransportError)),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._get_once(path, {**self.params, **(params or {})})
        except (httpx.TimeoutException, httpx.TransportError) as error:
            raise UpstreamError(f"{path}: {type(error).__name__} after {self.options.attempts} attempts") from error
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _get_once(self, path: str, params: dict[str, Any]) -> Any:
        async with self._slots:
            async with self._limiter:
                self.sent_at.append(time.monotonic())
            response = await self._client.get(path, params=params)
        status = response.status_code
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None and retry_after > MAX_RETRY_AFTER_SECONDS:
                raise UpstreamError(f"{path}: HTTP {status}, asked to wait {retry_after:.0f} s")
            raise RetryableError(f"{path}: HTTP {status}", retry_after)
        if status == 404:
            raise UpstreamNotFound(f"{path}: not found")
        if status >= 400:
            raise UpstreamError(f"{path}: HTTP {status}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError:
            raise UpstreamError(f"{path}: the answer is not JSON ({response.text[:80]!r})") from None
