"""/recommendations/personalized, popular, predict and similar latency on ml-latest-small, at
concurrency 1 and 16, one `cinelibre serve` process, after `cinelibre train` (whose time and peak
memory it also reports). Prints a table.

    .venv/bin/python benchmarks/recommend_performance.py [--seconds 10]

The data set's 610 raters are imported users who cannot log in; on this throw-away database the
script gives them an email and a password hash, and signs tokens for them with the server's
development secret (what /auth/login would hand out).
"""

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import bcrypt
import httpx
import psycopg
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from search_performance import free_port, peak_rss_mb, percentile, wait_until_ready  # noqa: E402

from cinelibre.auth.security import TokenCodec  # noqa: E402

DATASET = Path(__file__).parents[2] / "shared" / "data" / "movielens" / "ml-latest-small"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--dataset", type=Path, default=DATASET)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = os.environ | {"CINELIBRE_DATA_DIR": folder, "PORT": str(free_port()), "EMBED_ON_START": "false"}
        env.pop("DATABASE_URL", None)
        subprocess.run(
            [sys.executable, "-m", "cinelibre", "import", "movielens", str(args.dataset)],
            env=env,
            check=True,
            capture_output=True,
        )
        training_seconds, training_rss = run_and_watch([sys.executable, "-m", "cinelibre", "train"], env)
        server = subprocess.Popen(
            [sys.executable, "-m", "cinelibre", "serve", "--no-demo"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{env['PORT']}"
        try:
            wait_until_ready(base_url)
            url = subprocess.run(
                [sys.executable, "-m", "cinelibre", "db", "url"], env=env, capture_output=True, text=True, check=True
            ).stdout.strip()
            with psycopg.connect(url) as conn:
                conn.execute(
                    "UPDATE users SET email = 'rater' || id || '@bench.invalid', password_hash = %s "
                    "WHERE imported_from IS NOT NULL",
                    (bcrypt.hashpw(b"benchmark", bcrypt.gensalt(4)).decode(),),
                )
                users = [row[0] for row in conn.execute("SELECT id FROM users WHERE imported_from IS NOT NULL")]
                movies = [row[0] for row in conn.execute("SELECT id FROM movies ORDER BY rating_count DESC LIMIT 500")]
            codec = TokenCodec((Path(folder) / "jwt-secret").read_text().strip(), timedelta(hours=1))
            tokens = [codec.issue(user) for user in users]
            rows = []
            for name, paths in (
                ("popular", ["/recommendations/popular"] * len(tokens)),
                ("personalized", ["/recommendations/personalized"] * len(tokens)),
                ("predict", [f"/recommendations/predict/movie/{movies[n % len(movies)]}" for n in range(len(tokens))]),
                ("similar", [f"/recommendations/similar/movie/{movies[n % len(movies)]}" for n in range(len(tokens))]),
            ):
                for concurrency in (1, 16):
                    latencies = asyncio.run(drive_with_tokens(base_url, paths, tokens, concurrency, args.seconds))
                    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
                    rows.append(
                        (
                            f"{name} c={concurrency} p50 / p99 (ms)",
                            f"{p50:.1f} / {p99:.1f}",
                            f"{len(latencies) / args.seconds:.0f}",
                        )
                    )
            rows.append(("API peak RSS (MB)", f"{peak_rss_mb(server.pid):.0f}", ""))
            rows.append(("cinelibre train, wall (s)", f"{training_seconds:.1f}", ""))
            rows.append(("cinelibre train, peak RSS (MB)", f"{training_rss:.0f}", ""))
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
    table = Table(title=f"Recommendations on {args.dataset.name} (one API process, 2 shared cores)")
    for column in ("measure", "value", "req/s"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def run_and_watch(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a command to the end; its wall time and peak memory (read until it exits)."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while child.poll() is None:
        try:
            peak = max(peak, peak_rss_mb(child.pid))
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.05)
    if child.wait() != 0:
        raise RuntimeError(child.stderr.read().decode() if child.stderr else "training failed")
    return time.perf_counter() - started, peak


async def drive_with_tokens(base_url: str, paths: list[str], tokens: list[str], concurrency: int, seconds: float):
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(
        base_url=base_url, timeout=60, limits=httpx.Limits(max_connections=concurrency)
    ) as client:

        async def worker(offset: int) -> None:
            n = offset
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.get(
                    paths[n % len(paths)], headers={"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
                )
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"{response.status_code}: {response.text}")
                n += concurrency

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return latencies


if __name__ == "__main__":
    main()
