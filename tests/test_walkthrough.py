"""The seed guide's walkthrough, verbatim, over real HTTP against `cinelibre serve` started the way a
new user starts it: embedded database, demo catalogue, Ctrl-C to stop, data kept for the next start."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

STARTUP_TIMEOUT_SECONDS = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "JWT_SECRET_KEY", "ENVIRONMENT")}
        env |= {"CINELIBRE_DATA_DIR": str(data_dir), "PORT": str(self.port)}
        self.log = (data_dir.parent / f"serve-{self.port}.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cinelibre", "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, Path(self.log.name).read_text()
            try:
                if httpx.get(self.base_url + "/", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("server did not start: " + Path(self.log.name).read_text())

    def interrupt(self) -> int:
        """Ctrl-C, as a user at the terminal would."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "data"
    yield folder
    pid_file = folder / "pgdata" / "postmaster.pid"
    if pid_file.exists():  # a failed test must not leave a server running
        os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)


def test_seed_walkthrough_then_ctrl_c_then_restart_keeps_data(data_dir: Path) -> None:
    server = Server(data_dir)
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        health = http.get("/")
        assert health.json()["database"] == "reachable"

        registered = http.post(
            "/auth/register", json={"email": "test@example.com", "password": "test123", "name": "Test User"}
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
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    port = free_port()
    env |= {"CINELIBRE_DATA_DIR": str(data_dir), "PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-m", "cinelibre", "serve", "--no-demo"], env=env)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/movies", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert response.json()["total"] == 0
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
