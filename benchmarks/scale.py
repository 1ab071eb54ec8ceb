"""The service at MovieLens-25M scale (or any other): a synthetic MovieLens-shaped data set is
written into a throw-away database, embedded, trained on, and served; prints a table and, as its
last line, one JSON line of the figures.

    .venv/bin/python benchmarks/scale.py --ratings 25000000 [--seed 25] [--no-embed | --embed-limit N]
        [--requests 500] [--out benchmarks/results/scale-25m.md [--allow-dirty]] [--keep DIR [--serve-only]]

The data set (cinelibre.movielens.synthetic) has ml-25m's shape scaled to --ratings: raters in
proportion, films as the ratings to the power 0.65, power-law popularity and activity, every rater
with at least 20 half-star ratings that a model can learn from. It is written as `cinelibre import
movielens` writes a real set (raters as imported users, the films' rating counts), by binary
COPY in chunks of a million rows, then VACUUM ANALYZE, as a database that has settled would be.

Measured, in order:
- import_s: drawing the data and writing it, in one transaction; vacuum_s after it;
- embed_s: every film embedded by the real model for search (--no-embed skips it: search then
  finds films by their words alone). The model embeds about 60 films a second on two shared
  cores, so ml-25m's 62,423 take some 17 minutes: --embed-limit N embeds the first N films only,
  and gives the others the vector of an embedded film plus a little noise, so that search still
  ranks over every film's vector (embed_s is then the time for N films);
- train_s, train_peak_rss_mb: `cinelibre train`'s wall time and peak memory (VmHWM);
- one `cinelibre serve` with every answer cache off (each *_CACHE_SECONDS at 0 and no query
  vector cache: harness.caches_off), rate limits off and no embedding on start, asked one request at a
  time: /recommendations/personalized for --requests distinct raters, each once;
  /recommendations/popular; /search/semantic with texts asked once each; POST /ratings by distinct
  raters of films they had not rated; then the API's resident memory (VmRSS, steady, reported
  as api_rss_mb) and its peak (VmHWM).
A few requests of each kind go first, unmeasured, with other raters and texts: the first
personalized list loads the model and the first search the text model.

The raters are imported users who cannot log in; on this throw-away database the script gives
them an email and a password hash, and signs tokens for them with the server's development
secret (what /auth/login would hand out).

--keep DIR builds the database in DIR and leaves it there; a later run with --keep DIR
--serve-only measures the API again on it (after a change to serving, say) without the half hour of
preparing it at full size, and reports the preparation's figures with the commit that measured them.

With --out, the table and the JSON line are also written as Markdown, with the commit, the
machine and the command; a working tree with uncommitted changes is refused (its figures would
belong to no commit) unless --allow-dirty.
"""

import argparse
import asyncio
import json
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
import psycopg
from harness import (
    benchmark_environment,
    cache_counts,
    caches_off,
    cinelibre_command,
    cinelibre_serving,
    command_line,
    free_port,
    git_commit,
    hit_rates,
    let_imported_raters_log_in,
    machine_description,
    markdown_table,
    peak_rss_mb,
    percentile_ms,
    print_table,
    read_rss_and_parent,
    refuse_dirty_results,
    run_and_watch,
    scratch_database,
)
from pgvector.psycopg import register_vector
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from cinelibre.auth.security import TokenCodec
from cinelibre.database.connection import Connection, open_pool, prepare_connection
from cinelibre.movielens.service import import_synthetic
from cinelibre.movielens.synthetic import GENRE_STORIES, SyntheticMovieLens
from cinelibre.search import repository as search_repository
from cinelibre.search import service as search_service
from cinelibre.search.embedder import Embedder
from cinelibre.settings import Settings
from cinelibre.types import ItemType

WARM_UP_REQUESTS = 5
# Fewer measured requests for the endpoints whose time does not depend on who asks.
OTHER_REQUESTS = 200


