"""Nothing secret reaches the logs: passwords, tokens, the JWT secret and passwords inside
connection URLs are redacted from every record, whoever logs it."""

import io
import json
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cinelibre.logs import configure_logging, redact
from cinelibre.settings import Settings
from tests.live_server import Server, stop_leftover_database

JWT_SECRET = "log-test-secret-that-is-long-enough-0123456789"
REDIS_PASSWORD = "sekret-pass"
PASSWORD, WRONG_PASSWORD, NEW_PASSWORD = "Corr3ct-Horse-battery", "Wr0ng-Guess-staple", "N3w-Password-donkey"


@pytest.fixture
def server() -> Iterator[Server]:
    # Outside pytest's own temporary folder, which another pytest run may close to other users
    # (the embedded server's system user among them) while this one runs.
    with tempfile.TemporaryDirectory(prefix="cinelibre-logs-") as folder:
        data_dir = Path(folder) / "data"
        started = Server(
            data_dir,
            env={
                "LOG_LEVEL": "debug",
                "JWT_SECRET_KEY": JWT_SECRET,
                # Unreachable, so the cache and the rate limits complain about it: with its password.
                "REDIS_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:1/0",
                "EMBED_ON_START": "false",
            },
        )
        try:
            yield started
        finally:
            started.interrupt()
            stop_leftover_database(data_dir)


def test_the_server_log_holds_no_password_token_or_secret(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        registered = http.post("/auth/register", json={"email": "log@example.com", "password": PASSWORD, "name": "L"})
        wrong = http.post("/auth/login", json={"email": "log@example.com", "password": WRONG_PASSWORD})
        logged_in = http.post("/auth/login", json={"email": "log@example.com", "password": PASSWORD})
        token = logged_in.json()["access_token"]
        header, payload, _ = token.split(".")
        forged = f"{header}.{payload}.bm90LXRoZS1zaWduYXR1cmU"
        bad_token = http.get("/auth/me", headers={"Authorization": f"Bearer {forged}"})
        movie_id = http.get("/movies", params={"limit": 1}).json()["items"][0]["id"]
        auth = {"Authorization": f"Bearer {token}"}
        rated = http.post("/ratings", headers=auth, json={"item_id": movie_id, "item_type": "movie", "rating": 4})
        changed = http.post(
            "/auth/password", headers=auth, json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        )
    server.interrupt()
    log = Path(server.log.name).read_text()

    assert [
        registered.status_code,
        wrong.status_code,
        logged_in.status_code,
        bad_token.status_code,
        rated.status_code,
        changed.status_code,
    ] == [201, 401, 200, 401, 201, 200]
    secrets = {
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "new password": NEW_PASSWORD,
        "registration token": registered.json()["access_token"],
        "login token": token,
        "forged token": forged,
        "token after the password change": changed.json()["access_token"],
        "JWT secret": JWT_SECRET,
        "Redis password": REDIS_PASSWORD,
    }
    assert [name for name, secret in secrets.items() if secret in log] == []
    # The lines that would have carried them are there, redacted, and so is the traffic.
    assert "redis://:[redacted]@127.0.0.1:1/0" in log
    assert "POST /auth/login 401" in log
    assert "POST /auth/password 200" in log


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer [redacted]"),
        ("got eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl today", "got [redacted] today"),
        ("password=hunter2&user=x", "password=[redacted]&user=x"),
        ('{"password": "two words", "email": "a@b.c"}', '{"password": "[redacted]", "email": "a@b.c"}'),
        ("{'new_password': 'x y'}", "{'new_password': '[redacted]'}"),
        ("JWT_SECRET_KEY=abcdef", "JWT_SECRET_KEY=[redacted]"),
        ("host=db user=app password=pw dbname=x", "host=db user=app password=[redacted] dbname=x"),
        ("postgresql://app:p%40ss@db.example.com:5432/films", "postgresql://app:[redacted]@db.example.com:5432/films"),
        (
            "postgres://postgres.ref:pw@aws-0.pooler.supabase.com:6543/postgres",
            "postgres://postgres.ref:[redacted]@aws-0.pooler.supabase.com:6543/postgres",
        ),
        ("rediss://default:pw@cache:6380/0", "rediss://default:[redacted]@cache:6380/0"),
        ("https://api.example/3/movie?api_key=k3y&page=2", "https://api.example/3/movie?api_key=[redacted]&page=2"),
        ("GET /books/v1/volumes?q=x&key=AIza9&startIndex=0", "GET /books/v1/volumes?q=x&key=[redacted]&startIndex=0"),
        ("https://api.example/me?access_token=t0k&x=1", "https://api.example/me?access_token=[redacted]&x=1"),
        ("X-Goog-Api-Key: AIza9", "X-Goog-Api-Key: [redacted]"),
        ("monkey=3 turkey=4 keys: 5", "monkey=3 turkey=4 keys: 5"),
        ("GET /movies 200 3.2 ms", "GET /movies 200 3.2 ms"),
        ("postgresql://app@db:5432/films", "postgresql://app@db:5432/films"),
        ("cinelibre.auth: tokens: 5, token_type: bearer", "cinelibre.auth: tokens: 5, token_type: bearer"),
    ],
)
def test_redact_replaces_secrets_and_leaves_the_rest(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_every_logger_message_argument_and_traceback_is_redacted() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        configure_logging(Settings(_env_file=None, log_format="json"))
        root.handlers[0].setStream(stream)
        logging.getLogger("uvicorn.error").warning("connecting to %s", "postgresql://u:topsecret@h/db")
        try:
            raise RuntimeError("login failed for password=topsecret")
        except RuntimeError:
            logging.getLogger("cinelibre.anything").exception("request failed")
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["message"] == "connecting to postgresql://u:[redacted]@h/db"
    assert lines[1]["message"] == "request failed"
    assert lines[1]["exc_info"].endswith("RuntimeError: login failed for password=[redacted]")
    assert "topsecret" not in stream.getvalue()


@pytest.mark.parametrize("shape", ["eyJ-", "a://b:", 'password="', "?key=", "x"])
def test_hostile_runs_are_left_as_they_are_and_a_secret_after_them_is_still_found(shape: str) -> None:
    hostile = shape * (64 * 1024 // len(shape))
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"

    redacted = redact(f"{hostile} {jwt} postgresql://app:hunter2@db/cinelibre")

    assert redacted.endswith(" [redacted] postgresql://app:[redacted]@db/cinelibre")
    assert "hunter2" not in redacted and jwt not in redacted


def test_the_access_line_carries_at_most_512_characters_of_a_path() -> None:
    from cinelibre.middleware import _logged_path

    assert _logged_path("/movies/1") == "/movies/1"
    assert _logged_path("/" + "a" * 600) == "/" + "a" * 511 + "…[89 more characters]"
