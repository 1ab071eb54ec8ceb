"""The web app on the API's origin: browsers opening a page get index.html, API clients keep their
JSON, /assets/ is cached for good; and when web/dist must be built again. A tiny web/dist written
here stands in for the built app, so these tests need no Node."""

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from psycopg_pool import AsyncConnectionPool

from cinelibre import __version__
from cinelibre.database.connection import Connection
from cinelibre.search.embedder import Embedder
from cinelibre.settings import Settings
from cinelibre.web import service as web_service
from cinelibre.web.pages import content_security_policy, preference, prefers_html
from tests.conftest import app_on, client_for

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"}
FETCH_JSON = {"Accept": "application/json"}
INDEX_HTML = '<!doctype html><html><head><script type="module" src="/assets/index-3f2a.js"></script></head></html>\n'
SCRIPT = "console.log('CineLibre');\n"


def write_web_app(web_dir: Path) -> None:
    (web_dir / "src").mkdir(parents=True)
    (web_dir / "src" / "main.tsx").write_text("export const answer = 42;\n")
    (web_dir / "index.html").write_text("<div id=root></div>\n")
    (web_dir / "package.json").write_text('{"name": "cinelibre-web"}\n')
    (web_dir / "package-lock.json").write_text('{"lockfileVersion": 3}\n')
    (web_dir / "vite.config.ts").write_text("export default {};\n")


