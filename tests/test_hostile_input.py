"""Hostile input against a real server: paths and query strings up to 64 KiB and headers up to
1 MiB, built from runs that make careless patterns backtrack (`eyJ-` like a token, `a://b:` like
a URL with credentials, `key=`, one character). Each must be refused or answered with a 4xx (414
and 431 over the URL and header limits), never a 5xx, while /health/live keeps answering within
200 ms; and the cleaning of upstream text must stay linear on the same kind of input."""

import socket
import time
from collections.abc import Iterator

import pytest

from cinelibre.sync import cleaning
from tests.conftest import recreate_database
from tests.live_server import Server
from tests.test_network_cut import LiveProbe

KIB = 1024
RUNS = {"eyJ-": "eyJ-", "a://b:": "a://b:", "one character": "a", "key=": "key=", "mixed": "eyJ-a://b:key=a%"}
# A live probe stuck behind a blocked event loop waited 30 s before the fix; on two cores shared
# with another pytest worker an unblocked one still takes up to a few hundred milliseconds.
SLOWEST_LIVE_PROBE_SECONDS = 1.0
SLOWEST_CLEANING_SECONDS = 0.1


def run_of(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


def status_of(port: int, target: str, headers: list[tuple[str, str]] = ()) -> int:
    """The status line's code of one GET sent over a raw socket (httpx refuses URLs over 64 KiB)."""
    request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    request += "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request.encode())
        answer = b""
        while b"\r\n" not in answer and (chunk := connection.recv(4096)):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


@pytest.fixture(scope="module")
def server(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    url = recreate_database(server_url, "cinelibre_hostile_input")
    server = Server(tmp_path_factory.mktemp("hostile") / "data", env={"DATABASE_URL": url, "EMBED_ON_START": "false"})
    yield server
    server.interrupt()


def hostile_requests() -> list[tuple[str, str, list[tuple[str, str]], int]]:
    """(what, target, headers, the status it must get)."""
    requests = []
    for name, unit in RUNS.items():
        # Over 64 KiB the HTTP parser refuses the request line itself; from 8 KiB to it, the
        # URL limit answers before any route or filter sees the text; under it, the router and
        # the query validation do.
        requests += [
            (f"64 KiB path of {name}", "/movies/" + run_of(unit, 64 * KIB), [], 400),
            (f"60 KiB path of {name}", "/" + run_of(unit, 60 * KIB), [], 414),
            (f"8 KiB path of {name}", "/" + run_of(unit, 8 * KIB - 1), [], 404),
            (f"64 KiB query of {name}", "/search/semantic?q=" + run_of(unit, 64 * KIB), [], 400),
            (f"60 KiB query of {name}", "/search/semantic?q=" + run_of(unit, 60 * KIB), [], 414),
            (f"8 KiB query of {name}", "/search/semantic?q=" + run_of(unit, 8 * KIB - 19), [], 422),
        ]
        # Headers over 16 KiB in all are refused before a token, request id or cookie is read.
        for size, status in ((15 * KIB, 401), (64 * KIB, 431), (1024 * KIB, 431)):
            requests += [
                (
                    f"{size // KIB} KiB bearer token of {name}",
                    "/auth/me",
                    [("Authorization", "Bearer " + run_of(unit, size))],
                    status,
                ),
                (f"{size // KIB} KiB request id of {name}", "/auth/me", [("X-Request-ID", run_of(unit, size))], status),
                (f"{size // KIB} KiB cookie of {name}", "/auth/me", [("Cookie", run_of(unit, size))], status),
            ]
    return requests


def test_hostile_paths_queries_and_headers_get_4xx_while_the_server_keeps_answering_live_probes(
    server: Server,
) -> None:
    requests = hostile_requests()
    with LiveProbe(server.base_url) as live:
        time.sleep(0.2)
        answers = {what: status_of(server.port, target, headers) for what, target, headers, _ in requests}
        time.sleep(0.2)

    slowest_probe = max(probe.seconds for probe in live.probes)
    print(f"\n{len(requests)} hostile requests; {len(live.probes)} live probes, slowest {slowest_probe * 1000:.0f} ms")
    assert answers == {what: status for what, _, _, status in requests}
    assert {probe.status for probe in live.probes} == {200}
    assert slowest_probe < SLOWEST_LIVE_PROBE_SECONDS
    assert server.process.poll() is None
    assert status_of(server.port, "/health/live") == 200


@pytest.mark.parametrize("length", [20 * KIB, 64 * KIB])
def test_cleaning_upstream_text_of_hostile_shapes_takes_under_a_tenth_of_a_second(length: int) -> None:
    shapes = {
        "breaks without an end": run_of("<br", length),
        "spaces inside a tag": "<br" + " " * length,
        "slashes and spaces": run_of("<br / / ", length),
        "unclosed tags": run_of("<p", length),
        "entities": run_of("&amp;", length),
        "control characters": run_of("\x00\x0b", length),
        "blank lines": "\n" * length,
        "tabs": "a" + "\t" * length + "a",
        **{f"run of {name}": run_of(unit, length) for name, unit in RUNS.items()},
    }
    seconds = {}
    for name, shape in shapes.items():
        # CPU time of this thread: what the cleaning itself costs, whatever else shares the cores.
        started = time.thread_time()
        cleaning.text(shape, max_length=4000)
        seconds[name] = time.thread_time() - started

    assert {name: took for name, took in seconds.items() if took >= SLOWEST_CLEANING_SECONDS} == {}
