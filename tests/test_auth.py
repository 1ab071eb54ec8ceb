import json
import time
from datetime import timedelta

import bcrypt
import httpx
import jwt
import pytest

from cinelibre.auth.security import InvalidTokenError, TokenCodec, TokenSubject
from cinelibre.settings import Settings
from tests.conftest import app_on, client_for
from tests.factories import register


async def test_register_returns_token_and_user(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/register", json={"email": "test@example.com", "password": "test1234", "name": "Test User"}
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
    assert response.json()["is_admin"] is False


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
    await register(client, email="login@example.com", password="test1234")

    response = await client.post("/auth/login", json={"email": "LOGIN@example.com", "password": "test1234"})

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
    await register(client, email="hash@example.com", password="test1234")

    row = await (await conn.execute("SELECT password_hash FROM users WHERE email = 'hash@example.com'")).fetchone()

    assert row["password_hash"].startswith("$2b$04$")
    assert "test1234" not in row["password_hash"]


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
    token = codec.issue(42, version=3)
    assert codec.subject(token) == TokenSubject(user_id=42, version=3)  # checked, and remembered

    time.sleep(2.1)

    with pytest.raises(InvalidTokenError):
        codec.subject(token)


async def test_me_shows_the_public_fields_and_whether_the_caller_is_an_administrator(
    client: httpx.AsyncClient,
) -> None:
    headers = await register(client, email="fields@example.com")

    response = await client.get("/auth/me", headers=headers)

    assert set(response.json()) == {"id", "email", "name", "created_at", "is_admin"}


async def test_token_carries_version_issuer_audience_and_validity_times(client: httpx.AsyncClient) -> None:
    headers = await register(client, email="claims@example.com")

    claims = jwt.decode(headers["Authorization"][7:], options={"verify_signature": False})

    assert set(claims) == {"sub", "ver", "iat", "nbf", "exp", "iss", "aud"}
    assert claims["ver"] == 0
    assert claims["nbf"] == claims["iat"]
    assert (claims["iss"], claims["aud"]) == ("cinelibre", "cinelibre-api")


# Tokens built by hand, each differing from a valid one in one way.
REFUSED_TOKEN = {
    "error": {"code": "not_authenticated", "message": "The access token is invalid or has expired.", "details": []}
}


async def _registered_id(client: httpx.AsyncClient, email: str) -> tuple[int, dict[str, str]]:
    headers = await register(client, email=email)
    return int(jwt.decode(headers["Authorization"][7:], options={"verify_signature": False})["sub"]), headers


def _hand_made_token(secret: str, user_id: int, algorithm: str = "HS256", **changes: object) -> str:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "ver": 0,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "iss": "cinelibre",
        "aud": "cinelibre-api",
    } | changes
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm=algorithm)


async def test_a_hand_made_token_with_every_claim_right_is_accepted(client: httpx.AsyncClient, app) -> None:
    user_id, _ = await _registered_id(client, "handmade@example.com")
    token = _hand_made_token(app.state.token_codec.secret, user_id)

    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response.json()["email"] == "handmade@example.com"


@pytest.mark.parametrize(
    "changes",
    [
        {"sub": None},
        {"ver": None},
        {"exp": None},
        {"iat": None},
        {"nbf": None},
        {"iss": None},
        {"aud": None},
        # Named apart from their values, which change with the clock: every pytest-xdist worker
        # must collect the same test ids.
        pytest.param({"exp": int(time.time()) - 60}, id="exp=a minute ago"),
        pytest.param({"nbf": int(time.time()) + 3600}, id="nbf=in an hour"),
        {"iss": "someone-else"},
        {"aud": "another-api"},
        {"sub": "not-a-number"},
        {"ver": "0"},
        {"ver": 1},  # the account's token version is 0
    ],
    ids=lambda changes: ",".join(f"{k}={v}" for k, v in changes.items()),
)
async def test_tokens_with_a_missing_or_wrong_claim_are_refused(client: httpx.AsyncClient, app, changes) -> None:
    user_id, _ = await _registered_id(client, "claims-refused@example.com")
    token = _hand_made_token(app.state.token_codec.secret, user_id, **changes)

    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response.json() == REFUSED_TOKEN


