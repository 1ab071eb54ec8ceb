"""Search and similar-items speed, and the API's memory with the model loaded. Prints a table.

    .venv/bin/python benchmarks/search_performance.py [--synthetic 60000] [--seconds 15]

For each catalogue (the demo catalogue, then the demo plus N synthetic films):
- query embedding p50 (in this process, cache off, distinct queries);
- GET /search/semantic p50/p99 at concurrency 1 and 16;
- GET /recommendations/similar/movie/{id} p50/p99 at concurrency 16;
- peak RSS of the API process (VmHWM), model loaded.
The API runs as `cinelibre serve` (one uvicorn process) on a throw-away embedded database. The
load comes from this process (httpx, asyncio), on the same two cores: latencies include that.

Synthetic films reuse the demo's texts with new titles, and their vectors are demo vectors
plus Gaussian noise (renormalised): realistic clusters, without hours of embedding.
"""

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg.rows import dict_row
from rich.console import Console
from rich.table import Table

from cinelibre.database import migrate
from cinelibre.database.connection import open_pool
from cinelibre.database.embedded import open_database
from cinelibre.demo import service as demo_service
from cinelibre.search import quality
from cinelibre.search import repository as search_repository
from cinelibre.search import service as search_service
from cinelibre.search.embedder import Embedder
from cinelibre.settings import Settings

RELEVANCE_SET = Path(__file__).parents[1] / "tests" / "data" / "search_relevance.json"
WORDS = [
    "river",
    "night",
    "city",
    "love",
    "war",
    "secret",
    "family",
    "police",
    "village",
    "train",
    "music",
    "school",
    "king",
    "dream",
    "storm",
]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


async def prepare(url: str, settings: Settings) -> None:
    conn = await psycopg.AsyncConnection.connect(url, row_factory=dict_row)
    async with conn, conn.transaction():
        await demo_service.load(conn)
    pool = await open_pool(url, settings)
    await search_service.embed_pending(pool, Embedder(settings))
    await pool.close()


def add_synthetic_movies(url: str, count: int, model: str) -> None:
    rng = np.random.default_rng(7)
    with psycopg.connect(url) as conn:
        register_vector(conn)
        base = conn.execute(
            "SELECT title, year, original_language, genres, directors, cast_members, overview, v.embedding "
            "FROM movies JOIN movie_embeddings v ON v.movie_id = id"
        ).fetchall()
        vectors: dict[str, np.ndarray] = {}
        with (
            conn.cursor() as cursor,
            cursor.copy(
                "COPY movies (title, year, original_language, genres, directors, cast_members, overview) FROM STDIN"
            ) as copy,
        ):
            for n in range(count):
                title, year, language, genres, directors, cast, overview, embedding = base[n % len(base)]
                # noise of norm ~0.5: each copy keeps a cosine of ~0.9 with the film it was made from
                vector = embedding.to_numpy() if hasattr(embedding, "to_numpy") else np.asarray(embedding)
                noisy = vector + rng.normal(0, 0.5 / np.sqrt(len(vector)), len(vector))
                words = " ".join(random.Random(n).sample(WORDS, 2)).title()
                synthetic_title = f"{title}: {words} {n}"
                vectors[synthetic_title] = (noisy / np.linalg.norm(noisy)).astype(np.float32)
                copy.write_row((synthetic_title, year, language, genres, directors, cast, overview))
        ids = dict(conn.execute("SELECT title, id FROM movies WHERE title = ANY(%s)", (list(vectors),)).fetchall())
        with (
            conn.cursor() as cursor,
            cursor.copy("COPY movie_embeddings (movie_id, model, embedding) FROM STDIN") as copy,
        ):
            for title, vector in vectors.items():
                copy.write_row((ids[title], model, vector))
        conn.execute(
            "UPDATE movie_embeddings v SET content_hash = md5(m.document) FROM movies m "
            "WHERE m.id = v.movie_id AND v.content_hash IS NULL"
        )
        conn.execute("ANALYZE movies")
        conn.execute("ANALYZE movie_embeddings")
    asyncio.run(refresh_vocabulary(url))


async def refresh_vocabulary(url: str) -> None:
    conn = await psycopg.AsyncConnection.connect(url)
    async with conn, conn.transaction():
        await search_repository.refresh_vocabulary(conn)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(base_url: str) -> None:
    while True:
        try:
            httpx.get(base_url + "/")
            return
        except httpx.TransportError:
            time.sleep(0.1)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def drive(base_url: str, paths: list[str], concurrency: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency)

    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:

        async def worker(offset: int) -> None:
            n = offset
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.get(paths[n % len(paths)])
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"{paths[n % len(paths)]} answered {response.status_code}: {response.text}")
                n += concurrency

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return latencies


def measure(url: str, data_dir: Path, settings: Settings, label: str, seconds: float) -> list[tuple[str, str]]:
    queries = [entry["query"] for entry in quality.read_relevance_set(RELEVANCE_SET)]
    embedder = Embedder(settings.model_copy(update={"query_embedding_cache_size": 0}))
    embedder.load()
    timings = []
    for query in queries:
        started = time.perf_counter()
        embedder.embed_query(query)
        timings.append(time.perf_counter() - started)
    with psycopg.connect(url) as conn:
        movie_ids = [row[0] for row in conn.execute("SELECT id FROM movies ORDER BY random() LIMIT 500")]

    port = free_port()
    env = os.environ | {"DATABASE_URL": url, "PORT": str(port), "CINELIBRE_DATA_DIR": str(data_dir)}
    server = subprocess.Popen(
        [sys.executable, "-m", "cinelibre", "serve", "--no-demo"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base_url)
        search_paths = [f"/search/semantic?q={quote(query)}" for query in queries]
        similar_paths = [f"/recommendations/similar/movie/{movie_id}" for movie_id in movie_ids]
        asyncio.run(drive(base_url, search_paths, 4, 3))  # warm: model loaded, queries cached
        rows = [("query embedding p50 (ms)", f"{statistics.median(timings) * 1000:.1f}")]
        for concurrency in (1, 16):
            latencies = asyncio.run(drive(base_url, search_paths, concurrency, seconds))
            rows.append(
                (
                    f"search c={concurrency} p50 / p99 (ms)",
                    f"{percentile(latencies, 50):.1f} / {percentile(latencies, 99):.1f}",
                )
            )
        latencies = asyncio.run(drive(base_url, similar_paths, 16, seconds))
        rows.append(
            ("similar c=16 p50 / p99 (ms)", f"{percentile(latencies, 50):.1f} / {percentile(latencies, 99):.1f}")
        )
        rows.append(("API peak RSS, model loaded (MB)", f"{peak_rss_mb(server.pid):.0f}"))
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    return [(f"{label}: {name}", value) for name, value in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synthetic", type=int, default=60_000, help="synthetic films added for the second run")
    parser.add_argument("--seconds", type=float, default=15, help="length of each load phase")
    args = parser.parse_args()
    results: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        settings = Settings(_env_file=None, data_dir=data_dir)
        with open_database(None, data_dir / "db") as database:
            migrate.upgrade_to_head(database.url)
            asyncio.run(prepare(database.url, settings))
            results += measure(database.url, data_dir, settings, "demo (655 items)", args.seconds)
            add_synthetic_movies(database.url, args.synthetic, settings.embedding_model)
            results += measure(database.url, data_dir, settings, f"demo + {args.synthetic:,} films", args.seconds)
    table = Table(title="Search performance (one API process, 2 cores shared with the load generator)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in results:
        table.add_row(name, value)
    Console().print(table)


if __name__ == "__main__":
    main()
