"""Catalogue sync against the local fake TMDB and Google Books (tests/fake_upstream.py) with
2,400 films (300 in each of the 8 languages) and 1,000 books: wall time of a first full sync
(embedding included) and of an unchanged re-sync, their peak memory, and the request rate the
limiter held. Each sync is the real `cinelibre sync` command on a fresh embedded database.
Prints a table.

    .venv/bin/python benchmarks/sync_performance.py [--films 2400] [--books 1000] [--rate 20]
"""

import argparse
import sys
import tempfile
from pathlib import Path

from harness import benchmark_environment, cinelibre_command, print_table, run_and_watch, run_cinelibre
from rich.console import Console

# tests.fake_upstream is imported from the repository root, which running a script in benchmarks/
# does not put on sys.path
sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.fake_upstream import INDIAN_LANGUAGES, FakeUpstream, make_books, make_movies  # noqa: E402

QUERIES = ("indian literature", "subject:fiction", "subject:history", "subject:mystery", "subject:romance")


def busiest_second(times: list[float]) -> int:
    """The most requests sent within any one second."""
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--films", type=int, default=2400)
    parser.add_argument("--books", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="SYNC_REQUESTS_PER_SECOND (the default setting)")
    args = parser.parse_args()
    per_language = -(-args.films // len(INDIAN_LANGUAGES))
    per_query = -(-args.books // len(QUERIES))
    rows = []
    with (
        tempfile.TemporaryDirectory() as folder,
        FakeUpstream(movies=make_movies(args.films), books=make_books(args.books, QUERIES)) as upstream,
    ):
        env = benchmark_environment(
            CINELIBRE_DATA_DIR=folder,
            TMDB_API_KEY=upstream.tmdb_api_key,
            TMDB_API_BASE_URL=upstream.tmdb_base_url,
            TMDB_FILMS_PER_LANGUAGE=str(per_language),
            GOOGLE_BOOKS_API_BASE_URL=upstream.google_books_base_url,
            GOOGLE_BOOKS_QUERIES='["' + '", "'.join(QUERIES) + '"]',
            GOOGLE_BOOKS_PER_QUERY=str(per_query),
            SYNC_REQUESTS_PER_SECOND=str(args.rate),
            LOG_LEVEL="warning",
        )
        # Create the database and its schema first, so the timings below are the sync's own.
        run_cinelibre("db", "migrate", env=env)
        for name in ("first full sync", "unchanged re-sync"):
            upstream.clear_requests()
            seconds, peak = run_and_watch(cinelibre_command("sync"), env)
            sent = [request.at for request in upstream.requests]
            span = max(sent) - min(sent) if len(sent) > 1 else 0.0
            rows.append((name, seconds, len(sent), len(sent) / span if span else 0.0, busiest_second(sent), peak))
        status = run_cinelibre("sync", "status", "--runs", "4", env=env).stdout
    print_table(
        f"Sync of {args.films} films and {args.books} books from the local fake upstream (limit {args.rate:g}/s)",
        ("run", "wall (s)", "requests", "mean rate (req/s)", "busiest second", "peak RSS (MB)"),
        [
            (name, f"{seconds:.1f}", str(requests), f"{rate:.1f}", str(busiest), f"{peak:.0f}")
            for name, seconds, requests, rate, busiest, peak in rows
        ],
    )
    console = Console()
    console.print(f"re-sync is {rows[0][1] / rows[1][1]:.1f}× faster than the first sync")
    console.print(status)


if __name__ == "__main__":
    main()
