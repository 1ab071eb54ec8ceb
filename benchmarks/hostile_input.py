"""What hostile requests cost the server's event loop: 64 KiB paths, 60 KiB query strings and
1 MiB headers built from runs that make careless patterns backtrack (refused by the parser or by
the URL and header limits), and an 8 KiB path and a 15 KiB token just under those limits (read
by the routes), sent one after another to `cinelibre serve` on a scratch database, while a second
client asks GET /health/live every 20 ms.

    .venv/bin/python benchmarks/hostile_input.py [--requests 20]

For each shape the table shows the statuses answered, the slowest and 99th-percentile live
probe (as a client sees the loop), and the event loop's own lag from the server's
cinelibre_event_loop_lag_seconds histogram (read from GET /metrics before and after the shape;
a histogram gives bucket bounds, so the figures read "at most"). Nothing here is cached.
"""

import argparse
import socket
import threading
import time
from collections import Counter

import httpx
from harness import (
    benchmark_environment,
    cinelibre_serving,
    command_line,
    free_port,
    git_commit,
    machine_description,
    markdown_table,
    percentile_ms,
    print_table,
    scratch_database,
)
from prometheus_client.parser import text_string_to_metric_families

KIB = 1024
SHAPES = {"eyJ-": "eyJ-", "a://b:": "a://b:", "one character": "a", "key=": "key=", "mixed": "eyJ-a://b:key=a%"}
PROBE_SECONDS = 0.02
LAG_METRIC = "cinelibre_event_loop_lag_seconds"
COLUMNS = (
    "shape",
    "requests",
    "statuses",
    "live probe max ms",
    "live probe p99 ms",
    "loop lag p99 ms",
    "loop lag max ms",
    "cached",
)
NUMBER_COLUMNS = COLUMNS[1:2] + COLUMNS[3:7]


def run_of(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


def status_of(port: int, target: str, headers: tuple[tuple[str, str], ...] = ()) -> int:
    """One GET over a raw socket (httpx refuses URLs over 64 KiB); the status code answered."""
    request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    request += "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request.encode())
        answer = b""
        while b"\r\n" not in answer and (chunk := connection.recv(4096)):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def attacks(unit: str) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    return [
        ("/movies/" + run_of(unit, 64 * KIB), ()),
        ("/search/semantic?q=" + run_of(unit, 60 * KIB), ()),
        ("/auth/me", (("Authorization", "Bearer " + run_of(unit, 1024 * KIB)),)),
        ("/auth/me", (("X-Request-ID", run_of(unit, 1024 * KIB)),)),
        ("/" + run_of(unit, 8 * KIB - 1), ()),
        ("/auth/me", (("Authorization", "Bearer " + run_of(unit, 15 * KIB)),)),
    ]


def lag_buckets(base_url: str) -> dict[float, float]:
    """The lag histogram's cumulative bucket counts by upper bound."""
    text = httpx.get(base_url + "/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        if family.name == LAG_METRIC:
            return {
                float(sample.labels["le"]): sample.value for sample in family.samples if sample.name.endswith("_bucket")
            }
    raise SystemExit(f"{LAG_METRIC} is not in /metrics")


def bound_ms(before: dict[float, float], after: dict[float, float], share: float) -> str:
    """The smallest bucket bound under which `share` of the samples taken in between fell."""
    total = after[float("inf")] - before[float("inf")]
    for bound in sorted(after):
        if after[bound] - before[bound] >= share * total:
            return "> 10,000" if bound == float("inf") else f"≤ {bound * 1000:g}"
    return "–"


class LiveProbe:
    def __init__(self, base_url: str) -> None:
        self.seconds: list[float] = []
        self._base_url = base_url
        self._stop = threading.Event()
        self._answered = threading.Event()
        self._thread = threading.Thread(target=self._probe, daemon=True)

    def __enter__(self) -> "LiveProbe":
        self._thread.start()
        self._answered.wait(10)  # the attack starts once the probe is under way
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _probe(self) -> None:
        with httpx.Client(base_url=self._base_url, timeout=10) as http:
            while not self._stop.is_set():
                started = time.perf_counter()
                if http.get("/health/live").status_code != 200:
                    raise SystemExit("/health/live did not answer 200")
                self.seconds.append(time.perf_counter() - started)
                self._answered.set()
                time.sleep(PROBE_SECONDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20, help="rounds of the six attacks per shape")
    args = parser.parse_args()
    rows = []
    with scratch_database() as database:
        port = free_port()
        env = benchmark_environment(
            DATABASE_URL=database.url,
            CINELIBRE_DATA_DIR=str(database.data_dir),
            PORT=str(port),
            EMBED_ON_START="false",
            RATE_LIMITS="off",
        )
        with cinelibre_serving(env) as server:
            for name, unit in SHAPES.items():
                requests = attacks(unit) * args.requests
                before = lag_buckets(server.base_url)
                with LiveProbe(server.base_url) as live:
                    statuses = Counter(status_of(port, target, headers) for target, headers in requests)
                after = lag_buckets(server.base_url)
                rows.append(
                    (
                        name,
                        str(len(requests)),
                        ", ".join(f"{status}×{count}" for status, count in sorted(statuses.items())),
                        f"{max(live.seconds) * 1000:.1f}",
                        f"{percentile_ms(live.seconds, 99):.1f}",
                        bound_ms(before, after, 0.99),
                        bound_ms(before, after, 1.0),
                        "n/a",
                    )
                )
    print_table("Hostile input: one uvicorn process", COLUMNS, rows, right_aligned=NUMBER_COLUMNS, min_width=150)
    print(f"\n- Commit: {git_commit()}\n- Machine: {machine_description()}\n- Command: `{command_line()}`\n")
    print("\n".join(markdown_table(COLUMNS, rows, right_aligned=NUMBER_COLUMNS)))


if __name__ == "__main__":
    main()
