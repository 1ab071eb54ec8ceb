"""The README's walkthrough, over real HTTP against `cinelibre serve` started the way a
new user starts it: embedded database, demo catalogue, Ctrl-C to stop, data kept for the next start."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_server import Server, stop_leftover_database


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "data"
    yield folder
    stop_leftover_database(folder)


def test_walkthrough_then_ctrl_c_then_restart_keeps_data(data_dir: Path) -> None:
    server = Server(data_dir)
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        health = http.get("/")
        assert health.json()["database"] == "reachable"

        registered = http.post(
            "/auth/register", json={"email": "test@example.com", "password": "test1234", "name": "Test User"}
        )
        assert registered.status_code == 201
        token = registered.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}

        rated = http.post("/ratings", headers=auth, json={"item_id": 1, "item_type": "movie", "rating": 4.5})
        assert rated.status_code == 201
        rating_id = rated.json()["id"]

        mine = http.get("/ratings/my", params={"item_type": "movie"}, headers=auth)
        assert [(r["id"], r["item_id"], r["rating"]) for r in mine.json()["items"]] == [(rating_id, 1, 4.5)]

        assert http.delete(f"/ratings/{rating_id}", headers=auth).status_code == 204
        assert http.get("/ratings/my", headers=auth).json()["total"] == 0

        http.post("/ratings", headers=auth, json={"item_id": 2, "item_type": "movie", "rating": 3.0})
        catalogue_size = http.get("/movies").json()["total"]
        assert catalogue_size >= 300

    assert server.interrupt() == 0
    assert not (data_dir / "pgdata" / "postmaster.pid").exists(), "the embedded database was not stopped"

    restarted = Server(data_dir)
    with httpx.Client(base_url=restarted.base_url, timeout=10) as http:
        assert http.get("/auth/me", headers=auth).json()["email"] == "test@example.com"
        assert [r["item_id"] for r in http.get("/ratings/my", headers=auth).json()["items"]] == [2]
        assert http.get("/movies").json()["total"] == catalogue_size
    assert restarted.interrupt() == 0
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()


def test_serve_without_demo_starts_empty(data_dir: Path) -> None:
    server = Server(data_dir, "--no-demo")

    movies = httpx.get(server.base_url + "/movies").json()
    books = httpx.get(server.base_url + "/books").json()

    assert server.interrupt() == 0
    assert (movies["total"], books["total"]) == (0, 0)
