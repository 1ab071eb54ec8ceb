"""Schemathesis fuzzes every operation in the OpenAPI document against a started server: no input
may produce a 500, and every answer must match the documented schema."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_server import Server, stop_leftover_database


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    data_dir = tmp_path / "data"
    started = Server(data_dir)
    yield started
    started.interrupt()
    stop_leftover_database(data_dir)


def fuzz(server: Server, token: str, *selection: str) -> subprocess.CompletedProcess[str]:
    # Installed with the test extra, beside this interpreter (the venv need not be on PATH).
    schemathesis = str(Path(sys.executable).parent / "schemathesis")
    command = [
        schemathesis,
        "run",
        f"{server.base_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--max-examples",
        "25",
        "--seed",
        "20261124",
        "--no-color",
        *selection,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def register(server: Server, email: str) -> str:
    registered = httpx.post(
        server.base_url + "/auth/register", json={"email": email, "password": "test1234", "name": "F"}
    )
    return registered.json()["access_token"]


def test_no_input_makes_the_api_fail_or_break_its_schema(server: Server) -> None:
    """Every operation; /auth/logout-all on its own account, as it revokes the token the rest are
    fuzzed with. (The fuzzed account is no admin: the admin operations answer it 403, which must
    match their documented error shape too.)"""
    # Both accounts first: fuzzing /auth/register uses up this address' registrations.
    token, logout_token = register(server, "fuzz@example.com"), register(server, "fuzz-logout@example.com")
    everything_else = fuzz(server, token, "--exclude-path", "/auth/logout-all")
    logout_all = fuzz(server, logout_token, "--include-path", "/auth/logout-all")

    assert everything_else.returncode == 0, everything_else.stdout[-4000:]
    assert logout_all.returncode == 0, logout_all.stdout[-4000:]
