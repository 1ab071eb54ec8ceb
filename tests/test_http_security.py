"""Browser-facing hardening: security headers, CORS from the settings, and the body size limit."""

import os
import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from cinelibre.settings import ConfigurationError, Settings
from tests.conftest import app_on, client_for

API_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}
ORIGIN = "https://films.example"


def security_headers(response: httpx.Response) -> dict[str, str]:
    names = [*API_HEADERS, "strict-transport-security"]
    return {name: response.headers[name] for name in names if name in response.headers}


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/"), ("GET", "/movies"), ("GET", "/auth/me"), ("GET", "/no-such-page"), ("DELETE", "/movies")],
)
async def test_every_api_answer_carries_the_security_headers(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path)

    assert security_headers(response) == API_HEADERS


async def test_the_documentation_pages_may_load_their_own_scripts_but_not_be_framed(client: httpx.AsyncClient) -> None:
    for path in ("/docs", "/redoc"):
        response = await client.get(path)

        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        assert "script-src 'self' 'unsafe-inline';" in policy
        assert "https:" not in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["x-frame-options"] == "DENY"
    assert (await client.get("/openapi.json")).headers["content-security-policy"] == API_HEADERS[
        "content-security-policy"
    ]


async def test_strict_transport_security_only_in_production(settings: Settings, conn, pool, embedder) -> None:
    production = app_on(conn, settings.model_copy(update={"environment": "production"}), pool, embedder)
    async with client_for(production) as http:
        response = await http.get("/")

    assert response.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"


@pytest.fixture
async def cors_client(settings: Settings, conn, pool, embedder) -> AsyncIterator[httpx.AsyncClient]:
    app = app_on(conn, settings.model_copy(update={"cors_origins": [ORIGIN]}), pool, embedder)
    async with client_for(app) as http:
        yield http