def import_data(url: str, ratings: int, seed: int) -> tuple[float, float, int, int]:
    """Draw and write the data set in one transaction; (import seconds, VACUUM ANALYZE seconds,
    users, films)."""

    async def write() -> tuple[int, int]:
        conn = await psycopg.AsyncConnection.connect(url, row_factory=dict_row)
        await prepare_connection(conn)
        async with conn, conn.transaction():
            report = await import_synthetic(conn, SyntheticMovieLens(ratings, seed=seed))
        return report.users_added, report.movies_added

    started = time.perf_counter()
    users, films = asyncio.run(write())
    imported = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return imported - started, time.perf_counter() - imported, users, films


def embed(url: str, settings: Settings, limit: int | None) -> tuple[float, int]:
    """Embed the films for search with the real model, as `cinelibre embed` would; with `limit`,
    only the first `limit` films by id (see copy_vectors for the rest). (seconds, films embedded)"""

    async def run() -> int:
        pool = await open_pool(url, settings)
        try:
            if limit is None:
                return (await search_service.embed_pending(pool, Embedder(settings))).embedded
            return await embed_first(pool, Embedder(settings), limit)
        finally:
            await pool.close()

    started = time.perf_counter()
    embedded = asyncio.run(run())
    return time.perf_counter() - started, embedded


async def embed_first(pool: "AsyncConnectionPool[Connection]", embedder: Embedder, limit: int) -> int:
    """Embed the films up to the limit-th by id, a batch at a time, as embed_pending does."""
    async with pool.connection() as conn:
        row = await (await conn.execute("SELECT id FROM movies ORDER BY id OFFSET %s LIMIT 1", (limit - 1,))).fetchone()
    up_to_id, after_id, written = (row["id"] if row else None), 0, 0
    while True:
        async with pool.connection() as conn:
            rows = await search_repository.pending_documents(
                conn, ItemType.MOVIE, model=embedder.model_name, after_id=after_id, up_to_id=up_to_id, limit=64
            )
        if not rows:
            return written
        after_id = rows[-1]["id"]
        vectors = embedder.embed_documents([row["document"] for row in rows])
        async with pool.connection() as conn, conn.transaction():
            written += await search_repository.store_embeddings(
                conn,
                ItemType.MOVIE,
                model=embedder.model_name,
                rows=[(row["id"], row["content_hash"], vector) for row, vector in zip(rows, vectors, strict=True)],
            )


def copy_vectors(url: str, model: str, seed: int) -> int:
    """Give every film the model did not embed (past --embed-limit) the vector of an embedded film
    plus a little noise (a cosine of about 0.9 with it), stored as up to date with the film's text:
    search then ranks over as many vectors as with every film embedded, without the hours."""
    rng = np.random.default_rng(seed)
    with psycopg.connect(url) as conn:
        register_vector(conn)
        embedded = [row[0] for row in conn.execute("SELECT embedding FROM movie_embeddings ORDER BY movie_id")]
        missing = conn.execute(
            "SELECT m.id, md5(m.document), coalesce(m.overview <> '', false) FROM movies m "
            "WHERE NOT EXISTS (SELECT 1 FROM movie_embeddings e WHERE e.movie_id = m.id) ORDER BY m.id"
        ).fetchall()
        with (
            conn.cursor() as cursor,
            cursor.copy(
                "COPY movie_embeddings (movie_id, model, content_hash, embedding, described) FROM STDIN"
            ) as copy,
        ):
            for n, (movie_id, digest, described) in enumerate(missing):
                vector = embedded[n % len(embedded)].to_numpy()
                noisy = vector + rng.normal(0, 0.5 / np.sqrt(len(vector)), len(vector))
                copy.write_row((movie_id, model, digest, (noisy / np.linalg.norm(noisy)).astype(np.float32), described))
        conn.execute("ANALYZE movie_embeddings")
    asyncio.run(refresh_vocabulary(url))
    return len(missing)


