"""A `cinelibre serve` process started as a user starts it, for tests over real HTTP."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

STARTUP_TIMEOUT_SECONDS = 90
SETTINGS_LEFT_OUT = ("DATABASE_URL", "DATABASE_READ_URL", "JWT_SECRET_KEY", "ENVIRONMENT", "REDIS_URL")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, data_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        """`env` adds to (or overrides) the environment, which otherwise is this one's without
        database and secret settings."""
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        environment = {k: v for k, v in os.environ.items() if k not in SETTINGS_LEFT_OUT}
        # WEB_BUILD=never: a test server serves the web app as it is and never runs npm.
        started_as = {"CINELIBRE_DATA_DIR": str(data_dir), "PORT": str(self.port), "WEB_BUILD": "never"}
        environment |= started_as | (env or {})
        self.log = (data_dir.parent / f"serve-{self.port}.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cinelibre", "serve", *args],
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
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


def stop_leftover_database(data_dir: Path) -> None:
    """After a failed test, make sure no embedded server is left running."""
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    if pid_file.exists():
        os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)