def write_dist(web_dir: Path) -> None:
    assets = web_dir / "dist" / "assets"
    assets.mkdir(parents=True)
    (web_dir / "dist" / "index.html").write_text(INDEX_HTML)
    (web_dir / "dist" / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>\n")
    (assets / "index-3f2a.js").write_text(SCRIPT)


async def client_serving(
    web_dir: Path, settings: Settings, conn: Connection, pool: AsyncConnectionPool[Connection], embedder: Embedder
) -> AsyncIterator[httpx.AsyncClient]:
    application = app_on(conn, settings.model_copy(update={"web_app_dir": web_dir}), pool, embedder)
    async with client_for(application) as http:
        yield http


@pytest.fixture
async def web(tmp_path: Path, settings, conn, pool, embedder) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the API serving a built web app."""
    write_dist(tmp_path)
    async for http in client_serving(tmp_path, settings, conn, pool, embedder):
        yield http


@pytest.fixture
async def unbuilt(tmp_path: Path, settings, conn, pool, embedder) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the API whose web app was never built."""
    async for http in client_serving(tmp_path, settings, conn, pool, embedder):
        yield http


@pytest.mark.parametrize("path", ["/", "/movies/12", "/search?q=x&type=book", "/account"])
async def test_a_browser_opening_any_page_gets_the_app(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(path, headers=BROWSER)

    assert response.status_code == 200
    assert response.text == INDEX_HTML
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["vary"] == "Accept"
    assert response.headers["content-security-policy"] == (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; "
        "font-src 'self' data:; connect-src 'self' ws://test wss://test; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_pages_and_assets_are_counted_under_routes_of_their_own(web: httpx.AsyncClient) -> None:
    def answered(metrics: str, route: str) -> float:
        line = f'cinelibre_http_requests_total{{method="GET",route="{route}",status="200"}} '
        return next((float(row.removeprefix(line)) for row in metrics.splitlines() if row.startswith(line)), 0.0)

    before = (await web.get("/metrics")).text
    await web.get("/movies/12", headers=BROWSER)
    await web.get("/account", headers=BROWSER)
    await web.get("/assets/index-3f2a.js")
    after = (await web.get("/metrics")).text

    assert answered(after, "/{web app page}") - answered(before, "/{web app page}") == 2
    assert answered(after, "/assets/{file}") - answered(before, "/assets/{file}") == 1


async def test_a_head_of_a_page_has_the_pages_headers_and_no_body(web: httpx.AsyncClient) -> None:
    response = await web.head("/movies/12", headers=BROWSER)

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(INDEX_HTML))


async def test_api_clients_keep_getting_json_on_the_same_paths(web: httpx.AsyncClient) -> None:
    root = await web.get("/")  # httpx, like curl, accepts */*
    fetched = await web.get("/", headers=FETCH_JSON)

    assert fetched.json() == root.json()
    assert root.json() == {"service": "CineLibre", "version": __version__, "status": "ok", "database": "reachable"}
    assert root.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert root.headers["vary"] == "Accept"


async def test_a_misspelt_parameter_is_still_refused_to_api_clients(web: httpx.AsyncClient) -> None:
    response = await web.get("/movies?titel=x", headers=FETCH_JSON)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("path", ["/docs", "/openapi.json", "/health/live", "/metrics"])
async def test_documentation_and_probes_are_never_the_app(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(path, headers=BROWSER)

    assert response.status_code == 200
    assert response.text != INDEX_HTML


async def test_assets_are_cached_for_good(web: httpx.AsyncClient) -> None:
    response = await web.get("/assets/index-3f2a.js")

    assert response.status_code == 200
    assert response.text == SCRIPT
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-type"].startswith("text/javascript")


async def test_a_missing_asset_is_a_json_404_and_never_the_page(web: httpx.AsyncClient) -> None:
    missing = await web.get("/assets/index-0000.js", headers=BROWSER)
    outside = await web.get("/assets/%2e%2e/index.html", headers=BROWSER)

    assert missing.status_code == outside.status_code == 404
    assert missing.json()["error"]["code"] == outside.json()["error"]["code"] == "not_found"


async def test_other_files_at_the_top_of_dist_are_served(web: httpx.AsyncClient) -> None:
    response = await web.get("/favicon.svg")

    assert response.status_code == 200
    assert response.text == "<svg xmlns='http://www.w3.org/2000/svg'/>\n"
    assert response.headers["cache-control"] == "no-cache"


async def test_hidden_files_of_dist_are_not_served(web: httpx.AsyncClient, tmp_path: Path) -> None:
    (tmp_path / "dist" / ".fingerprint").write_text("8d15fa7109e9\n")
    (tmp_path / "dist" / "assets" / ".notes.txt").write_text("private\n")

    fingerprint = await web.get("/.fingerprint")
    notes = await web.get("/assets/.notes.txt")

    assert fingerprint.status_code == notes.status_code == 404
    assert fingerprint.json()["error"]["code"] == "not_found"


async def test_without_a_build_a_browser_opening_the_root_is_told_how_to_build_it(
    unbuilt: httpx.AsyncClient, tmp_path: Path
) -> None:
    response = await unbuilt.get("/", headers=BROWSER)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<code>cinelibre web build</code>" in response.text
    assert f"<code>{tmp_path}</code>" in response.text


async def test_without_a_build_everything_else_is_the_api_as_before(unbuilt: httpx.AsyncClient) -> None:
    page = await unbuilt.get("/movies/999999999", headers=BROWSER)
    asset = await unbuilt.get("/assets/index-3f2a.js")
    root = await unbuilt.get("/")

    assert page.status_code == asset.status_code == 404
    assert page.json()["error"]["code"] == "not_found"
    assert root.json()["service"] == "CineLibre"
    assert "vary" not in root.headers


async def test_with_the_web_app_off_a_browser_gets_json(tmp_path: Path, settings, conn, pool, embedder) -> None:
    write_dist(tmp_path)
    off = settings.model_copy(update={"web_app_enabled": False})
    async for http in client_serving(tmp_path, off, conn, pool, embedder):
        response = await http.get("/", headers=BROWSER)

    assert response.json()["service"] == "CineLibre"


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER["Accept"], True),
        ("text/html", True),
        ("*/*", False),
        ("application/json", False),
        ("application/json, text/plain, */*", False),
        ("text/html;q=0.5, application/json", False),
        ("text/*, application/json;q=0.9", True),
        ("", False),
        (None, False),
    ],
)
def test_who_prefers_html(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html


def test_the_most_specific_range_gives_the_quality() -> None:
    accept = "text/*;q=0.3, text/html;q=0.7, */*;q=0.1"

    assert preference(accept, "text/html") == 0.7
    assert preference(accept, "text/plain") == 0.3
    assert preference(accept, "application/json") == 0.1
    assert preference("image/png", "application/json") == 0.0


def test_an_unusual_host_is_left_out_of_the_policy() -> None:
    assert "connect-src 'self' ws://[::1]:8000 wss://[::1]:8000;" in content_security_policy("[::1]:8000")
    assert "connect-src 'self';" in content_security_policy("evil.example; script-src *")


def test_the_fingerprint_covers_the_sources_and_nothing_else(tmp_path: Path) -> None:
    write_web_app(tmp_path)
    (tmp_path / "node_modules" / "react").mkdir(parents=True)
    (tmp_path / "node_modules" / "react" / "index.js").write_text("module.exports = {};\n")
    (tmp_path / "README.md").write_text("notes\n")

    assert web_service.source_files(tmp_path) == [
        "index.html",
        "package-lock.json",
        "package.json",
        "src/main.tsx",
        "vite.config.ts",
    ]
    assert web_service.fingerprint(tmp_path) == "8d15fa7109e99402857b4d0d6a2434049a6ee865d23154beeb0629a1e7bdbe8e"


def test_the_fingerprint_changes_with_a_source_file_and_not_with_its_time(tmp_path: Path) -> None:
    write_web_app(tmp_path)
    before = web_service.fingerprint(tmp_path)
    os.utime(tmp_path / "src" / "main.tsx", (0, 0))
    touched = web_service.fingerprint(tmp_path)
    (tmp_path / "src" / "main.tsx").write_text("export const answer = 43;\n")

    assert touched == before
    assert web_service.fingerprint(tmp_path) != before


def test_a_build_is_current_only_for_the_sources_it_was_made_from(tmp_path: Path) -> None:
    write_web_app(tmp_path)
    assert web_service.state(tmp_path) == web_service.WebAppState(
        has_sources=True, is_built=False, is_current=False, needs_install=True
    )
    write_dist(tmp_path)
    (tmp_path / "dist" / ".fingerprint").write_text(web_service.fingerprint(tmp_path) + "\n")
    (tmp_path / "node_modules").mkdir()
    assert web_service.state(tmp_path) == web_service.WebAppState(
        has_sources=True, is_built=True, is_current=True, needs_install=False
    )
    (tmp_path / "index.html").write_text("<div id=app></div>\n")
    assert web_service.state(tmp_path).needs_build is True


def test_packages_are_installed_again_when_the_lock_file_is_newer(tmp_path: Path) -> None:
    write_web_app(tmp_path)
    (tmp_path / "node_modules").mkdir()
    os.utime(tmp_path / "node_modules", (1_000, 1_000))
    os.utime(tmp_path / "package-lock.json", (2_000, 2_000))
    assert web_service.needs_install(tmp_path) is True
    os.utime(tmp_path / "node_modules", (3_000, 3_000))
    assert web_service.needs_install(tmp_path) is False


def test_a_folder_without_a_package_json_is_not_built(tmp_path: Path) -> None:
    with pytest.raises(web_service.WebBuildError) as refused:
        web_service.build(tmp_path, on_step=print)

    assert str(refused.value) == f"there is no web app in {tmp_path} (no package.json)"


def test_a_long_build_output_is_shown_by_its_first_and_last_lines() -> None:
    lines = [f"line {number}" for number in range(1, 101)]

    assert web_service.shortened(lines[:60]) == lines[:60]
    assert web_service.shortened(lines) == [*lines[:20], "[… 40 lines …]", *lines[60:]]