async def refresh_vocabulary(url: str) -> None:
    conn = await psycopg.AsyncConnection.connect(url, row_factory=dict_row)
    async with conn, conn.transaction():
        await search_repository.refresh_vocabulary(conn)


def sequential(
    base_url: str, requests: list[tuple[str, str, str | None, dict | None]], expected: set[int]
) -> list[float]:
    """Send (method, path, bearer token, JSON body) one after another; each one's latency in
    seconds. An answer outside `expected` stops the benchmark: a fast error is not a fast answer."""
    latencies = []
    with httpx.Client(base_url=base_url, timeout=120) as client:
        for method, path, token, body in requests:
            headers = {"Authorization": f"Bearer {token}"} if token else None
            started = time.perf_counter()
            response = client.request(method, path, headers=headers, json=body)
            latencies.append(time.perf_counter() - started)
            if response.status_code not in expected:
                raise SystemExit(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
    return latencies


def search_texts(count: int, seed: int) -> list[str]:
    """Texts nobody has searched for: a few words of a genre's story and a number of their own."""
    rng = random.Random(seed)
    words = [word for story in GENRE_STORIES.values() for word in story.split() if len(word) > 3]
    return [" ".join(rng.sample(words, 3)) + f" {n}" for n in range(count)]


def measure_api(url: str, data_dir: Path, requests: int, seed: int) -> dict[str, float | str]:
    env = benchmark_environment(
        DATABASE_URL=url,
        CINELIBRE_DATA_DIR=str(data_dir),
        PORT=str(free_port()),
        EMBED_ON_START="false",
        RATE_LIMITS="off",
        **caches_off(),
    )
    rng = np.random.default_rng(seed)
    with cinelibre_serving(env, "--no-demo") as server:
        with psycopg.connect(url) as conn:
            let_imported_raters_log_in(conn)
            users = [row[0] for row in conn.execute("SELECT id FROM users WHERE imported_from IS NOT NULL ORDER BY id")]
            chosen = [int(user) for user in rng.choice(users, size=min(len(users), requests + 2 * OTHER_REQUESTS))]
            raters, posters = chosen[:requests], chosen[requests : requests + OTHER_REQUESTS]
            # Each poster rates a film they have not rated, none of them the same film.
            unrated = conn.execute(
                """SELECT DISTINCT ON (u.id) u.id AS user_id, m.id AS movie_id
                FROM unnest(%s::bigint[]) WITH ORDINALITY AS u (id, n)
                CROSS JOIN LATERAL (
                    SELECT m.id FROM movies m
                    WHERE m.id = (SELECT min(id) FROM movies) + (u.n * 7919) %% (SELECT count(*) FROM movies)
                      AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.user_id = u.id AND r.movie_id = m.id)
                ) AS m""",
                (posters,),
            ).fetchall()
        codec = TokenCodec((data_dir / "jwt-secret").read_text().strip(), timedelta(hours=1))
        token = {user: codec.issue(user) for user in chosen}
        warm_up = [user for user in users[:WARM_UP_REQUESTS] if user not in token]
        sequential(
            server.base_url,
            [("GET", "/recommendations/personalized", codec.issue(user), None) for user in warm_up]
            + [("GET", f"/search/semantic?q={quote(f'warm up {n}')}", None, None) for n in range(WARM_UP_REQUESTS)]
            + [("GET", "/recommendations/popular", None, None)] * WARM_UP_REQUESTS,
            {200},
        )
        before = cache_counts(server.base_url)
        personalized = sequential(
            server.base_url, [("GET", "/recommendations/personalized", token[user], None) for user in raters], {200}
        )
        hits = hit_rates(before, cache_counts(server.base_url), ["personalized"])
        popular = sequential(server.base_url, [("GET", "/recommendations/popular", None, None)] * OTHER_REQUESTS, {200})
        search = sequential(
            server.base_url,
            [("GET", f"/search/semantic?q={quote(text)}", None, None) for text in search_texts(OTHER_REQUESTS, seed)],
            {200},
        )
        posts = sequential(
            server.base_url,
            [
                ("POST", "/ratings", token[row[0]], {"item_type": "movie", "item_id": row[1], "rating": 4.0})
                for row in unrated
            ],
            {201},
        )
        steady_rss, _ = read_rss_and_parent(server.process.pid)
        peak_rss = peak_rss_mb(server.process.pid)
    return {
        "personalized_uncached_p50_ms": percentile_ms(personalized, 50),
        "personalized_uncached_p99_ms": percentile_ms(personalized, 99),
        "popular_p50_ms": percentile_ms(popular, 50),
        "search_p50_ms": percentile_ms(search, 50),
        "rating_post_p50_ms": percentile_ms(posts, 50),
        "api_rss_mb": steady_rss or float("nan"),
        "api_peak_rss_mb": peak_rss,
        "personalized_requests": len(personalized),
        "rating_posts": len(posts),
        "cache_hit_rate": hits,
    }


# In a --keep folder: the figures of preparing its database, for a later --serve-only run.
PREPARED = "prepared.json"


def prepare(url: str, data_dir: Path, settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """Generate, import, embed and train; what each took."""
    print(f"Generating and importing {args.ratings:,} ratings...", file=sys.stderr)
    import_s, vacuum_s, users, films = import_data(url, args.ratings, args.seed)
    print("Embedding...", file=sys.stderr)
    embed_s, embedded = (0.0, 0) if args.no_embed else embed(url, settings, args.embed_limit)
    copied = copy_vectors(url, settings.embedding_model, args.seed) if args.embed_limit and embedded else 0
    env = benchmark_environment(DATABASE_URL=url, CINELIBRE_DATA_DIR=str(data_dir))
    print("Training...", file=sys.stderr)
    train_s, train_rss = run_and_watch(cinelibre_command("train"), env)
    return {
        "ratings": args.ratings,
        "users": users,
        "items": films,
        "import_s": import_s,
        "vacuum_s": vacuum_s,
        "embed_s": embed_s,
        "films_embedded": embedded,
        "films_given_copied_vectors": copied,
        "train_s": train_s,
        "train_peak_rss_mb": train_rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ratings", type=int, required=True, help="ratings to generate (ml-25m: 25000000)")
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("--requests", type=int, default=500, help="distinct raters asking for their list")
    parser.add_argument("--no-embed", action="store_true", help="do not embed the films (search by words only)")
    parser.add_argument("--embed-limit", type=int, help="embed this many films; the rest get copies of their vectors")
    parser.add_argument("--out", type=Path, help="also write the results to this Markdown file")
    parser.add_argument("--allow-dirty", action="store_true", help="write --out from uncommitted changes")
    parser.add_argument("--keep", type=Path, help="build the database in this folder and leave it there")
    parser.add_argument(
        "--serve-only", action="store_true", help="with --keep: measure the API again on the database kept there"
    )
    args = parser.parse_args()
    refuse_dirty_results(args.out, args.allow_dirty)
    if args.serve_only and not (args.keep and (args.keep / PREPARED).exists()):
        raise SystemExit("--serve-only needs --keep DIR of an earlier run that finished preparing its database.")
    commit = git_commit()
    with scratch_database(args.keep) as database:
        url, data_dir, settings = database.url, database.data_dir, database.settings
        if args.serve_only:
            # What preparing the kept database measured, at the commit that did it.
            prepared = json.loads((data_dir / PREPARED).read_text())
        else:
            prepared = prepare(url, data_dir, settings, args) | {"prepared_at_commit": commit, "served": 0}
        # Each measurement of a kept database draws other raters, texts and films: the ratings an
        # earlier one posted are there now, and would leave its raters nothing new to rate.
        served = prepared.get("served", 0)
        (data_dir / PREPARED).write_text(json.dumps(prepared | {"served": served + 1}))
        print("Serving...", file=sys.stderr)
        api = measure_api(url, data_dir, args.requests, args.seed + served)
    figures: dict[str, float | int | str] = {
        key: prepared[key] for key in ("ratings", "users", "items", "import_s", "train_s", "train_peak_rss_mb")
    }
    users, films, import_s, vacuum_s = prepared["users"], prepared["items"], prepared["import_s"], prepared["vacuum_s"]
    embed_s, embedded, copied = prepared["embed_s"], prepared["films_embedded"], prepared["films_given_copied_vectors"]
    train_s, train_rss = prepared["train_s"], prepared["train_peak_rss_mb"]
    figures |= {key: api[key] for key in ("api_rss_mb",)}
    for key in (
        "personalized_uncached_p50_ms",
        "personalized_uncached_p99_ms",
        "popular_p50_ms",
        "search_p50_ms",
        "rating_post_p50_ms",
    ):
        figures[key] = api[key]
    figures |= {
        "embed_s": embed_s,
        "films_embedded": embedded,
        "films_given_copied_vectors": copied,
        "vacuum_s": vacuum_s,
        "api_peak_rss_mb": api["api_peak_rss_mb"],
        "cache_hit_rate": api["cache_hit_rate"],
        "commit": commit,
        "prepared_at_commit": prepared["prepared_at_commit"],
    }
    rows = [
        ("ratings / raters / films", f"{args.ratings:,} / {users:,} / {films:,}"),
        ("generate + import (s)", f"{import_s:.1f}"),
        ("VACUUM ANALYZE (s)", f"{vacuum_s:.1f}"),
        ("embed (s), films embedded, films given copied vectors", f"{embed_s:.1f}, {embedded:,}, {copied:,}"),
        ("cinelibre train, wall (s)", f"{train_s:.1f}"),
        ("cinelibre train, peak RSS (MB)", f"{train_rss:.0f}"),
        (
            f"personalized, uncached, c=1, {api['personalized_requests']} raters once each: p50 / p99 (ms)",
            f"{api['personalized_uncached_p50_ms']:.1f} / {api['personalized_uncached_p99_ms']:.1f}",
        ),
        # "–": the cache was not even asked, as it is off.
        ("personalized cache hit rate", str(api["cache_hit_rate"])),
        ("popular, uncached, c=1: p50 (ms)", f"{api['popular_p50_ms']:.1f}"),
        ("search, texts asked once, c=1: p50 (ms)", f"{api['search_p50_ms']:.1f}"),
        (f"POST /ratings, {api['rating_posts']} raters, c=1: p50 (ms)", f"{api['rating_post_p50_ms']:.1f}"),
        (
            "API RSS after measuring, steady / peak (MB)",
            f"{api['api_rss_mb']:.0f} / {api['api_peak_rss_mb']:.0f}",
        ),
    ]
    title = f"Scale: {args.ratings:,} synthetic ratings (one API process, answer caches off, 2 shared cores)"
    rounded = {key: round(value, 1) if isinstance(value, float) else value for key, value in figures.items()}
    json_line = json.dumps(rounded)
    if args.out:
        lines = [
            f"# {title}",
            "",
            f"- Commit: {commit}"
            + (f" (database prepared at {prepared['prepared_at_commit']})" if args.serve_only else ""),
            f"- Machine: {machine_description()}",
            f"- Command: `{command_line()}`",
            "",
            *markdown_table(("measure", "value"), rows, right_aligned=("value",)),
            "",
            "```json",
            json_line,
            "```",
            "",
        ]
        args.out.write_text("\n".join(lines))
    print_table(title, ("measure", "value"), rows, right_aligned=("value",), min_width=110)
    print(json_line)


if __name__ == "__main__":
    main()
