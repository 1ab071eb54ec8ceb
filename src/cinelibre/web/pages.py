"""The web app on the API's origin, by content negotiation.

A GET or HEAD whose Accept header prefers HTML to JSON (a browser opening a page) is answered with
the app's index.html on any path that is not the API's alone, so that deep links (/movies/12,
/search?q=x, /account) and the back button work; the app then asks the API for JSON on the same
paths. Everything else reaches the API as before. The app's hashed files are served from /assets/.

Plain ASGI, inside the middlewares of app.py: HEAD arrives here as a GET (HeadAsGet), and what
this answers never reaches the routes, so their unknown-query-parameter check never sees an app
page's query string."""

import re
from pathlib import Path
from typing import NamedTuple

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import FileResponse, HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Paths that are only ever the API's (or its documentation's): a browser opening them gets what
# it got before the web app existed.
API_ONLY_PREFIXES = ("/docs", "/redoc", "/openapi.json", "/metrics", "/health", "/ws", "/assets")
ASSETS_PREFIX = "/assets/"
# Vite names every asset after a hash of its contents, so a cached copy can never be out of date.
ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"
# index.html names the current assets: browsers ask again each time (a cheap 304 when unchanged).
PAGE_CACHE_CONTROL = "no-cache"
# The app's own scripts and styles; posters and covers from their hosts (image.tmdb.org,
# books.google.com, covers.openlibrary.org) over https; API calls and the live-update socket to
# this origin. Inline styles are allowed because React components set style attributes.
APP_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; "
    "font-src 'self' data:; connect-src 'self'{sockets}; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# A Host header this simple can be written into the policy as it is; any other is left out.
PLAIN_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CineLibre: the web app is not built</title></head>
<body>
<h1>CineLibre's API is running; its web app is not built</h1>
<p>The web app is built from <code>{web_dir}</code> with Node.js (20.19 or later) and npm:
<code>cinelibre web build</code>, or restart <code>cinelibre serve</code>, which builds it when npm is
installed. Then reload this page.</p>
<p>The API answers as usual (JSON) meanwhile; its reference is at <a href="/docs">/docs</a> when the API
docs are on.</p>
</body></html>
"""


class ServedRoute(NamedTuple):
    """What the request metrics and the access line name an answer of the web app by (they read
    the `path` of the scope's route), so that its pages are not counted as unmatched probes."""

    path: str


PAGE_ROUTE = ServedRoute("/{web app page}")
ASSET_ROUTE = ServedRoute("/assets/{file}")
TOP_LEVEL_FILE_ROUTE = ServedRoute("/{web app file}")


def preference(accept: str, media_type: str) -> float:
    """The quality an Accept header gives `media_type`, from its most specific matching range
    (type/subtype, then type/*, then */*); 0 when none matches."""
    kind = media_type.split("/")[0]
    best_specificity, quality = -1, 0.0
    for part in accept.split(","):
        fields = [field.strip() for field in part.split(";")]
        specificity = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(fields[0].lower())
        if specificity is None or specificity < best_specificity:
            continue
        best_specificity, quality = specificity, 1.0
        for field in fields[1:]:
            name, _, value = field.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
    return quality


def prefers_html(accept: str | None) -> bool:
    """A browser navigation (`text/html,...,*/*;q=0.8`), not curl (`*/*`) nor fetch asking for JSON."""
    return accept is not None and preference(accept, "text/html") > preference(accept, "application/json")


def is_api_only(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in API_ONLY_PREFIXES)


def content_security_policy(host: str | None) -> str:
    sockets = f" ws://{host} wss://{host}" if host and PLAIN_HOST.match(host) else ""
    return APP_CONTENT_SECURITY_POLICY.format(sockets=sockets)


def file_within(root: Path, relative: str) -> Path | None:
    """root/relative when it is a file inside root (no way out through `..` or links) and not a
    hidden one (dist/.fingerprint is the build's, not the app's)."""
    if any(part.startswith(".") for part in relative.split("/")):
        return None
    try:
        candidate = (root / relative).resolve()
    except (OSError, ValueError):  # a NUL byte, a link loop
        return None
    if candidate.is_relative_to(root.resolve()) and candidate.is_file():
        return candidate
    return None


class WebAppPages:
    """Serves web/dist (see the module's description); `dist_dir` is read on every request, so a
    build finished while the API runs is served at once."""

    def __init__(self, app: ASGIApp, *, dist_dir: Path) -> None:
        self.app = app
        self.dist_dir = dist_dir

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = Headers(scope=scope)
        index = self.dist_dir / "index.html"
        if path.startswith(ASSETS_PREFIX):
            asset = file_within(self.dist_dir / "assets", path.removeprefix(ASSETS_PREFIX))
            if asset is not None:
                scope["route"] = ASSET_ROUTE
                await FileResponse(asset, headers={"Cache-Control": ASSET_CACHE_CONTROL})(scope, receive, send)
                return
        elif _is_top_level_file(path) and not is_api_only(path):
            top_level = file_within(self.dist_dir, path.removeprefix("/"))
            if top_level is not None and top_level.name != "index.html":
                scope["route"] = TOP_LEVEL_FILE_ROUTE
                await FileResponse(top_level, headers={"Cache-Control": PAGE_CACHE_CONTROL})(scope, receive, send)
                return
        if is_api_only(path):
            await self.app(scope, receive, send)
            return
        if prefers_html(headers.get("accept")):
            scope["route"] = PAGE_ROUTE
            if index.is_file():
                page_headers = {
                    "Cache-Control": PAGE_CACHE_CONTROL,
                    "Content-Security-Policy": content_security_policy(headers.get("host")),
                    "Vary": "Accept",
                }
                await FileResponse(index, headers=page_headers, media_type="text/html")(scope, receive, send)
                return
            if path == "/":
                page = NOT_BUILT_PAGE.format(web_dir=self.dist_dir.parent)
                not_built = HTMLResponse(page, headers={"Cache-Control": "no-store", "Vary": "Accept"})
                await not_built(scope, receive, send)
                return
            del scope["route"]  # the API answers after all
        await self.app(scope, receive, _vary_on_accept(send) if index.is_file() else send)


def _is_top_level_file(path: str) -> bool:
    name = path.removeprefix("/")
    return "/" not in name and "." in name


def _vary_on_accept(send: Send) -> Send:
    """The same URL is a page for browsers and JSON for the API: caches must keep them apart."""

    async def send_with_vary(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message).add_vary_header("Accept")
        await send(message)

    return send_with_vary
