"""What a newcomer to the API expects of HTTP: documentation pages that work offline, HEAD
wherever GET works, a malformed body answered with where it went wrong, the wait a 429 asks for
being the real one, and a misspelt query parameter refused instead of ignored."""

import asyncio
import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute, iter_route_contexts
from prometheus_client import REGISTRY

from cinelibre.settings import Settings
from tests.conftest import app_on, client_for
from tests.factories import add_movie, register

# --- /docs and /redoc -------------------------------------------------------------------------

DOCS_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; worker-src blob:; frame-ancestors 'none'"
)
# Every URL a page names: in attributes, and in Swagger UI's start-up script.
REFERENCED_URL = re.compile(r"""(?:src|href|spec-url)="([^"]*)"|url: '([^']*)'|\+ '([^']*)'""")


def referenced_urls(page: str) -> list[str]:
    return ["".join(groups) for groups in REFERENCED_URL.findall(page)]


async def test_swagger_ui_names_only_files_the_app_serves_itself(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")

    assert page.status_code == 200
    assert referenced_urls(page.text) == [
        "/docs/assets/swagger-ui.css",
        "/docs/assets/favicon.png",
        "/docs/assets/swagger-ui-bundle.js",
        "/openapi.json",
        "/docs/oauth2-redirect",
    ]
    assert "http" not in page.text  # no other host, not even in the validator setting
    assert '"validatorUrl": null' in page.text
    assert page.headers["content-security-policy"] == DOCS_POLICY


async def test_redoc_names_only_files_the_app_serves_itself(client: httpx.AsyncClient) -> None:
    page = await client.get("/redoc")

    assert page.status_code == 200
    assert referenced_urls(page.text) == [
        "/docs/assets/favicon.png",
        "/openapi.json",
        "/docs/assets/redoc.standalone.js",
    ]
    assert "http" not in page.text  # no fonts from Google either
    assert page.headers["content-security-policy"] == DOCS_POLICY


@pytest.mark.parametrize(
    ("path", "content_type", "opening"),
    [
        ("/docs/assets/swagger-ui-bundle.js", "text/javascript; charset=utf-8", b"/*! For license information"),
        ("/docs/assets/swagger-ui.css", "text/css; charset=utf-8", b".swagger-ui"),
        ("/docs/assets/redoc.standalone.js", "text/javascript; charset=utf-8", b"/*! For license information"),
        ("/docs/assets/favicon.png", "image/png", b"\x89PNG"),
        ("/docs/oauth2-redirect", "text/html; charset=utf-8", b"<!doctype html>"),
        ("/openapi.json", "application/json", b'{"openapi":"3.1.0"'),
    ],
)
async def test_every_file_the_pages_name_is_served_with_its_type(
    client: httpx.AsyncClient, path: str, content_type: str, opening: bytes
) -> None:
    response = await client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.content.lstrip().startswith(opening)
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_without_api_docs_the_pages_and_their_files_are_404(settings: Settings, conn, pool, embedder) -> None:
    turned_off = settings.model_copy(update={"api_docs_enabled": False})
    paths = ["/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect", "/docs/assets/swagger-ui-bundle.js"]
    async with client_for(app_on(conn, turned_off, pool, embedder)) as http:
        answers = [await http.get(path) for path in paths]

    assert [answer.status_code for answer in answers] == [404] * 5
    assert {answer.json()["error"]["code"] for answer in answers} == {"not_found"}


# --- HEAD -------------------------------------------------------------------------------------

# Bodies that change from one request to the next, so their length may too.
CHANGING_BODIES = {"/metrics"}
# Not compared: set afresh for every answer.
PER_ANSWER_HEADERS = {"x-request-id"}


def get_routes_without_parameters(app: FastAPI) -> list[str]:
    paths = []
    for route in iter_route_contexts(app.routes):
        if "GET" not in (route.methods or ()) or "{" in route.path:
            continue
        if isinstance(route.original_route, APIRoute) and any(
            p.field_info.is_required() for p in get_flat_params(route.dependant)
        ):
            continue
        paths.append(route.path)
    return paths


def comparable_headers(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name not in PER_ANSWER_HEADERS}


async def test_head_answers_every_get_route_with_its_headers_and_no_body(app: FastAPI, client: httpx.AsyncClient):
    paths = get_routes_without_parameters(app)
    assert {"/", "/health/live", "/movies", "/books", "/auth/me", "/docs", "/redoc", "/openapi.json"} <= set(paths)

    for path in paths:
        head = await client.head(path)
        get = await client.get(path)

        assert (path, head.status_code) == (path, get.status_code)
        assert (path, head.content) == (path, b"")
        if path in CHANGING_BODIES:
            assert head.headers["content-type"] == get.headers["content-type"]
        else:
            assert (path, comparable_headers(head)) == (path, comparable_headers(get))
            assert head.headers.get("content-length", str(len(get.content))) == str(len(get.content))


async def test_head_answers_routes_with_parameters_like_their_get(client: httpx.AsyncClient, conn) -> None:
    movie_id = await add_movie(conn, title="Sholay", year=1975, original_language="hi")
    headers = await register(client, email="head@example.com")
    requests = [
        (f"/movies/{movie_id}", {}),
        ("/movies/999999", {}),
        ("/movies", {"params": {"language": "hi", "limit": 2}}),
        ("/movies", {"params": {"limit": 0}}),
        ("/recommendations/popular", {"params": {"item_type": "movie", "limit": 1}}),
        ("/ratings/my", {"params": {"limit": 5}, "headers": headers}),
        ("/docs/assets/favicon.png", {}),
    ]

    for path, options in requests:
        head = await client.head(path, **options)
        get = await client.get(path, **options)

        assert (path, head.status_code, head.content) == (path, get.status_code, b"")
        assert comparable_headers(head) == comparable_headers(get)
        assert head.headers["content-length"] == str(len(get.content))
    assert [(await client.head(path)).status_code for path in ("/movies/999999", "/movies?limit=0")] == [404, 422]


async def test_head_on_a_route_without_get_is_405_without_a_body(client: httpx.AsyncClient) -> None:
    response = await client.head("/ratings")

    assert (response.status_code, response.content, response.headers["allow"]) == (405, b"", "POST")


def answered(method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("cinelibre_http_requests_total", labels) or 0.0


async def test_a_head_is_counted_as_a_head_under_its_route(client: httpx.AsyncClient) -> None:
    before = answered("HEAD", "/movies", "200"), answered("GET", "/movies", "200")

    await client.head("/movies")

    assert (answered("HEAD", "/movies", "200"), answered("GET", "/movies", "200")) == (before[0] + 1, before[1])


# --- bodies that are not JSON -----------------------------------------------------------------


async def malformed(client: httpx.AsyncClient, body: bytes) -> dict:
    response = await client.post("/auth/login", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    return response.json()


async def test_malformed_json_is_422_with_line_column_and_reason(client: httpx.AsyncClient) -> None:
    body = b'{\n  "email": "a@example.com",\n  "password": \n}'

    assert await malformed(client, body) == {
        "error": {
            "code": "validation_error",
            "message": "Invalid request: body: invalid JSON at line 4, column 1: Expecting value",
            "details": [{"field": "body", "message": "invalid JSON at line 4, column 1: Expecting value"}],
        }
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "invalid JSON at line 1, column 2: Expecting property name enclosed in double quotes"),
        (b'{"email": "a@example.com" "password": "x"}', "invalid JSON at line 1, column 27: Expecting ',' delimiter"),
        (b'{"email": "a@example.com"}}', "invalid JSON at line 1, column 27: Extra data"),
        # Columns count characters, not bytes: the é is one column (two bytes) before the mistake.
        (
            b'{"email": "a@example.com",\n"password": "\xc3\xa9" "y"}',
            "invalid JSON at line 2, column 17: Expecting ',' delimiter",
        ),
    ],
)
async def test_each_json_mistake_is_named_where_it_is(client: httpx.AsyncClient, body: bytes, message: str) -> None:
    error = (await malformed(client, body))["error"]

    assert (error["message"], error["details"]) == (
        f"Invalid request: body: {message}",
        [{"field": "body", "message": message}],
    )


async def test_a_form_posted_body_is_415_saying_the_route_takes_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/login", data={"email": "a@example.com", "password": "x"})

    assert response.status_code == 415
    assert response.json() == {
        "error": {
            "code": "unsupported_media_type",
            "message": "This route takes a JSON body with 'Content-Type: application/json'; it was sent as "
            "application/x-www-form-urlencoded.",
            "details": [],
        }
    }


async def test_json_sent_as_plain_text_or_without_a_type_is_415(client: httpx.AsyncClient) -> None:
    body = b'{"email": "a@example.com", "password": "x"}'
    as_text = await client.post("/auth/login", content=body, headers={"Content-Type": "text/plain"})
    untyped = await client.post("/auth/login", content=body)

    assert "content-type" not in untyped.request.headers
    assert (as_text.status_code, as_text.json()["error"]["message"]) == (
        415,
        "This route takes a JSON body with 'Content-Type: application/json'; it was sent as text/plain.",
    )
    assert (untyped.status_code, untyped.json()["error"]["message"]) == (
        415,
        "This route takes a JSON body with 'Content-Type: application/json'; it was sent without a Content-Type.",
    )


async def test_a_json_type_with_a_charset_or_a_suffix_is_read_as_json(client: httpx.AsyncClient) -> None:
    body = b'{"email": "nobody@example.com", "password": "wrong-password"}'
    for content_type in ("application/json; charset=utf-8", "application/problem+json"):
        response = await client.post("/auth/login", content=body, headers={"Content-Type": content_type})

        assert (content_type, response.status_code) == (content_type, 401)


# --- Retry-After ------------------------------------------------------------------------------


async def test_a_client_that_waits_the_retry_after_it_was_told_is_let_in(settings: Settings, conn, pool, embedder):
    limited = settings.model_copy(update={"search_rate_limit": "1 per 2 seconds"})
    async with client_for(app_on(conn, limited, pool, embedder)) as http:
        first = await http.get("/search/status")
        refused = await http.get("/search/status")
        await asyncio.sleep(int(refused.headers["retry-after"]) - 1)
        still_early = await http.get("/search/status")
        await asyncio.sleep(1.05)
        let_in = await http.get("/search/status")

    assert (first.status_code, refused.status_code) == (200, 429)
    # 2 unless the first answer took over a second: the window opened when it was counted.
    assert refused.headers["retry-after"] in ("1", "2")
    # A second short of the wait it was told, the client still has part of a second to wait.
    assert (still_early.status_code, still_early.headers["retry-after"]) == (429, "1")
    assert let_in.status_code == 200


# --- query parameters -------------------------------------------------------------------------

MOVIES_TAKE = "genre, language, limit, q, skip, sort, year_from, year_to"


async def test_a_misspelt_filter_is_422_naming_it_and_what_the_route_takes(client: httpx.AsyncClient) -> None:
    response = await client.get("/movies", params={"titel": "Sholay"})

    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "validation_error",
            "message": f"Invalid request: query.titel: unknown parameter; this route takes {MOVIES_TAKE}",
            "details": [{"field": "query.titel", "message": f"unknown parameter; this route takes {MOVIES_TAKE}"}],
        }
    }


