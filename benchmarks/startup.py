"""Time from `cinelibre serve` to the first successful request: on a first start (fresh data
directory: initdb, migrations, demo catalogue) and on a restart. Prints a table.

    .venv/bin/python benchmarks/startup.py [--runs 3]
"""

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def time_to_first_request(data_dir: Path) -> float:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"CINELIBRE_DATA_DIR": str(data_dir), "PORT": str(port)}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "cinelibre", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/movies?limit=1", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                time.sleep(0.02)
            if process.poll() is not None:
                raise SystemExit("cinelibre serve exited before answering")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    first, restart = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            data_dir = Path(folder) / "data"
            first.append(time_to_first_request(data_dir))
            restart.append(time_to_first_request(data_dir))
    table = Table(title=f"cinelibre serve → first successful GET /movies ({args.runs} runs)")
    for column in ("start", "median s", "min s", "max s"):
        table.add_column(column)
    for name, values in (("first start (initdb + migrate + demo)", first), ("restart", restart)):
        table.add_row(name, f"{statistics.median(values):.2f}", f"{min(values):.2f}", f"{max(values):.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
