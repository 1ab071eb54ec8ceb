"""Search and similar-items speed, and the API's memory with the model loaded. Prints a table.

    .venv/bin/python benchmarks/search_performance.py [--synthetic 60000] [--seconds 15] [--uncached]
        [--out benchmarks/results/search_performance_uncached.md]

For each catalogue (the demo catalogue, then the demo plus N synthetic films; --synthetic 0 measures
the demo alone):
- query embedding p50 (in this process, cache off, distinct queries);
- GET /search/semantic p50/p99 at concurrency 1 and 16;
- GET /recommendations/similar/movie/{id} p50/p99 at concurrency 16;
- peak RSS of the API process (VmHWM), model loaded.
Each search row gives the share of lookups the search cache (whole rankings) and the query-vector
cache answered, read from the API's /metrics before and after the row.

By default the caches are warmed first and the relevance-set queries asked round-robin, so most
answers come from the caches. With --uncached the API runs with SEARCH_CACHE_SECONDS=0 and
SIMILAR_CACHE_SECONDS=0 and every search is a text asked once (a relevance-set query with a
number of its own after it), so each one embeds its query and runs every retriever: the cost of a
search nobody has asked before.

The API runs as `cinelibre serve` (one uvicorn process) on a throw-away embedded database. The
load comes from this process (httpx, asyncio), on the same two cores: latencies include that.

Synthetic films reuse the demo's texts with new titles, and their vectors are demo vectors
plus Gaussian noise (renormalised): realistic clusters, without hours of embedding.
--out writes the table to a Markdown file under the date, commit, machine and command, and
refuses a working tree with uncommitted changes unless --allow-dirty.
"""

import argparse
import asyncio
import random
import statistics
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np
import psycopg
from harness import (
    benchmark_environment,
    cache_counts,
    cinelibre_serving,
    drive,
    free_port,
    hit_rates,
    load_embedded_demo,
    p50_p99,
    peak_rss_mb,
    print_table,
    refuse_dirty_results,
    scratch_database,
    write_results,
)
from pgvector.psycopg import register_vector

from cinelibre.search import quality
from cinelibre.search import repository as search_repository
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


# Enough distinct texts that no phase asks one twice (a phase asks a few hundred a second at most).
DISTINCT_QUERIES = 50_000
CACHES = ("search", "query_embedding")


def distinct_search_paths(queries: list[str], phase: int) -> list[str]:
    """Texts new to both caches: none repeats within a phase, nor from another phase (a number of
    its own after each relevance-set query)."""
    numbers = range(phase * DISTINCT_QUERIES, (phase + 1) * DISTINCT_QUERIES)
    return [f"/search/semantic?q={quote(f'{queries[n % len(queries)]} {n}')}" for n in numbers]


def measure(
    url: str, data_dir: Path, settings: Settings, label: str, seconds: float, *, uncached: bool
) -> list[tuple[str, str, str]]:
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

    # RATE_LIMITS=off: the whole load comes from one address.
    env = benchmark_environment(
        DATABASE_URL=url, PORT=str(free_port()), CINELIBRE_DATA_DIR=str(data_dir), RATE_LIMITS="off"
    )
    if uncached:
        env |= {"SEARCH_CACHE_SECONDS": "0", "SIMILAR_CACHE_SECONDS": "0"}
    with cinelibre_serving(env, "--no-demo") as server:
        search_paths = [f"/search/semantic?q={quote(query)}" for query in queries]
        similar_paths = [f"/recommendations/similar/movie/{movie_id}" for movie_id in movie_ids]
        drive(server.base_url, search_paths, 4, 3)  # warm: model loaded, queries cached
        rows = [("query embedding p50 (ms)", f"{statistics.median(timings) * 1000:.1f}", "")]
        for phase, concurrency in enumerate((1, 16)):
            paths = distinct_search_paths(queries, phase) if uncached else search_paths
            before = cache_counts(server.base_url)
            latencies = drive(server.base_url, paths, concurrency, seconds)
            rows.append(
                (
                    f"search c={concurrency} p50 / p99 (ms)",
                    p50_p99(latencies),
                    hit_rates(before, cache_counts(server.base_url), CACHES),
                )
            )
        before = cache_counts(server.base_url)
        similar = p50_p99(drive(server.base_url, similar_paths, 16, seconds))
        similar_hits = hit_rates(before, cache_counts(server.base_url), ["similar"])
        rows.append(("similar c=16 p50 / p99 (ms)", similar, similar_hits))
        rows.append(("API peak RSS, model loaded (MB)", f"{peak_rss_mb(server.process.pid):.0f}", ""))
    return [(f"{label}: {name}", value, hits) for name, value, hits in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synthetic", type=int, default=60_000, help="synthetic films added for the second run")
    parser.add_argument("--seconds", type=float, default=15, help="length of each load phase")
    parser.add_argument(
        "--uncached", action="store_true", help="no search or similar cache, and every query text asked once"
    )
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    parser.add_argument("--allow-dirty", action="store_true", help="write --out from uncommitted changes")
    args = parser.parse_args()
    refuse_dirty_results(args.out, args.allow_dirty)
    results: list[tuple[str, str, str]] = []
    with scratch_database() as database:
        url, data_dir, settings = database.url, database.data_dir, database.settings
        asyncio.run(load_embedded_demo(url, settings))
        results += measure(url, data_dir, settings, "demo (655 items)", args.seconds, uncached=args.uncached)
        if args.synthetic:
            add_synthetic_movies(url, args.synthetic, settings.embedding_model)
            label = f"demo + {args.synthetic:,} films"
            results += measure(url, data_dir, settings, label, args.seconds, uncached=args.uncached)
    caches = "uncached: every text asked once" if args.uncached else "caches warmed"
    title = f"Search performance ({caches}; one API process, 2 cores shared with the load generator)"
    columns = ("measure", "value", "cache hits")
    print_table(title, columns, results, right_aligned=("value", "cache hits"), min_width=120)
    if args.out:
        write_results(args.out, title, columns, results, right_aligned=("value",))


if __name__ == "__main__":
    main()
