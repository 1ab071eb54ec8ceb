"""Time from `cinelibre serve` to the first successful request: on a first start (fresh data
directory: initdb, migrations, demo catalogue) and on a restart. Prints a table. Each start's
first answer is never a cache hit: the process is new and shares no cache (REDIS_URL is left out).

    .venv/bin/python benchmarks/startup.py [--runs 3]
"""

import argparse
import statistics
import tempfile
from pathlib import Path

from harness import benchmark_environment, cinelibre_serving, free_port, print_table


def time_to_first_request(data_dir: Path) -> float:
    env = benchmark_environment(CINELIBRE_DATA_DIR=str(data_dir), PORT=str(free_port()))
    with cinelibre_serving(env, ready_path="/movies?limit=1", poll_seconds=0.02, request_timeout=1) as server:
        return server.ready_seconds


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
    print_table(
        f"cinelibre serve → first successful GET /movies ({args.runs} runs)",
        ("start", "median s", "min s", "max s"),
        [
            (name, f"{statistics.median(values):.2f}", f"{min(values):.2f}", f"{max(values):.2f}")
            for name, values in (("first start (initdb + migrate + demo)", first), ("restart", restart))
        ],
    )


if __name__ == "__main__":
    main()
