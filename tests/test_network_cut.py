"""A network that stops carrying bytes between a running API and its database, without closing or
resetting a connection (a cut link, a stalled pooler), and then carries them again. Requests must
be answered 503 within REQUEST_TIMEOUT_SECONDS meanwhile, the event loop must keep answering
/health/live, service must come back by itself, and every acknowledged rating must be stored."""

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.conftest import recreate_database
from tests.live_server import Server
from tests.test_faults import AGGREGATES_OFF, Raters, assert_error_shape, query, register_users, wait_until

RATERS = 5
CUT_SECONDS = 4.0
REQUEST_TIMEOUT_SECONDS = 2.5
# Small timeouts keep the test short; REQUEST_TIMEOUT_SECONDS stays above pool wait + statement timeout.
SERVER_ENV = {
    "BCRYPT_ROUNDS": "4",
    "EMBED_ON_START": "false",
    "RATE_LIMITS": "off",
    "DATABASE_POOL_MIN_SIZE": "1",
    "DATABASE_POOL_MAX_SIZE": "4",
    "DATABASE_POOL_TIMEOUT_SECONDS": "1",
    "DATABASE_STATEMENT_TIMEOUT_SECONDS": "1",
    "REQUEST_TIMEOUT_SECONDS": str(REQUEST_TIMEOUT_SECONDS),
}
# Time for the answer to cross the loopback and for a loaded two-core machine to schedule it.
ANSWER_MARGIN_SECONDS = 1.0
RECOVERY_LIMIT_SECONDS = 10.0
LIVE_PROBE_SECONDS = 0.02
SLOWEST_LIVE_PROBE_SECONDS = 0.5


