"""/recommendations/personalized, popular, predict and similar latency on ml-latest-small, at
concurrency 1 and 16, one `cinelibre serve` process, after `cinelibre train` (whose time and peak
memory it also reports). Prints a table.

    .venv/bin/python benchmarks/recommend_performance.py [--seconds 10] [--uncached]
        [--out benchmarks/results/recommend_performance_uncached.md]

Each row gives the share of its answers the API's cache gave (hit rate, read from /metrics
before and after the row; "–" where the endpoint has no cache). By default the caches are on, as
deployed: the same 610 users and 500 films come round again and again, so after the first pass
most answers are hits. With --uncached the API runs with every answer cache off (each
*_CACHE_SECONDS at 0 and no query vector cache: harness.caches_off), so each request computes its
answer.

The data set's 610 raters are imported users who cannot log in; on this throw-away database the
script gives them an email and a password hash, and signs tokens for them with the server's
development secret (what /auth/login would hand out).

--out writes the table to a Markdown file under the date, commit, machine and command, and
refuses a working tree with uncommitted changes unless --allow-dirty.
"""

import argparse
import tempfile
from datetime import timedelta
from pathlib import Path

import psycopg
from harness import (
    benchmark_environment,
    cache_counts,
    caches_off,
    cinelibre_command,
    cinelibre_serving,
    drive,
    free_port,
    hit_rates,
    let_imported_raters_log_in,
    p50_p99,
    peak_rss_mb,
    print_table,
    refuse_dirty_results,
    run_and_watch,
    run_cinelibre,
    write_results,
)

from cinelibre.auth.security import TokenCodec

DATASET = Path(__file__).parents[2] / "shared" / "data" / "movielens" / "ml-latest-small"
# The endpoints with an answer cache, by its name in the API's metrics.
ANSWER_CACHES = ("popular", "personalized", "similar")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--uncached", action="store_true", help="turn the API's answer caches off")
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    parser.add_argument("--allow-dirty", action="store_true", help="write --out from uncommitted changes")
    args = parser.parse_args()
    refuse_dirty_results(args.out, args.allow_dirty)
    uncached = caches_off() if args.uncached else {}
    with tempfile.TemporaryDirectory() as folder:
        # RATE_LIMITS=off: the whole load comes from one address.
        env = benchmark_environment(
            CINELIBRE_DATA_DIR=folder, PORT=str(free_port()), EMBED_ON_START="false", RATE_LIMITS="off", **uncached
        )
        run_cinelibre("import", "movielens", str(args.dataset), env=env)
        training_seconds, training_rss = run_and_watch(cinelibre_command("train"), env)
        with cinelibre_serving(env, "--no-demo") as server:
            url = run_cinelibre("db", "url", env=env).stdout.strip()
            with psycopg.connect(url) as conn:
                let_imported_raters_log_in(conn)
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
                    before = cache_counts(server.base_url)
                    latencies = drive(server.base_url, paths, concurrency, args.seconds, tokens=tokens, timeout=60)
                    hits = hit_rates(before, cache_counts(server.base_url), [name]) if name in ANSWER_CACHES else "–"
                    rows.append(
                        (
                            f"{name} c={concurrency} p50 / p99 (ms)",
                            p50_p99(latencies),
                            f"{len(latencies) / args.seconds:.0f}",
                            hits,
                        )
                    )
            rows.append(("API peak RSS (MB)", f"{peak_rss_mb(server.process.pid):.0f}", "", ""))
            rows.append(("cinelibre train, wall (s)", f"{training_seconds:.1f}", "", ""))
            rows.append(("cinelibre train, peak RSS (MB)", f"{training_rss:.0f}", "", ""))
    caching = "answer caches off" if args.uncached else "answer caches on"
    title = f"Recommendations on {args.dataset.name} (one API process, 2 shared cores, {caching})"
    columns = ("measure", "value", "req/s", "cache hits")
    print_table(title, columns, rows)
    if args.out:
        write_results(args.out, title, columns, rows, right_aligned=("value", "req/s"))


if __name__ == "__main__":
    main()