async def test_each_unknown_parameter_is_named_once(client: httpx.AsyncClient) -> None:
    response = await client.get("/movies?limit=2&titel=a&titel=b&year=1975")

    assert [detail["field"] for detail in response.json()["error"]["details"]] == ["query.titel", "query.year"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/auth/me"), ("GET", "/"), ("POST", "/auth/login"), ("GET", "/recommendations/predict/movie/1")],
)
async def test_a_route_without_query_parameters_refuses_any(client: httpx.AsyncClient, method: str, path: str):
    response = await client.request(method, path, params={"debug": "1"})

    assert (response.status_code, response.json()["error"]["details"]) == (
        422,
        [{"field": "query.debug", "message": "unknown parameter; this route takes no query parameters"}],
    )


async def test_parameters_declared_by_shared_dependencies_are_accepted(client: httpx.AsyncClient) -> None:
    headers = await register(client, email="pages@example.com")

    ratings = await client.get("/ratings/my", params={"skip": 0, "limit": 5, "item_type": "movie"}, headers=headers)
    interactions = await client.get("/interactions/my", params={"skip": 0, "limit": 5}, headers=headers)
    books = await client.get("/books", params={"skip": 0, "limit": 1, "category": "Fiction", "language": "en"})

    assert (ratings.status_code, interactions.status_code, books.status_code) == (200, 200, 200)
