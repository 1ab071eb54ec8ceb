"""ASGI middleware (plain ASGI: BaseHTTPMiddleware would cost a task and a copy per request)."""

import asyncio
import logging
import time

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cinelibre import metrics
from cinelibre.errors import DATABASE_RETRY_AFTER_SECONDS, error_response

logger = logging.getLogger(__name__)
access_log = logging.getLogger("cinelibre.access")
# The access line carries at most this much of a path: enough to recognise any real URL, and a
# bound on what every log filter after it must read.
LOGGED_PATH_CHARACTERS = 512


class RequestMetrics:
    """Count and time every request by its route template (/movies/{movie_id}, not each id), and
    write one access-log line with the request id the log set-up attaches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless the app starts a response

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics.http_requests_in_progress.inc()
        try:
            await self.app(scope, receive, send_and_note_status)
        except Exception:
            metrics.unhandled_errors.labels(_route_template(scope)).inc()
            raise
        finally:
            metrics.http_requests_in_progress.dec()
            elapsed = time.perf_counter() - started
            route, method = _route_template(scope), scope["method"]
            metrics.http_requests.labels(method, route, str(status)).inc()
            metrics.http_request_duration.labels(method, route).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                path = _logged_path(scope["path"])
                access_log.info(
                    "%s %s %s %.1f ms",
                    method,
                    path,
                    status,
                    elapsed * 1000,
                    extra={
                        "method": method,
                        "path": path,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )


def _logged_path(path: str) -> str:
    if len(path) <= LOGGED_PATH_CHARACTERS:
        return path
    return f"{path[:LOGGED_PATH_CHARACTERS]}…[{len(path) - LOGGED_PATH_CHARACTERS} more characters]"


def _route_template(scope: Scope) -> str:
    # Set by the router once a route matched; unmatched paths share one label so that probes of
    # random URLs cannot grow the metrics without bound.
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class BodySizeLimit:
    """Refuse request bodies over a limit with 413, whether or not they declare their length.
    `larger_limits` gives a few paths (an upload's) a limit of their own; every other path keeps
    `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger_limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger_limits = larger_limits or {}
        self.message = self._message(max_bytes)
        self.larger_messages = {path: self._message(limit) for path, limit in self.larger_limits.items()}

    @staticmethod
    def _message(max_bytes: int) -> str:
        return f"The request body is larger than {max_bytes} bytes."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.larger_limits.get(scope["path"], self.max_bytes)
        too_large = self.larger_messages.get(scope["path"], self.message)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            await error_response(413, too_large)(scope, receive, send)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    # Raised while the route reads its body, so the app's error handlers answer it.
                    raise HTTPException(413, too_large)
            return message

        await self.app(scope, limited_receive, send)


class RequestHeadLimit:
    """Refuse a request whose URL (414) or headers (431) are larger than a limit, before anything
    reads them: the HTTP parser accepts a request line of almost 64 KiB and headers of any size,
    and every layer after this one (request ids, tokens, routing, logs) would otherwise see them
    whole."""

    def __init__(self, app: ASGIApp, *, max_url_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_url_bytes = max_url_bytes
        self.max_header_bytes = max_header_bytes
        self.url_message = f"The request's path and query string are longer than {max_url_bytes} bytes."
        self.header_message = f"The request's headers are larger than {max_header_bytes} bytes."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            url_bytes = len(scope.get("raw_path") or scope["path"].encode()) + len(scope["query_string"])
            if url_bytes > self.max_url_bytes:
                await error_response(414, self.url_message)(scope, receive, send)
                return
            if sum(len(name) + len(value) for name, value in scope["headers"]) > self.max_header_bytes:
                await error_response(431, self.header_message)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class RequestDeadline:
    """Answer 503, with Retry-After, a request that has not begun its answer within `seconds`, and
    cancel its work.

    A database, or a network or pooler on the way to it, that stops answering without closing the
    connection would otherwise hold the request, and its client, until TCP gives up (never, when the
    stall is in a pooler that still acknowledges every packet). The work runs in a task of its own
    and unwinds in the background: cancelled in the middle of a query, psycopg first asks the
    server to cancel it, which takes seconds more when the server cannot be reached, and only then
    closes the connection. That task per request (a few microseconds) is the price of answering on
    time all the same."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self.message = f"The request took more than {seconds:g} s; try again shortly."
        # Cancelled work still unwinding; asyncio keeps only weak references to tasks.
        self._unwinding: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answering = expired = False

        async def send_unless_expired(message: Message) -> None:
            nonlocal answering
            if expired:
                return  # the client has had its 503
            if message["type"] == "http.response.start":
                answering = True
            await send(message)

        work = asyncio.create_task(self.app(scope, receive, send_unless_expired))
        try:
            await asyncio.wait((work,), timeout=self.seconds)
        except asyncio.CancelledError:
            work.cancel()  # the server is shutting down, or the client has gone
            raise
        if work.done() or answering:
            await work  # its result, or its exception for the handlers outside
            return
        expired = True
        work.cancel()
        self._unwinding.add(work)
        work.add_done_callback(self._forget)
        logger.warning(
            "%s %s not answered in %g s: cancelled", scope["method"], _logged_path(scope["path"]), self.seconds
        )
        answer = error_response(503, self.message, headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})
        await answer(scope, receive, send)

    def _forget(self, work: asyncio.Task[None]) -> None:
        self._unwinding.discard(work)
        if not work.cancelled() and work.exception() is not None:
            logger.warning("cancelled request ended in %r", work.exception())


class HeadAsGet:
    """Answer HEAD on every GET route with the GET's status and headers and no body, as Starlette
    does for its own routes (FastAPI registers a GET route for GET alone, so HEAD would be 405).

    The layers inside see a GET; the ones outside, and the server, keep seeing the HEAD it was.
    The body is dropped here rather than by the server, so every server and the test client
    answer alike; Content-Length stays the GET's, as HTTP asks of a HEAD."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        # A copy: the server reads the method of its own scope to know that no body follows.
        as_get = {**scope, "method": "GET"}
        body_ended = False

        async def send_headers_only(message: Message) -> None:
            nonlocal body_ended
            if message["type"] == "http.response.start":
                await send(message)
            elif not body_ended:  # the first part of the body (or a file to send) ends it, empty
                body_ended = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        try:
            await self.app(as_get, receive, send_headers_only)
        finally:
            # The route the router matched, for the metrics and the access line outside.
            if "route" in as_get:
                scope["route"] = as_get["route"]


# API answers are JSON that no browser should render, frame or take scripts into.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
# /docs (Swagger UI) and /redoc are pages built from scripts and styles CineLibre serves itself
# (api_docs.py), started by an inline script; Swagger UI's icons are data: images, ReDoc injects
# its styles and parses the schema in a worker. Nothing is loaded from another host: the one
# image ReDoc asks its makers' CDN for, the small logo in its footer, is refused and not missed.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    "script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "connect-src 'self'; worker-src blob:; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains"


class SecurityHeaders:
    """Headers that keep browsers from sniffing, framing or leaking what the API answers. HSTS
    only in production, where the service is reached over HTTPS."""

    def __init__(self, app: ASGIApp, *, strict_transport_security: bool) -> None:
        self.app = app
        common = [
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
        ]
        if strict_transport_security:
            common.append(("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY))
        self.api_headers = [*common, ("Content-Security-Policy", API_CONTENT_SECURITY_POLICY)]
        self.docs_headers = [*common, ("Content-Security-Policy", DOCS_CONTENT_SECURITY_POLICY)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        is_docs = any(path == docs or path.startswith(docs + "/") for docs in DOCS_PATHS)
        added = self.docs_headers if is_docs else self.api_headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in added:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
