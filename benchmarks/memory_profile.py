"""The API process's memory on a start that embeds a freshly imported MovieLens set, and on a
restart with nothing left to embed: its peak (VmHWM) and its steady VmRSS, for gunicorn's worker
(the production command) and for `cinelibre serve`. Prints a table with the commit measured.

    .venv/bin/python benchmarks/memory_profile.py [--dataset DIR] [--servers gunicorn serve]
        [--settle-seconds 10]

What it does: in a throw-away CINELIBRE_DATA_DIR (embedded PostgreSQL) a first `cinelibre serve`
with EMBED_ON_START=false loads the demo catalogue into the empty database, then `cinelibre
import movielens DIR --no-embed` adds the set (ml-latest-small: 9,742 films), leaving every item
to embed. For each server a copy of that directory is started with the default settings, as a
deployment is after an import: the API embeds the catalogue in the background while it serves.
A thread reads the API process's VmRSS every 0.2 s; GET /search/status is polled until nothing
is missing or outdated; --settle-seconds later the VmRSS is the steady figure and VmHWM (the
kernel's high-water mark, which sampling cannot miss) the peak. The same server then starts
again on the embedded copy: the model loads and there is nothing to embed. RETRAIN_AFTER_NEW_RATINGS=0
keeps a training child out of the measure; PostgreSQL's processes are not counted.
"""

import argparse
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from harness import (
    benchmark_environment,
    child_pids,
    cinelibre_command,
    free_port,
    git_commit,
    machine_description,
    peak_rss_mb,
    print_table,
    read_rss_and_parent,
    run_cinelibre,
    start_server,
)
from production_load import stop_leftover_database

DATASET = Path(__file__).parents[2] / "shared" / "data" / "movielens" / "ml-latest-small"
GUNICORN = Path(sys.executable).parent / "gunicorn"
SAMPLE_SECONDS = 0.2
EMBEDDING_TIMEOUT_SECONDS = 1800


@dataclass
class Measure:
    server: str
    start: str
    embedded: int
    seconds: float  # from the process's start to nothing left to embed
    sampled_peak_mb: float
    peak_mb: float
    steady_mb: float


class RssSampler(threading.Thread):
    """Follows the API process (gunicorn's worker, or `cinelibre serve` itself): the highest
    VmRSS read, and its VmHWM at the last read."""

    def __init__(self, launched: int, worker_of_master: bool) -> None:
        super().__init__(daemon=True)
        self.launched, self.worker_of_master = launched, worker_of_master
        self.pid: int | None = None if worker_of_master else launched
        self.sampled_peak_mb = self.peak_mb = self.rss_mb = 0.0
        self.running = True

    def run(self) -> None:
        while self.running:
            if self.pid is None:
                children = child_pids(self.launched)
                self.pid = children[0] if children else None
            if self.pid is not None:
                rss, _ = read_rss_and_parent(self.pid)
                if rss is not None:
                    self.rss_mb, self.sampled_peak_mb = rss, max(self.sampled_peak_mb, rss)
                    self.peak_mb = peak_rss_mb(self.pid)
            time.sleep(SAMPLE_SECONDS)


def server_command(server: str, port: int) -> list[str]:
    if server == "gunicorn":
        app = "cinelibre.app:create_app()"
        return [str(GUNICORN), "-w", "1", "-k", "uvicorn.workers.UvicornWorker", app, "--bind", f"127.0.0.1:{port}"]
    return cinelibre_command("serve")


def pending(base_url: str) -> int:
    status = httpx.get(f"{base_url}/search/status", timeout=10).json()
    return status["missing"] + status["outdated"]


def measure(server: str, start: str, data_dir: Path, settle_seconds: float) -> Measure:
    port = free_port()
    env = benchmark_environment(CINELIBRE_DATA_DIR=str(data_dir), PORT=str(port), RETRAIN_AFTER_NEW_RATINGS="0")
    process = start_server(server, server_command(server, port), env, port, cwd=data_dir, log_path=data_dir / "log")
    sampler = RssSampler(process.process.pid, worker_of_master=server == "gunicorn")
    sampler.start()
    try:
        process.wait_until_answering("/health/live", poll_seconds=0.2)
        to_embed = pending(process.base_url)
        deadline = time.perf_counter() + EMBEDDING_TIMEOUT_SECONDS
        while pending(process.base_url) and time.perf_counter() < deadline:
            time.sleep(2)
        seconds = time.perf_counter() - process.started
        time.sleep(settle_seconds)
        return Measure(server, start, to_embed, seconds, sampler.sampled_peak_mb, sampler.peak_mb, sampler.rss_mb)
    finally:
        sampler.running = False
        # gunicorn's master stops its worker gracefully (lifespan shutdown, which closes the
        # embedded database) on SIGTERM; SIGINT would make it quit at once, leaving the database up.
        process.stop(signal.SIGTERM if server == "gunicorn" else signal.SIGINT)
        stop_leftover_database(data_dir)


def prepare(data_dir: Path, dataset: Path) -> None:
    """The demo catalogue (a first start's), then the MovieLens set, nothing embedded."""
    port = free_port()
    env = benchmark_environment(CINELIBRE_DATA_DIR=str(data_dir), PORT=str(port), EMBED_ON_START="false")
    first = start_server("cinelibre serve", cinelibre_command("serve"), env, port)
    try:
        first.wait_until_answering("/movies?limit=1")
    finally:
        first.stop()
    run_cinelibre("import", "movielens", str(dataset), "--no-embed", env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--servers", nargs="+", choices=("gunicorn", "serve"), default=["gunicorn", "serve"])
    parser.add_argument("--settle-seconds", type=float, default=10)
    args = parser.parse_args()
    commit = git_commit()
    measures: list[Measure] = []
    with tempfile.TemporaryDirectory(prefix="cinelibre-memory-") as folder:
        imported = Path(folder) / "imported"
        imported.mkdir()
        prepare(imported, args.dataset)
        for server in args.servers:
            data_dir = Path(folder) / server
            # cp -a keeps the database files' owner (the embedded server's own user under root)
            subprocess.run(["cp", "-a", str(imported), str(data_dir)], check=True)
            measures.append(measure(server, "embeds the import", data_dir, args.settle_seconds))
            measures.append(measure(server, "restart, nothing to embed", data_dir, args.settle_seconds))
    print_table(
        f"API process memory, {args.dataset.name} + demo catalogue (commit {commit})",
        ("server", "start", "items to embed", "s to embedded", "peak MB (VmHWM)", "sampled peak MB", "steady MB"),
        [
            (
                m.server,
                m.start,
                f"{m.embedded:,}",
                f"{m.seconds:.0f}",
                f"{m.peak_mb:.0f}",
                f"{m.sampled_peak_mb:.0f}",
                f"{m.steady_mb:.0f}",
            )
            for m in measures
        ],
        right_aligned=("items to embed", "s to embedded", "peak MB (VmHWM)", "sampled peak MB", "steady MB"),
        caption=f"{machine_description()}; steady: VmRSS {args.settle_seconds:g} s after nothing was left to embed",
        min_width=140,
    )


if __name__ == "__main__":
    main()
