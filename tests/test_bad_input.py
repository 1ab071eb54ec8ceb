"""Malformed or out-of-range requests get a 4xx in the one error shape, never a 500."""

import httpx
import pytest

from tests.factories import add_movie, register


def assert_error_shape(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/movies?limit=0", "query.limit"),
        ("/movies?limit=101", "query.limit"),
        ("/movies?limit=abc", "query.limit"),
        ("/movies?skip=-1", "query.skip"),
        ("/movies?skip=99999999999999999999999", "query.skip"),
        ("/movies?sort=budget", "query.sort"),
        ("/movies?language=Hindi", "query.language"),
        ("/movies?year_from=10", "query.year_from"),
        ("/movies?year_from=2020&year_to=2010", "query.year_from"),
        ("/movies/0", "path.movie_id"),
        ("/movies/99999999999999999999", "path.movie_id"),
        ("/books?category=", "query.category"),
        ("/books/-3", "path.book_id"),
    ],
)
async def test_bad_query_and_path_values_are_422_naming_the_field(
    client: httpx.AsyncClient, path: str, field: str
) -> None:
    error = assert_error_shape(await client.get(path), 422, "validation_error")

    assert [detail["field"] for detail in error["details"]] == [field]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": "test1234", "name": "X"}, "body.email"),
        ({"email": "a@example.com", "password": "short", "name": "X"}, "body.password"),
        ({"email": "a@example.com", "password": "é" * 40, "name": "X"}, "body.password"),
        ({"email": "a@example.com", "password": "test1234", "name": "   "}, "body.name"),
        ({"email": "a@example.com", "password": "test1234", "name": "x" * 101}, "body.name"),
        ({"email": "a@example.com", "password": "test1234", "name": "nul\x00byte"}, "body.name"),
        ({"email": "a@example.com", "password": "test1234"}, "body.name"),
        ({"email": "a@example.com", "password": "test1234", "name": "X", "admin": True}, "body.admin"),
    ],
)
async def test_bad_registrations_are_422_naming_the_field(client: httpx.AsyncClient, body: dict, field: str) -> None:
    error = assert_error_shape(await client.post("/auth/register", json=body), 422, "validation_error")

    assert [detail["field"] for detail in error["details"]] == [field]


async def test_body_that_is_not_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/login", content=b"{not json", headers={"Content-Type": "application/json"})

    assert_error_shape(response, 422, "validation_error")


async def test_json_array_instead_of_object_is_422(client: httpx.AsyncClient) -> None:
    assert_error_shape(await client.post("/auth/login", json=[1, 2]), 422, "validation_error")


async def test_rating_with_wrong_item_type_is_422(client: httpx.AsyncClient, conn) -> None:
    movie_id = await add_movie(conn)
    headers = await register(client)

    response = await client.post(
        "/ratings", headers=headers, json={"item_id": movie_id, "item_type": "song", "rating": 3}
    )

    error = assert_error_shape(response, 422, "validation_error")
    assert [d["field"] for d in error["details"]] == ["body.item_type"]


async def test_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/login", json={"email": "a@example.com", "password": "x" * 70_000})

    assert_error_shape(response, 413, "payload_too_large")


async def test_unknown_route_and_wrong_method_use_the_error_shape(client: httpx.AsyncClient) -> None:
    assert_error_shape(await client.get("/no-such-thing"), 404, "not_found")
    assert_error_shape(await client.delete("/movies"), 405, "method_not_allowed")


async def test_authorization_header_without_bearer_scheme_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})

    assert_error_shape(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_sql_in_filters_is_just_a_value(client: httpx.AsyncClient, conn) -> None:
    await add_movie(conn, title="Safe", genres=["Drama"])

    response = await client.get("/movies", params={"genre": "Drama' OR '1'='1"})

    assert response.status_code == 200
    assert response.json()["total"] == 0