async def test_unsigned_tokens_are_refused(client: httpx.AsyncClient) -> None:
    user_id, _ = await _registered_id(client, "alg-none@example.com")
    unsigned = _hand_made_token("", user_id, algorithm="none")
    assert jwt.get_unverified_header(unsigned)["alg"] == "none"

    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {unsigned}"})

    assert response.status_code == 401
    assert response.json() == REFUSED_TOKEN


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # our key is sized for HS256
@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
async def test_tokens_signed_with_another_algorithm_are_refused_even_with_our_secret(
    client: httpx.AsyncClient, app, algorithm: str
) -> None:
    user_id, _ = await _registered_id(client, "alg-other@example.com")
    token = _hand_made_token(app.state.token_codec.secret, user_id, algorithm=algorithm)

    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response.json() == REFUSED_TOKEN


async def test_a_token_with_a_tampered_payload_is_refused(client: httpx.AsyncClient) -> None:
    first_id, headers = await _registered_id(client, "tamper-a@example.com")
    second_id, _ = await _registered_id(client, "tamper-b@example.com")
    header, payload, signature = headers["Authorization"][7:].split(".")
    claims = jwt.decode(headers["Authorization"][7:], options={"verify_signature": False})
    other_payload = jwt.utils.base64url_encode(json.dumps(claims | {"sub": str(second_id)}).encode()).decode()

    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {header}.{other_payload}.{signature}"})

    assert first_id != second_id
    assert response.status_code == 401
    assert response.json() == REFUSED_TOKEN


async def test_tokens_of_a_deleted_account_are_refused(client: httpx.AsyncClient, conn) -> None:
    user_id, headers = await _registered_id(client, "deleted@example.com")
    assert (await client.get("/auth/me", headers=headers)).status_code == 200  # and now remembered as checked

    await conn.execute("DELETE FROM users WHERE id = %s", (user_id,))
    response = await client.get("/auth/me", headers=headers)

    assert response.status_code == 401
    assert response.json() == REFUSED_TOKEN


async def test_issuer_and_audience_follow_the_settings(
    settings: Settings, conn, pool, embedder, client: httpx.AsyncClient
) -> None:
    other = app_on(
        conn, settings.model_copy(update={"jwt_issuer": "films.example", "jwt_audience": None}), pool, embedder
    )
    async with client_for(other) as other_client:
        headers = await register(other_client, email="issuer@example.com")
        claims = jwt.decode(headers["Authorization"][7:], options={"verify_signature": False})
        accepted_here = await other_client.get("/auth/me", headers=headers)
    refused_by_default = await client.get("/auth/me", headers=headers)

    assert claims["iss"] == "films.example"
    assert "aud" not in claims
    assert accepted_here.status_code == 200
    assert refused_by_default.status_code == 401


# Email enumeration: an unknown email and a wrong password must look the same from outside, in
# the answer and in the work done (a bcrypt check either way; the time itself is measured in
# benchmarks, not asserted here).


class BcryptCalls:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.checked: list[str] = []
        self.hashed = 0
        check, hashpw = bcrypt.checkpw, bcrypt.hashpw

        def counting_check(password: bytes, hashed: bytes) -> bool:
            self.checked.append(hashed.decode())
            return check(password, hashed)

        def counting_hash(password: bytes, salt: bytes) -> bytes:
            self.hashed += 1
            return hashpw(password, salt)

        monkeypatch.setattr(bcrypt, "checkpw", counting_check)
        monkeypatch.setattr(bcrypt, "hashpw", counting_hash)


async def test_unknown_email_and_wrong_password_answers_are_byte_identical(client: httpx.AsyncClient) -> None:
    await register(client, email="bytes@example.com", password="right-password")

    wrong_password = await client.post("/auth/login", json={"email": "bytes@example.com", "password": "wrong-pass"})
    unknown_email = await client.post("/auth/login", json={"email": "nobody@example.com", "password": "wrong-pass"})

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.content == unknown_email.content
    without_request_id = {k: v for k, v in wrong_password.headers.items() if k != "x-request-id"}
    assert without_request_id == {k: v for k, v in unknown_email.headers.items() if k != "x-request-id"}