async def test_a_listed_origin_may_call_the_api_with_a_bearer_token(cors_client: httpx.AsyncClient) -> None:
    preflight = await cors_client.options(
        "/ratings",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    simple = await cors_client.get("/movies", headers={"Origin": ORIGIN})

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in preflight.headers
    assert simple.headers["access-control-allow-origin"] == ORIGIN
    assert simple.headers["access-control-expose-headers"] == "X-Request-ID, Retry-After"


async def test_other_origins_get_no_cors_grant(cors_client: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    preflight = await cors_client.options(
        "/ratings", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    simple = await cors_client.get("/movies", headers={"Origin": "https://evil.example"})
    without_origins_set = await client.get("/movies", headers={"Origin": ORIGIN})

    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in simple.headers
    assert "access-control-allow-origin" not in without_origins_set.headers


def test_a_wildcard_origin_with_credentials_is_refused_at_start() -> None:
    with pytest.raises(ConfigurationError, match=r'CORS_ORIGINS \["\*"\] cannot be combined with CORS_ALLOW_CRED'):
        Settings(_env_file=None, cors_origins=["*"], cors_allow_credentials=True)


def test_a_wildcard_origin_alone_is_allowed() -> None:
    assert Settings(_env_file=None, cors_origins=["*"]).cors_origins == ["*"]


@pytest.mark.parametrize("origin", ["https://films.example/", "films.example", "https://films.example/app"])
def test_an_origin_with_a_path_or_without_a_scheme_is_refused(origin: str) -> None:
    with pytest.raises(ConfigurationError, match="is not an origin"):
        Settings(_env_file=None, cors_origins=[origin])


def test_cors_origins_are_read_as_a_json_list_from_the_environment() -> None:
    env = os.environ | {"CORS_ORIGINS": '["https://a.example", "http://localhost:5173"]'}
    code = "from cinelibre.settings import Settings; print(Settings(_env_file=None).cors_origins)"

    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)

    assert result.stdout == "['https://a.example', 'http://localhost:5173']\n"


@pytest.mark.parametrize("value", ["ten per minute", "10/fortnight", ""])
def test_a_rate_limit_that_does_not_parse_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="login_rate_limit"):
        Settings(_env_file=None, login_rate_limit=value)


TEN_MEGABYTES = 10 * 1024 * 1024


async def test_a_ten_megabyte_registration_is_413(client: httpx.AsyncClient) -> None:
    body = b'{"email": "big@example.com", "password": "test1234", "name": "' + b"x" * TEN_MEGABYTES + b'"}'

    response = await client.post("/auth/register", content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.json() == {
        "error": {"code": "payload_too_large", "message": "The request body is larger than 65536 bytes.", "details": []}
    }
    assert security_headers(response) == API_HEADERS


async def test_a_ten_megabyte_registration_sent_in_chunks_without_a_length_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"email": "big@example.com", "password": "test1234", "name": "'
        for _ in range(10):
            yield b"x" * (TEN_MEGABYTES // 10)
        yield b'"}'

    response = await client.post("/auth/register", content=chunks(), headers={"Content-Type": "application/json"})

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_a_url_over_eight_kib_is_414_and_headers_over_sixteen_kib_are_431(client: httpx.AsyncClient) -> None:
    long_url = await client.get("/movies", params={"q": "x" * 8192})
    long_headers = await client.get("/auth/me", headers={"X-Padding": "x" * 16384})

    assert (long_url.status_code, long_url.json()) == (
        414,
        {
            "error": {
                "code": "uri_too_long",
                "message": "The request's path and query string are longer than 8192 bytes.",
                "details": [],
            }
        },
    )
    assert (long_headers.status_code, long_headers.json()) == (
        431,
        {
            "error": {
                "code": "headers_too_large",
                "message": "The request's headers are larger than 16384 bytes.",
                "details": [],
            }
        },
    )
    assert security_headers(long_headers) == API_HEADERS


NOT_FOUND = {"error": {"code": "not_found", "message": "Not Found", "details": []}}
DOCUMENTATION_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")


async def statuses(app_settings: Settings, conn, pool, embedder, paths: tuple[str, ...], **headers: str) -> list:
    async with client_for(app_on(conn, app_settings, pool, embedder)) as http:
        answers = [await http.get(path, headers=headers) for path in paths]
    return [(answer.status_code, answer.json() if answer.status_code != 200 else None) for answer in answers]


async def test_production_serves_no_documentation_or_metrics_unless_turned_on(
    settings: Settings, conn, pool, embedder
) -> None:
    production = settings.model_copy(update={"environment": "production"})
    turned_on = production.model_copy(update={"api_docs_enabled": True, "metrics_enabled": True})
    paths = (*DOCUMENTATION_PATHS, "/metrics")

    assert await statuses(production, conn, pool, embedder, paths) == [(404, NOT_FOUND)] * 5
    assert await statuses(turned_on, conn, pool, embedder, paths) == [(200, None)] * 5


async def test_development_serves_documentation_and_metrics_unless_turned_off(
    settings: Settings, conn, pool, embedder
) -> None:
    turned_off = settings.model_copy(update={"api_docs_enabled": False, "metrics_enabled": False})
    paths = (*DOCUMENTATION_PATHS, "/metrics")

    assert await statuses(settings, conn, pool, embedder, paths) == [(200, None)] * 5
    assert await statuses(turned_off, conn, pool, embedder, paths) == [(404, NOT_FOUND)] * 5


async def test_a_metrics_token_turns_metrics_on_in_production_and_is_required(
    settings: Settings, conn, pool, embedder
) -> None:
    guarded = settings.model_copy(update={"environment": "production", "metrics_token": SecretStr("scrape-t0ken")})
    refused = {
        "error": {
            "code": "not_authenticated",
            "message": "Send the metrics token: 'Authorization: Bearer <METRICS_TOKEN>'.",
            "details": [],
        }
    }

    assert guarded.serves_metrics is True
    assert await statuses(guarded, conn, pool, embedder, ("/metrics",)) == [(401, refused)]
    assert await statuses(guarded, conn, pool, embedder, ("/metrics",), authorization="Bearer scrape-t0ke") == [
        (401, refused)
    ]
    assert await statuses(guarded, conn, pool, embedder, ("/metrics",), authorization="Bearer scrape-t0ken") == [
        (200, None)
    ]
