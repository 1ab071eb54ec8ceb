import time
from datetime import timedelta

import httpx
import jwt
import pytest

from cinelibre.auth.security import InvalidTokenError, TokenCodec
from tests.factories import register


async def test_register_returns_token_and_user(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/register", json={"email": "test@example.com", "password": "test123", "name": "Test User"}
    )

    assert response.status_code == 201
    body = response.json()
    assert body["token_type"] == "bearer"
    assert set(body["user"]) == {"id", "email", "name", "created_at"}
    assert body["user"]["email"] == "test@example.com"
    assert body["user"]["name"] == "Test User"


async def test_token_from_register_identifies_the_user_on_me(client: httpx.AsyncClient) -> None:
    headers = await register(client, email="me@example.com", name="Me")

    response = await client.get("/auth/me", headers=headers)

    assert response.status_code == 200
    assert response.json()["email"] == "me@example.com"
    assert response.json()["name"] == "Me"


async def test_email_is_stored_lowercase_and_unique_case_insensitively(client: httpx.AsyncClient) -> None:
    await register(client, email="Case@Example.com")

    duplicate = await client.post(
        "/auth/register", json={"email": "case@EXAMPLE.com", "password": "another1", "name": "Other"}
    )

    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "conflict"
    assert duplicate.json()["error"]["details"] == [
        {"field": "email", "message": "An account with this email already exists."}
    ]


async def test_login_accepts_any_case_of_the_email(client: httpx.AsyncClient) -> None:
    await register(client, email="login@example.com", password="test123")

    response = await client.post("/auth/login", json={"email": "LOGIN@example.com", "password": "test123"})

    assert response.status_code == 200
    assert response.json()["user"]["email"] == "login@example.com"


async def test_wrong_password_and_unknown_email_get_the_same_401(client: httpx.AsyncClient) -> None:
    await register(client, email="known@example.com", password="right-password")

    wrong_password = await client.post("/auth/login", json={"email": "known@example.com", "password": "wrong-pass"})
    unknown_email = await client.post("/auth/login", json={"email": "nobody@example.com", "password": "wrong-pass"})

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.headers["www-authenticate"] == "Bearer"


async def test_password_is_stored_as_a_bcrypt_hash(client: httpx.AsyncClient, conn) -> None:
    await register(client, email="hash@example.com", password="test123")

    row = await (await conn.execute("SELECT password_hash FROM users WHERE email = 'hash@example.com'")).fetchone()

    assert row["password_hash"].startswith("$2b$04$")
    assert "test123" not in row["password_hash"]


async def test_me_without_token_is_401_with_bearer_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "not_authenticated"


async def test_garbled_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/me", headers={"Authorization": "Bearer not-a-jwt"})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_expired_token_is_401(client: httpx.AsyncClient, app) -> None:
    headers = await register(client, email="expired@example.com")
    user_id = int(jwt.decode(headers["Authorization"][7:], options={"verify_signature": False})["sub"])
    expired = TokenCodec(secret=app.state.token_codec.secret, lifetime=timedelta(seconds=-1)).issue(user_id)

    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {expired}"})

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "The access token is invalid or has expired."


async def test_token_signed_with_another_secret_is_401(client: httpx.AsyncClient) -> None:
    forged = TokenCodec(secret="another-secret-of-sufficient-length-123", lifetime=timedelta(days=1)).issue(1)

    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {forged}"})

    assert response.status_code == 401


async def test_token_expires_after_the_configured_lifetime(client: httpx.AsyncClient) -> None:
    headers = await register(client, email="lifetime@example.com")

    claims = jwt.decode(headers["Authorization"][7:], options={"verify_signature": False})

    assert claims["exp"] - claims["iat"] == 7 * 24 * 3600
    assert jwt.get_unverified_header(headers["Authorization"][7:])["alg"] == "HS256"


async def test_imported_users_cannot_log_in(client: httpx.AsyncClient, conn) -> None:
    await conn.execute("INSERT INTO users (name, imported_from, external_id) VALUES ('ml user', 'ml-100k', 1)")
    row = await (await conn.execute("SELECT id FROM users WHERE imported_from = 'ml-100k'")).fetchone()
    token = client._transport.app.state.token_codec.issue(row["id"])  # type: ignore[attr-defined]

    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401


def test_a_token_checked_before_is_still_refused_once_it_expires() -> None:
    codec = TokenCodec(secret="a-secret-that-is-long-enough-for-hs256", lifetime=timedelta(seconds=2))
    token = codec.issue(42)
    assert codec.user_id(token) == 42  # checked, and remembered

    time.sleep(2.1)

    with pytest.raises(InvalidTokenError):
        codec.user_id(token)