async def test_unknown_email_costs_one_bcrypt_check_of_the_same_cost_as_a_wrong_password(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await register(client, email="cost@example.com", password="right-password")
    await client.post("/auth/login", json={"email": "warm-up@example.com", "password": "wrong-pass"})  # decoy made
    calls = BcryptCalls(monkeypatch)

    await client.post("/auth/login", json={"email": "cost@example.com", "password": "wrong-pass"})
    await client.post("/auth/login", json={"email": "nobody@example.com", "password": "wrong-pass"})

    assert len(calls.checked) == 2
    wrong_password_hash, decoy_hash = calls.checked
    assert wrong_password_hash != decoy_hash
    assert wrong_password_hash[:7] == decoy_hash[:7] == "$2b$04$"  # same algorithm and cost factor
    assert calls.hashed == 0


async def test_registering_a_taken_email_hashes_the_password_like_a_new_one(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = BcryptCalls(monkeypatch)
    await register(client, email="taken@example.com")
    assert calls.hashed == 1

    taken = await client.post("/auth/register", json={"email": "taken@example.com", "password": "x" * 8, "name": "X"})

    assert taken.status_code == 409
    assert calls.hashed == 2


async def test_a_new_password_needs_eight_characters(client: httpx.AsyncClient) -> None:
    seven = await client.post("/auth/register", json={"email": "seven@example.com", "password": "x" * 7, "name": "S"})
    eight = await client.post("/auth/register", json={"email": "eight@example.com", "password": "x" * 8, "name": "E"})
    headers = {"Authorization": f"Bearer {eight.json()['access_token']}"}
    changed_to_seven = await client.post(
        "/auth/password", headers=headers, json={"current_password": "x" * 8, "new_password": "y" * 7}
    )

    assert (seven.status_code, eight.status_code, changed_to_seven.status_code) == (422, 201, 422)
    assert seven.json()["error"]["details"] == [
        {"field": "body.password", "message": "String should have at least 8 characters"}
    ]
    assert changed_to_seven.json()["error"]["details"] == [
        {"field": "body.new_password", "message": "String should have at least 8 characters"}
    ]


async def test_an_account_with_an_older_six_character_password_can_log_in_and_change_it(
    client: httpx.AsyncClient, conn
) -> None:
    old_hash = bcrypt.hashpw(b"abc123", bcrypt.gensalt(4)).decode()
    await conn.execute(
        "INSERT INTO users (email, name, password_hash) VALUES ('older@example.com', 'Older', %s)", (old_hash,)
    )

    logged_in = await client.post("/auth/login", json={"email": "older@example.com", "password": "abc123"})
    changed = await client.post(
        "/auth/password",
        headers={"Authorization": f"Bearer {logged_in.json()['access_token']}"},
        json={"current_password": "abc123", "new_password": "a-longer-password"},
    )
    with_the_new_one = await client.post(
        "/auth/login", json={"email": "older@example.com", "password": "a-longer-password"}
    )

    assert (logged_in.status_code, changed.status_code, with_the_new_one.status_code) == (200, 200, 200)


# Every route that reads the caller, whether it needs one or only uses one when a token comes
# (/search/semantic records a signed-in caller's search).
ROUTES_THAT_READ_THE_CALLER = [
    ("GET", "/auth/me", None),
    ("POST", "/auth/password", {"current_password": "the-password", "new_password": "another-password"}),
    ("POST", "/auth/logout-all", None),
    ("GET", "/auth/me/export", None),
    ("DELETE", "/auth/me", {"password": "the-password"}),
    ("POST", "/ratings", {"item_id": 1, "item_type": "movie", "rating": 4}),
    ("GET", "/ratings/my", None),
    ("DELETE", "/ratings/1", None),
    ("POST", "/interactions", {"kind": "view", "item_id": 1, "item_type": "movie"}),
    ("GET", "/interactions/my", None),
    ("GET", "/recommendations/personalized", None),
    ("GET", "/recommendations/predict/movie/1", None),
    ("GET", "/search/semantic?q=monsoon", None),
    ("POST", "/admin/retrain", None),
    ("GET", "/admin/sync/runs", None),
]


async def test_a_deleted_accounts_token_is_refused_by_every_route_that_reads_the_caller(
    client: httpx.AsyncClient,
) -> None:
    headers = await register(client, email="gone@example.com", password="the-password")
    deleted = await client.request("DELETE", "/auth/me", headers=headers, json={"password": "the-password"})

    answers = []
    for method, path, body in ROUTES_THAT_READ_THE_CALLER:
        answer = await client.request(method, path, headers=headers, json=body)
        answers.append((method, path, answer.status_code, answer.json()))

    assert deleted.status_code == 204
    refused = {
        "error": {"code": "not_authenticated", "message": "The access token is invalid or has expired.", "details": []}
    }
    assert answers == [(method, path, 401, refused) for method, path, _ in ROUTES_THAT_READ_THE_CALLER]
