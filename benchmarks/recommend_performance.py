"""/recommendations/personalized, popular, predict and similar latency on ml-latest-small, at
concurrency 1 and 16, one `cinelibre serve` process, after `cinelibre train` (whose time and peak
memory it also reports). Prints a table.

    .venv/bin/python benchmarks/recommend_performance.py [--seconds 10]

The data set's 610 raters are imported users who cannot log in; on this throw-away database the
script gives them an email and a password hash, and signs tokens for them with the server's
development secret (what /auth/login would hand out).
"""

import argparse
import tempfile
from datetime import timedelta
from pathlib import Path

import psycopg
from harness import (
    benchmark_environment,
    cinelibre_command,
    cinelibre_serving,
    drive,
    free_port,
    let_imported_raters_log_in,
    p50_p99,
    peak_rss_mb,
    print_table,
    run_and_watch,
    run_cinelibre,
)

from cinelibre.auth.security import TokenCodec

DATASET = Path(__file__).parents[2] / "shared" / "data" / "movielens" / "ml-latest-small"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--dataset", type=Path, default=DATASET)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        # RATE_LIMITS=off: the whole load comes from one address.
        env = benchmark_environment(
            CINELIBRE_DATA_DIR=folder, PORT=str(free_port()), EMBED_ON_START="false", RATE_LIMITS="off"
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
                    latencies = drive(server.base_url, paths, concurrency, args.seconds, tokens=tokens, timeout=60)
                    rows.append(
                        (
                            f"{name} c={concurrency} p50 / p99 (ms)",
                            p50_p99(latencies),
                            f"{len(latencies) / args.seconds:.0f}",
                        )
                    )
            rows.append(("API peak RSS (MB)", f"{peak_rss_mb(server.process.pid):.0f}", ""))
            rows.append(("cinelibre train, wall (s)", f"{training_seconds:.1f}", ""))
            rows.append(("cinelibre train, peak RSS (MB)", f"{training_rss:.0f}", ""))
    print_table(
        f"Recommendations on {args.dataset.name} (one API process, 2 shared cores)", ("measure", "value", "req/s"), rows
    )


if __name__ == "__main__":
    main()
