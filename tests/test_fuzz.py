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


def test_no_input_makes_the_api_fail_or_break_its_schema(server: Server) -> None:
    # Installed with the test extra, beside this interpreter (the venv need not be on PATH).
    schemathesis = str(Path(sys.executable).parent / "schemathesis")
    registered = httpx.post(
        server.base_url + "/auth/register", json={"email": "fuzz@example.com", "password": "test123", "name": "F"}
    )
    token = registered.json()["access_token"]

    result = subprocess.run(
        [
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
            # It would revoke the token every later operation is fuzzed with.
            "--exclude-path",
            "/auth/logout-all",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout[-4000:]