class StallingProxy:
    """A TCP proxy on 127.0.0.1 in front of PostgreSQL, run by an event loop in a thread of its own.
    stall() stops carrying bytes in both directions while every socket stays open (the kernel keeps
    acknowledging what arrives, so neither side's TCP notices anything); flow() carries them again,
    what was held back first."""

    def __init__(self, database_url: str) -> None:
        self._target = conninfo_to_dict(database_url)
        self._loop = asyncio.new_event_loop()
        self._flowing = asyncio.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the proxy did not start"
        user, password = self._target.get("user", ""), self._target.get("password")
        credentials = quote(user) + (f":{quote(password)}" if password else "")
        self.url = f"postgresql://{credentials}@127.0.0.1:{self.port}/{self._target['dbname']}"

    def stall(self) -> None:
        self._loop.call_soon_threadsafe(self._flowing.clear)

    def flow(self) -> None:
        self._loop.call_soon_threadsafe(self._flowing.set)

    def close(self) -> None:
        self.flow()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._flowing.set()
        server = self._loop.run_until_complete(asyncio.start_server(self._forward, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        host, port = self._target.get("host", "localhost"), int(self._target.get("port") or 5432)
        if host.startswith("/"):  # the embedded server listens on a Unix socket only
            return await asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
        return await asyncio.open_connection(host, port)

    async def _forward(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await self._open_upstream()
        await asyncio.gather(
            self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer), return_exceptions=True
        )

    async def _pipe(self, source: asyncio.StreamReader, destination: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                await self._flowing.wait()
                destination.write(data)
                await destination.drain()
        finally:
            destination.close()


@dataclass(frozen=True)
class Probe:
    started: float
    seconds: float
    status: int | None  # None: no answer (a transport error)


class LiveProbe:
    """GET /health/live every LIVE_PROBE_SECONDS from a thread, noting each answer's time."""

    def __init__(self, base_url: str) -> None:
        self.probes: list[Probe] = []
        self._base_url = base_url
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._probe, daemon=True)

    def __enter__(self) -> "LiveProbe":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _probe(self) -> None:
        with httpx.Client(base_url=self._base_url, timeout=5) as http:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    status: int | None = http.get("/health/live").status_code
                except httpx.TransportError:
                    status = None
                self.probes.append(Probe(started, time.monotonic() - started, status))
                time.sleep(LIVE_PROBE_SECONDS)


@pytest.fixture
def cut_database(server_url: str) -> str:
    """An empty database of its own: the server migrates it and loads the demo catalogue."""
    return recreate_database(server_url, "cinelibre_network_cut")


@pytest.fixture
def proxy(cut_database: str) -> Iterator[StallingProxy]:
    proxy = StallingProxy(cut_database)
    yield proxy
    proxy.close()


@pytest.fixture
def server(proxy: StallingProxy, tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path / "data", env=SERVER_ENV | {"DATABASE_URL": proxy.url})
    yield server
    proxy.flow()
    server.interrupt()


def test_ratings_flow_through_a_silent_network_cut_and_every_acknowledged_one_is_kept(
    proxy: StallingProxy, server: Server, cut_database: str
) -> None:
    users = register_users(server.base_url, [f"cut{n}@example.com" for n in range(RATERS)])
    items = [
        (row["item_type"], row["id"])
        for row in query(
            cut_database,
            "SELECT 'movie' AS item_type, id FROM movies UNION ALL SELECT 'book', id FROM books ORDER BY 1, 2",
        )
    ]

    with LiveProbe(server.base_url) as live, Raters(server.base_url, users, items) as raters:
        assert wait_until(lambda: sum(a.status == 201 for a in raters.answers) >= 4 * RATERS, timeout=10)
        proxy.stall()
        stalled = time.monotonic()
        time.sleep(CUT_SECONDS)
        proxy.flow()
        flowing = time.monotonic()
        recovered = wait_until(
            lambda: raters.first(lambda a: a.started >= flowing and a.status == 201), RECOVERY_LIMIT_SECONDS
        )
        assert recovered is not None, "no rating was accepted after the network came back"
        time.sleep(1.0)

    answers = raters.answers
    acknowledged = {(a.user_id, a.item, a.rating) for a in answers if a.status in (200, 201)}
    asked = {(a.user_id, a.item, a.rating) for a in answers}
    refused = [a for a in answers if a.status not in (200, 201)]
    during_cut = [a for a in answers if a.started >= stalled and a.started + a.seconds < flowing]
    after_recovery = [a for a in answers if a.started > recovered.started]
    stored = query(
        cut_database,
        "SELECT user_id, item_type, item_id, rating::float8 AS rating FROM ratings WHERE user_id = ANY(%s)",
        ([user_id for user_id, _ in users],),
    )
    stored_ratings = {(r["user_id"], (r["item_type"], r["item_id"]), r["rating"]) for r in stored}
    live_while_cut = [p for p in live.probes if stalled <= p.started < flowing]
    recovery_seconds = recovered.started + recovered.seconds - flowing
    print(
        f"\nnetwork cut: {len(answers)} requests, {len(acknowledged)} acknowledged, {len(stored)} rows found; "
        f"{len(refused)} answered 503 ({len(during_cut)} asked and answered during the cut); slowest answer "
        f"{max(a.seconds for a in answers):.2f} s; {len(live.probes)} live probes ({len(live_while_cut)} during "
        f"the cut), slowest {max(p.seconds for p in live.probes) * 1000:.0f} ms; first rating accepted "
        f"{recovery_seconds:.2f} s after the network came back"
    )
    assert [(a.status, a.body) for a in refused if a.status != 503] == []
    for answer in refused:
        assert_error_shape(json.loads(answer.body), "service_unavailable")
    assert {a.status for a in during_cut} == {503}
    assert {a.user_id for a in during_cut} == {user_id for user_id, _ in users}
    assert max(a.seconds for a in answers) < REQUEST_TIMEOUT_SECONDS + ANSWER_MARGIN_SECONDS
    assert len(live_while_cut) > CUT_SECONDS / (LIVE_PROBE_SECONDS + SLOWEST_LIVE_PROBE_SECONDS)
    assert {p.status for p in live.probes} == {200}
    assert max(p.seconds for p in live.probes) < SLOWEST_LIVE_PROBE_SECONDS
    assert recovery_seconds < RECOVERY_LIMIT_SECONDS
    assert after_recovery and {a.status for a in after_recovery} == {201}
    # Acknowledged means stored; a request refused while its COMMIT was held up in the network may
    # still have been stored once the bytes arrived, but nothing was stored that was never asked.
    assert acknowledged <= stored_ratings <= asked
    assert len(stored) == len(stored_ratings) >= len(acknowledged) > 4 * RATERS
    assert query(cut_database, AGGREGATES_OFF) == []
