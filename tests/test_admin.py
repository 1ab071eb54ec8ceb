"""Admin operations over HTTP need an administrator; `cinelibre users grant-admin` makes one."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from cinelibre.admin.jobs import ChildProcessLauncher
from cinelibre.auth import service as auth_service
from cinelibre.database import migrate
from cinelibre.database.locks import AdvisoryLock
from tests.conftest import app_on, client_for, recreate_database
from tests.factories import register

ADMIN_OPERATIONS = [("POST", "/admin/retrain"), ("GET", "/admin/sync/runs"), ("POST", "/admin/sync/books")]


class RecordingLauncher:
    """Stands in for the child-process launcher: remembers what it was asked to start."""

    def __init__(self) -> None:
        self.started: list[tuple[str, ...]] = []

    async def start(self, *args: str) -> None:
        self.started.append(args)


@pytest.fixture
def launcher(app: FastAPI) -> RecordingLauncher:
    app.state.job_launcher = RecordingLauncher()
    return app.state.job_launcher


@pytest.fixture
async def admin(client: httpx.AsyncClient, conn) -> dict[str, str]:
    headers = await register(client, email="admin@example.com")
    await auth_service.set_admin(conn, email="ADMIN@example.com", is_admin=True)
    return headers


@pytest.mark.parametrize(("method", "path"), ADMIN_OPERATIONS)
async def test_ordinary_users_are_forbidden_the_admin_operations(
    client: httpx.AsyncClient, launcher: RecordingLauncher, method: str, path: str
) -> None:
    headers = await register(client, email="ordinary@example.com")

    response = await client.request(method, path, headers=headers)

    assert response.status_code == 403
    assert response.json() == {
        "error": {"code": "forbidden", "message": "Only an administrator may do this.", "details": []}
    }
    assert launcher.started == []


@pytest.mark.parametrize(("method", "path"), ADMIN_OPERATIONS)
async def test_admin_operations_without_a_token_are_401(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


async def test_an_admin_starts_training_in_a_child_process(
    client: httpx.AsyncClient, admin: dict[str, str], launcher: RecordingLauncher
) -> None:
    response = await client.post("/admin/retrain", headers=admin)

    assert response.status_code == 202
    assert response.json() == {"started": True}
    assert launcher.started == [("train",)]


async def test_retraining_while_a_training_run_holds_the_lock_is_409(
    client: httpx.AsyncClient, admin: dict[str, str], launcher: RecordingLauncher, database_url: str
) -> None:
    with psycopg.connect(database_url, autocommit=True) as trainer:
        trainer.execute("SELECT pg_advisory_lock(%s)", (int(AdvisoryLock.TRAINING),))
        busy = await client.post("/admin/retrain", headers=admin)
    after = await client.post("/admin/retrain", headers=admin)

    assert busy.status_code == 409
    assert busy.json()["error"] == {
        "code": "conflict",
        "message": "The models are being trained right now; try again when that run ends.",
        "details": [],
    }
    assert after.status_code == 202
    assert launcher.started == [("train",)]


async def test_an_admin_starts_a_book_sync(
    client: httpx.AsyncClient, admin: dict[str, str], launcher: RecordingLauncher
) -> None:
    response = await client.post("/admin/sync/books", headers=admin)

    assert response.status_code == 202
    assert response.json() == {"started": True}
    assert launcher.started == [("sync", "books")]


async def test_a_film_sync_needs_a_tmdb_key_on_the_server(
    client: httpx.AsyncClient, admin: dict[str, str], launcher: RecordingLauncher, settings, conn, pool, embedder
) -> None:
    without_key = await client.post("/admin/sync/movies", headers=admin)
    keyed = app_on(conn, settings.model_copy(update={"tmdb_api_key": "a-key"}), pool, embedder)
    keyed.state.job_launcher = launcher
    async with client_for(keyed) as keyed_client:
        with_key = await keyed_client.post("/admin/sync/movies", headers=admin)

    assert without_key.status_code == 409
    assert without_key.json()["error"]["message"] == "TMDB_API_KEY is not set on the server, so films cannot be synced."
    assert with_key.status_code == 202
    assert launcher.started == [("sync", "movies")]


async def test_a_sync_of_a_source_already_syncing_is_409(
    client: httpx.AsyncClient, admin: dict[str, str], launcher: RecordingLauncher, database_url: str
) -> None:
    google_books_lock = int(AdvisoryLock.SYNC_GOOGLE_BOOKS)
    with psycopg.connect(database_url, autocommit=True) as syncing:
        syncing.execute("SELECT pg_advisory_lock(%s)", (google_books_lock,))
        busy = await client.post("/admin/sync/books", headers=admin)

    assert busy.status_code == 409
    assert busy.json()["error"]["message"] == "A books sync is running right now; try again when it ends."
    assert launcher.started == []


async def test_an_unknown_sync_source_is_422(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    response = await client.post("/admin/sync/music", headers=admin)

    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == ["path.source"]


async def test_an_admin_lists_the_latest_sync_runs(client: httpx.AsyncClient, admin: dict[str, str], conn) -> None:
    await conn.execute(
        """INSERT INTO sync_runs (source, started_at, finished_at, status, counts, errors) VALUES
           ('tmdb', '2026-01-01T00:00Z', '2026-01-01T00:10Z', 'finished', '{"new": 3, "fetched": 5}', '[]'),
           ('google_books', '2026-01-02T00:00Z', NULL, 'running', '{}', '["timeout", "timeout"]'),
           ('tmdb', '2026-01-03T00:00Z', '2026-01-03T00:05Z', 'finished', '{"updated": 1}', '[]')"""
    )

    response = await client.get("/admin/sync/runs?limit=2", headers=admin)

    assert response.status_code == 200
    items = response.json()["items"]
    assert [(r["source"], r["status"], r["counts"], r["error_count"]) for r in items] == [
        ("tmdb", "finished", {"updated": 1}, 0),
        ("google_books", "running", {}, 2),
    ]
    assert items[1]["started_at"] == "2026-01-02T00:00:00Z"
    assert items[1]["finished_at"] is None


async def test_revoking_admin_takes_effect_on_the_next_request(
    client: httpx.AsyncClient, admin: dict[str, str], conn
) -> None:
    assert (await client.get("/admin/sync/runs", headers=admin)).status_code == 200

    await auth_service.set_admin(conn, email="admin@example.com", is_admin=False)

    assert (await client.get("/admin/sync/runs", headers=admin)).status_code == 403


# The command line and the real launcher, against a database of their own (they commit).


@pytest.fixture
def committed_database(server_url: str) -> str:
    url = recreate_database(server_url, "cinelibre_admin")
    migrate.upgrade_to_head(url)
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO users (email, name, password_hash) VALUES ('boss@example.com', 'Boss', 'not-a-real-hash')"
        )
    return url


def cinelibre(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DATABASE_URL": database_url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "cinelibre", *args], env=env, capture_output=True, text=True, timeout=120, cwd=cwd
    )


def is_admin(database_url: str, email: str) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT is_admin FROM users WHERE email = %s", (email,)).fetchone()
        assert row is not None
        return row[0]


def test_grant_and_revoke_admin_commands(committed_database: str, tmp_path: Path) -> None:
    granted = cinelibre("users", "grant-admin", "Boss@Example.com", database_url=committed_database, cwd=tmp_path)
    admin_after_grant = is_admin(committed_database, "boss@example.com")
    revoked = cinelibre("users", "revoke-admin", "boss@example.com", database_url=committed_database, cwd=tmp_path)

    assert granted.returncode == 0, granted.stderr
    assert "Boss@Example.com is now an administrator." in granted.stderr
    assert admin_after_grant is True
    assert revoked.returncode == 0, revoked.stderr
    assert is_admin(committed_database, "boss@example.com") is False


def test_grant_admin_to_an_unknown_email_fails_clearly(committed_database: str, tmp_path: Path) -> None:
    result = cinelibre("users", "grant-admin", "nobody@example.com", database_url=committed_database, cwd=tmp_path)

    assert result.returncode == 1
    assert "No account has the email nobody@example.com." in result.stderr


async def test_the_launcher_runs_cinelibre_against_the_apis_database(committed_database: str) -> None:
    launcher = ChildProcessLauncher(committed_database)

    await launcher.start("users", "grant-admin", "boss@example.com")
    exit_codes = await launcher.wait_all()

    assert exit_codes == [0]
    assert is_admin(committed_database, "boss@example.com") is True


async def test_an_administrator_is_told_so_by_me(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    response = await client.get("/auth/me", headers=admin)

    assert (response.status_code, response.json()["email"], response.json()["is_admin"]) == (
        200,
        "admin@example.com",
        True,
    )
