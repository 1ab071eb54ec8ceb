"""Catalogue sync against a fake TMDB and Google Books on 127.0.0.1 (tests/fake_upstream.py).

A sync commits page by page through its own pool, so each test gets a fresh database cloned
from a migrated template rather than the usual rolled-back transaction."""

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from pydantic import SecretStr

from cinelibre.database import migrate
from cinelibre.database.connection import Connection, open_pool
from cinelibre.logs import CHATTY_LIBRARY_LOGGERS, configure_logging
from cinelibre.search import service as search_service
from cinelibre.search.embedder import Embedder
from cinelibre.settings import Settings
from cinelibre.sync import google_books, tmdb
from cinelibre.sync import service as sync_service
from cinelibre.sync.http import ClientOptions
from tests.conftest import database_url_for, recreate_database
from tests.fake_upstream import FakeUpstream, make_books, make_movies

TEMPLATE = "cinelibre_sync_template"
FAST = ClientOptions(requests_per_second=500, concurrency=8, timeout_seconds=1.0, attempts=3, backoff_seconds=0.01)
LANGUAGES = ["hi", "ta"]
QUERIES = ["subject:fiction", "indian literature"]


@pytest.fixture(scope="session")
def sync_template(server_url: str) -> str:
    url = recreate_database(server_url, TEMPLATE)
    migrate.upgrade_to_head(url)
    return TEMPLATE


@pytest.fixture
async def sync_pool(
    server_url: str, sync_template: str, settings: Settings
) -> AsyncIterator[AsyncConnectionPool[Connection]]:
    pool = await open_pool(recreate_database(server_url, "cinelibre_sync", template=sync_template), settings)
    yield pool
    await pool.close()


@pytest.fixture
def upstream() -> FakeUpstream:
    with FakeUpstream(movies=make_movies(60, tuple(LANGUAGES)), books=make_books(50, tuple(QUERIES))) as server:
        yield server


async def rows(pool: AsyncConnectionPool[Connection], query: str, params: tuple = ()) -> list[dict]:
    async with pool.connection() as conn:
        conn.row_factory = dict_row
        return await (await conn.execute(query, params)).fetchall()


async def sync_films(pool, upstream: FakeUpstream, embedder: Embedder | None, *, key: str = "fake-v3-key", **options):
    choices = {"languages": LANGUAGES, "per_language": 30} | options
    async with tmdb.client(upstream.tmdb_base_url, key, FAST) as http:
        return await sync_service.sync_movies(pool, http, sync_service.MovieSyncOptions(**choices), embedder=embedder)


async def sync_volumes(pool, upstream: FakeUpstream, embedder: Embedder | None, **options):
    choices = {"queries": QUERIES, "per_query": 25} | options
    async with google_books.client(upstream.google_books_base_url, None, FAST) as http:
        return await sync_service.sync_books(pool, http, sync_service.BookSyncOptions(**choices), embedder=embedder)


def test_a_read_access_token_goes_as_a_bearer_header_and_a_key_as_a_parameter() -> None:
    assert tmdb.credentials("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl") == (
        {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"},
        {},
    )
    assert tmdb.credentials(" 0123456789abcdef0123456789abcdef ") == (
        {},
        {"api_key": "0123456789abcdef0123456789abcdef"},
    )


async def test_a_full_sync_stores_and_embeds_every_film_and_book(sync_pool, upstream, embedder) -> None:
    films = await sync_films(sync_pool, upstream, embedder)
    books = await sync_volumes(sync_pool, upstream, embedder)

    first = upstream.movies[100001]
    stored = (
        await rows(sync_pool, "SELECT * FROM movies LEFT JOIN movie_embeddings ON movie_id = id WHERE tmdb_id = 100001")
    )[0]
    assert (films.fetched, films.new, films.updated, films.unchanged, films.skipped, films.failed) == (
        60,
        60,
        0,
        0,
        0,
        0,
    )
    assert (books.fetched, books.new, books.skipped, books.failed) == (50, 50, 0, 0)
    assert films.embedded == 60 and books.embedded == 50
    assert (stored["title"], stored["overview"], str(stored["release_date"])) == (
        first["title"],
        first["overview"],
        first["release_date"],
    )
    assert stored["genres"] == [g["name"] for g in first["genres"]]
    assert stored["directors"] == [p["name"] for p in first["credits"]["crew"] if p["job"] == "Director"]
    billed = [p["name"] for p in sorted(first["credits"]["cast"], key=lambda p: p["order"])]
    assert stored["cast_members"] == list(dict.fromkeys(billed))[:8]  # each actor once, in billing order
    assert stored["keywords"] == [k["name"] for k in first["keywords"]["keywords"]]
    assert stored["spoken_languages"] == [language["iso_639_1"] for language in first["spoken_languages"]]
    assert stored["poster_url"] == "https://image.tmdb.org/t/p/w500" + first["poster_path"]
    assert stored["embedding"] is not None
    counts = await rows(
        sync_pool, "SELECT (SELECT count(*) FROM movies) AS films, (SELECT count(*) FROM books) AS books"
    )
    assert counts == [{"films": 60, "books": 50}]
    runs = await rows(sync_pool, "SELECT source, status, counts FROM sync_runs ORDER BY id")
    assert [(r["source"], r["status"], r["counts"]["new"]) for r in runs] == [
        ("tmdb", "finished", 60),
        ("google_books", "finished", 50),
    ]


async def test_an_unchanged_resync_fetches_no_details_and_writes_nothing(sync_pool, upstream, embedder) -> None:
    await sync_films(sync_pool, upstream, embedder)
    await sync_volumes(sync_pool, upstream, embedder)
    before = await rows(
        sync_pool, "SELECT max(updated_at) AS m FROM movies UNION ALL SELECT max(updated_at) FROM books"
    )
    upstream.clear_requests()

    films = await sync_films(sync_pool, upstream, embedder)
    books = await sync_volumes(sync_pool, upstream, embedder)

    assert (films.new, films.updated, films.unchanged, films.embedded) == (0, 0, 60, 0)
    assert (books.new, books.updated, books.unchanged, books.embedded) == (0, 0, 50, 0)
    assert upstream.count("/tmdb/3/movie/") == 0
    assert upstream.count("/tmdb/3/discover/movie") == 4  # two pages for each language
    assert (
        await rows(sync_pool, "SELECT max(updated_at) AS m FROM movies UNION ALL SELECT max(updated_at) FROM books")
        == before
    )


async def test_a_changed_film_is_fetched_updated_and_embedded_again(sync_pool, upstream, embedder) -> None:
    await sync_films(sync_pool, upstream, embedder)
    old = (
        await rows(
            sync_pool, "SELECT embedding FROM movie_embeddings JOIN movies ON id = movie_id WHERE tmdb_id = 100003"
        )
    )[0]["embedding"]
    upstream.movies[100003]["overview"] = "A retired lighthouse keeper teaches a stray dog to read the tides."
    upstream.movies[100005]["popularity"] = 0.5  # standing only: no details fetched, nothing embedded
    upstream.clear_requests()

    films = await sync_films(sync_pool, upstream, embedder)

    changed = (
        await rows(
            sync_pool,
            "SELECT overview, embedding FROM movies JOIN movie_embeddings ON movie_id = id WHERE tmdb_id = 100003",
        )
    )[0]
    assert (films.new, films.updated, films.unchanged, films.embedded) == (0, 2, 58, 1)
    assert [r.path for r in upstream.requests if r.path.startswith("/tmdb/3/movie/")] == ["/tmdb/3/movie/100003"]
    assert changed["overview"] == "A retired lighthouse keeper teaches a stray dog to read the tides."
    assert changed["embedding"].to_numpy().tolist() != old.to_numpy().tolist()
    assert (await rows(sync_pool, "SELECT popularity FROM movies WHERE tmdb_id = 100005")) == [{"popularity": 0.5}]


async def test_429_waits_for_retry_after_and_5xx_and_timeouts_are_retried(sync_pool, upstream) -> None:
    upstream.fail("/tmdb/3/discover/movie", status=429, retry_after=1)
    upstream.fail("/tmdb/3/movie/100002", status=503, times=2)
    upstream.fail("/tmdb/3/movie/100004", status=200, delay=1.5)  # longer than the client's timeout, once
    upstream.fail("/tmdb/3/movie/100006", status=500, times=3)  # every attempt fails

    films = await sync_films(sync_pool, upstream, None)

    discovers = [r.at for r in upstream.requests if r.path == "/tmdb/3/discover/movie"]
    assert discovers[1] - discovers[0] >= 1.0
    assert upstream.count("/tmdb/3/movie/100002") == 3
    assert upstream.count("/tmdb/3/movie/100006") == 3
    assert (films.new, films.failed) == (59, 1)
    assert films.errors == ["TMDB 100006: /movie/100006: HTTP 500"]
    assert await rows(sync_pool, "SELECT tmdb_id FROM movies WHERE tmdb_id IN (100002, 100004, 100006) ORDER BY 1") == [
        {"tmdb_id": 100002},
        {"tmdb_id": 100004},
    ]


async def test_malformed_upstream_data_is_cleaned_or_skipped(sync_pool, upstream) -> None:
    odd = upstream.movies[100001]
    odd |= {
        "overview": "<p>Two <b>brothers</b> &amp; a river.</p><script>alert(1)</script>" + " word" * 3000,
        "runtime": "abc",
        "release_date": "2019-13-45",
        "genres": [{"id": 18}],
        "imdb_id": 12,
        "vote_average": "7.5",
    }
    upstream.movies[100003]["title"] = None
    upstream.movies[100003]["original_title"] = "   "
    upstream.replace_response(
        "/tmdb/3/movie/100005", body=b"<html><body>Bad gateway</body></html>", content_type="text/html"
    )
    upstream.replace_response("/tmdb/3/discover/movie", body=b'{"page": 1, "results": [{"id": "x"}, null, 7]')

    films = await sync_films(sync_pool, upstream, None, languages=["ta", "hi"])  # the broken page is Tamil's first

    stored = (
        await rows(sync_pool, "SELECT * FROM movies LEFT JOIN movie_embeddings ON movie_id = id WHERE tmdb_id = 100001")
    )[0]
    assert stored["overview"].startswith("Two brothers & a river.\nword word")
    assert len(stored["overview"]) <= 5000 and "<" not in stored["overview"]
    assert (stored["runtime_minutes"], stored["release_date"], stored["genres"], stored["imdb_id"]) == (
        None,
        None,
        [],
        None,
    )
    assert stored["vote_average"] == 7.5
    assert films.errors[0].startswith("tmdb:ta page 1: /discover/movie: the answer is not JSON")
    assert "skipped TMDB 100003 has no title" in films.errors
    assert any(e.startswith("TMDB 100005: /movie/100005: the answer is not JSON") for e in films.errors)
    assert (films.skipped, films.failed) == (1, 1)
    # The broken page stopped Tamil's listing (the next run resumes there); Hindi's came in.
    assert await rows(sync_pool, "SELECT original_language, count(*) AS n FROM movies GROUP BY 1") == [
        {"original_language": "hi", "n": 28}
    ]


async def test_a_run_killed_halfway_resumes_after_its_last_finished_page(sync_pool, upstream) -> None:
    pages = 0

    def die_after_two_pages(handled: int) -> None:
        nonlocal pages
        pages += 1
        if pages == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        async with tmdb.client(upstream.tmdb_base_url, "fake-v3-key", FAST) as http:
            await sync_service.sync_movies(
                sync_pool,
                http,
                sync_service.MovieSyncOptions(LANGUAGES, 30),
                embedder=None,
                on_progress=die_after_two_pages,
            )
    interrupted = await rows(sync_pool, "SELECT id, status, counts FROM sync_runs")
    upstream.clear_requests()

    films = await sync_films(sync_pool, upstream, None)

    assert [(r["status"], r["counts"]["new"]) for r in interrupted] == [("running", 30)]
    assert (films.resumed, films.run_id, films.fetched, films.new) == (True, interrupted[0]["id"], 60, 60)
    assert [
        (r.query["with_original_language"], r.query["page"])
        for r in upstream.requests
        if r.path == "/tmdb/3/discover/movie"
    ] == [("ta", "1"), ("ta", "2")]
    assert await rows(sync_pool, "SELECT status FROM sync_runs") == [{"status": "finished"}]


async def test_ratings_survive_a_sync_and_movielens_films_are_enriched(sync_pool, upstream) -> None:
    async with sync_pool.connection() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO movies (title, year, tmdb_id, movielens_id) "
            "VALUES ('Imported from MovieLens', 1999, 100002, 77)"
        )
        await conn.execute("INSERT INTO users (name, imported_from, external_id) VALUES ('fan', 'test', '1')")
        await conn.execute(
            """INSERT INTO ratings (user_id, item_type, item_id, rating)
               SELECT u.id, 'movie', m.id, 4.5 FROM users u, movies m WHERE m.tmdb_id = 100002"""
        )
    upstream.movies[100002]["overview"] = "Enriched from TMDB."

    films = await sync_films(sync_pool, upstream, None)
    upstream.movies[100002]["overview"] = "Changed again upstream."
    await sync_films(sync_pool, upstream, None)

    enriched = await rows(sync_pool, "SELECT title, movielens_id, overview FROM movies WHERE tmdb_id = 100002")
    assert (films.new, films.updated) == (59, 1)
    assert enriched == [
        {"title": upstream.movies[100002]["title"], "movielens_id": 77, "overview": "Changed again upstream."}
    ]
    assert await rows(
        sync_pool, "SELECT r.rating::float8 AS rating FROM ratings r JOIN movies m ON m.id = r.item_id"
    ) == [{"rating": 4.5}]


async def test_books_are_deduplicated_by_volume_id_and_isbn(sync_pool, upstream) -> None:
    volumes = list(upstream.books.values())
    twin = {
        **volumes[1],
        "id": "TwinVolume01",
        "volumeInfo": {**volumes[1]["volumeInfo"], "title": "The same book again"},
    }
    upstream.books[twin["id"]] = twin

    books = await sync_volumes(sync_pool, upstream, None, per_query=40)

    assert (books.fetched, books.new, books.skipped) == (51, 50, 1)
    assert await rows(sync_pool, "SELECT count(*) AS n FROM books WHERE title = 'The same book again'") == [{"n": 0}]


async def test_a_dry_run_writes_nothing(sync_pool, upstream) -> None:
    async with tmdb.client(upstream.tmdb_base_url, upstream.tmdb_read_token, FAST) as http:
        films = await sync_service.sync_movies(
            sync_pool, http, sync_service.MovieSyncOptions(LANGUAGES, 30, limit=25), embedder=None, dry_run=True
        )

    assert (films.fetched, films.new) == (25, 25)
    assert await rows(sync_pool, "SELECT (SELECT count(*) FROM movies) + (SELECT count(*) FROM sync_runs) AS n") == [
        {"n": 0}
    ]
    assert all(r.headers.get("authorization") == f"Bearer {upstream.tmdb_read_token}" for r in upstream.requests)


async def test_two_syncs_of_one_source_never_overlap(sync_pool, upstream) -> None:
    upstream.fail("/tmdb/3/genre/movie/list", status=200, delay=0.5)
    first = asyncio.create_task(sync_films(sync_pool, upstream, None))
    await asyncio.sleep(0.2)

    with pytest.raises(sync_service.SyncBusyError):
        await sync_films(sync_pool, upstream, None)
    assert (await first).new == 60


async def test_the_limiter_never_sends_more_than_the_rate_in_any_second(upstream) -> None:
    options = ClientOptions(requests_per_second=20, concurrency=8, timeout_seconds=1.0, attempts=1, backoff_seconds=0)
    async with tmdb.client(upstream.tmdb_base_url, "fake-v3-key", options) as http:
        await asyncio.gather(*(tmdb.genre_names(http) for _ in range(30)))

    sent = sorted(r.at for r in upstream.requests)
    assert len(sent) == 30
    assert max(sum(1 for t in sent if start <= t < start + 1.0) for start in sent) <= 20


def run_cli(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cinelibre", *arguments], env=env, capture_output=True, text=True, timeout=120
    )


def cli_environment(server_url: str, upstream: FakeUpstream, key: str) -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith(("TMDB_", "GOOGLE_BOOKS_"))} | {
        "DATABASE_URL": database_url_for(server_url, "cinelibre_sync"),
        "TMDB_API_KEY": key,
        "TMDB_API_BASE_URL": upstream.tmdb_base_url,
        "TMDB_LANGUAGES": '["hi"]',
        "TMDB_FILMS_PER_LANGUAGE": "5",
        "GOOGLE_BOOKS_API_BASE_URL": upstream.google_books_base_url,
        "GOOGLE_BOOKS_QUERIES": '["indian literature"]',
        "GOOGLE_BOOKS_PER_QUERY": "4",
        "SYNC_BACKOFF_SECONDS": "0",
    }


async def test_the_sync_command_prints_its_summary_and_status_lists_the_runs(sync_pool, upstream, server_url) -> None:
    env = cli_environment(server_url, upstream, upstream.tmdb_api_key)

    synced = run_cli("sync", env=env)
    status = run_cli("sync", "status", env=env)

    assert synced.returncode == 0, synced.stderr
    summary = [" ".join(line.replace("│", " ").split()) for line in synced.stdout.splitlines()]
    assert any(line.startswith("tmdb 5 5 0 0 0 0 5 ") for line in summary), synced.stdout
    assert any(line.startswith("google_books 4 4 0 0 0 0 4 ") for line in summary), synced.stdout
    listed = [" ".join(line.replace("│", " ").split()) for line in status.stdout.splitlines()]
    assert [line.split()[1:2] + line.split()[4:] for line in listed if "finished" in line] == [
        ["google_books", "finished", "4", "4", "0", "0", "0", "0", "0"],
        ["tmdb", "finished", "5", "5", "0", "0", "0", "0", "0"],
    ]


async def test_the_sync_command_stops_with_a_clear_message_on_a_refused_key(sync_pool, upstream, server_url) -> None:
    refused = run_cli("sync", "movies", env=cli_environment(server_url, upstream, "not-a-key"))

    assert refused.returncode == 1
    assert "Sync stopped: /genre/movie/list: HTTP 401" in " ".join(refused.stderr.split())


async def test_a_film_listed_twice_is_stored_once(sync_pool, upstream) -> None:
    def summary(film: dict) -> dict:
        return {
            key: film[key]
            for key in (
                "id",
                "title",
                "original_title",
                "overview",
                "release_date",
                "poster_path",
                "popularity",
                "vote_average",
                "vote_count",
            )
        } | {"genre_ids": [g["id"] for g in film["genres"]]}

    listed = [summary(upstream.movies[i]) for i in (100001, 100003, 100001)]
    body = {"page": 1, "results": listed, "total_pages": 1, "total_results": 3}
    upstream.replace_response("/tmdb/3/discover/movie", body=json.dumps(body).encode())

    films = await sync_films(sync_pool, upstream, None, languages=["hi"])

    assert (films.fetched, films.new, films.skipped) == (3, 2, 1)
    assert films.errors == ["skipped TMDB 100001: listed twice"]
    assert upstream.count("/tmdb/3/movie/100001") == 1


TMDB_KEY = "tmdb-v3-key-8f3a61c2d94b"
GOOGLE_BOOKS_KEY = "AIzaSy-google-books-key-5e0b7d"


@contextmanager
def service_logging() -> Iterator[io.StringIO]:
    """The service's logging set-up at DEBUG, writing JSON lines into the stream it yields;
    the test run's own logging is put back afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {name: logging.getLogger(name).level for name in CHATTY_LIBRARY_LOGGERS}
    stream = io.StringIO()
    try:
        configure_logging(Settings(_env_file=None, log_level="debug", log_format="json"))
        root.handlers[0].setStream(stream)
        yield stream
    finally:
        root.handlers, root.level = saved[0], saved[1]
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)


async def test_no_upstream_key_reaches_any_log_line(sync_pool, settings) -> None:
    keyed = FakeUpstream(
        movies=make_movies(6, ("hi",)),
        books=make_books(6, ("indian literature",)),
        tmdb_api_key=TMDB_KEY,
        google_books_api_key=GOOGLE_BOOKS_KEY,
    )
    with keyed, service_logging() as log_output:
        # Every record of every logger: httpx and httpcore too, past the WARNING they are set to.
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.DEBUG)
        keyed.fail("/tmdb/3/discover/movie", status=503)  # a retried request logs too
        keyed.fail("/books/v1/volumes", status=503)
        reports = await sync_service.run_sync(
            sync_pool,
            settings.model_copy(
                update={
                    "tmdb_api_key": SecretStr(TMDB_KEY),
                    "tmdb_api_base_url": keyed.tmdb_base_url,
                    "tmdb_languages": ["hi"],
                    "tmdb_films_per_language": 6,
                    "google_books_api_key": SecretStr(GOOGLE_BOOKS_KEY),
                    "google_books_api_base_url": keyed.google_books_base_url,
                    "google_books_queries": ["indian literature"],
                    "google_books_per_query": 6,
                    "sync_backoff_seconds": 0,
                }
            ),
            ["movies", "books"],
            dry_run=True,
        )
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    books_requests = [r for r in keyed.requests if r.path.startswith("/books/v1/")]

    assert [(report.source, report.fetched, report.failed) for report in reports] == [
        ("tmdb", 6, 0),
        ("google_books", 6, 0),
    ]
    assert len(books_requests) == 2
    assert all(r.headers["x-goog-api-key"] == GOOGLE_BOOKS_KEY and "key" not in r.query for r in books_requests)
    assert [line["message"] for line in lines if TMDB_KEY in str(line) or GOOGLE_BOOKS_KEY in str(line)] == []
    # The capture did include the client library's request lines, with the TMDB key (which v3
    # sends in the URL) redacted.
    httpx_lines = [line["message"] for line in lines if line["logger"] == "httpx"]
    assert any("api_key=[redacted]" in message and "/discover/movie" in message for message in httpx_lines)
    assert any("/books/v1/volumes?" in message for message in httpx_lines)


def test_client_libraries_log_only_their_warnings() -> None:
    with service_logging():
        levels = {name: logging.getLogger(name).getEffectiveLevel() for name in ("httpx", "httpcore", "cinelibre")}

    assert levels == {"httpx": logging.WARNING, "httpcore": logging.WARNING, "cinelibre": logging.DEBUG}


async def add_sparse_films(pool: AsyncConnectionPool[Connection]) -> None:
    """Films as a MovieLens import leaves them: a TMDB id, a title, a year, genres and no overview;
    beside them a film with an overview and a poster, which enrichment leaves alone."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO movies (title, year, genres, tmdb_id, movielens_id, overview, poster_url) VALUES
               ('Imported from MovieLens', 1999, '{Drama}', 100002, 77, NULL, NULL),
               ('Described already', 2001, '{}', 100003, 78, 'Our own overview.', 'https://example.org/own.jpg'),
               ('Gone from TMDB', 2002, '{}', 999999, 79, NULL, NULL),
               ('No TMDB id', 2003, '{}', NULL, 80, NULL, NULL)"""
        )


async def enrich_films(pool, upstream: FakeUpstream, embedder: Embedder | None):
    async with tmdb.client(upstream.tmdb_base_url, "fake-v3-key", FAST) as http:
        return await sync_service.enrich_movies(pool, http, embedder=embedder)


async def test_enrichment_fills_only_what_films_without_an_overview_lack_and_embeds_them_again(
    sync_pool, upstream, embedder
) -> None:
    await add_sparse_films(sync_pool)
    await search_service.embed_pending(sync_pool, embedder)
    details = upstream.movies[100002]

    report = await enrich_films(sync_pool, upstream, embedder)
    again = await enrich_films(sync_pool, upstream, embedder)

    assert (report.fetched, report.updated, report.unchanged, report.skipped, report.failed) == (2, 1, 0, 1, 0)
    assert report.errors == ["skipped TMDB 999999: TMDB no longer has this film"]
    assert report.embedded == 1
    assert (again.fetched, again.requests, again.embedded) == (0, 0, 0)
    assert sorted(r.path for r in upstream.requests if r.path.startswith("/tmdb/3/movie/")) == [
        "/tmdb/3/movie/100002",
        "/tmdb/3/movie/999999",
    ]
    enriched = (await rows(sync_pool, "SELECT * FROM movies WHERE tmdb_id = 100002"))[0]
    # What the film had stays (title, year, genres); what it lacked comes from TMDB.
    assert (enriched["title"], enriched["year"], enriched["genres"]) == ("Imported from MovieLens", 1999, ["Drama"])
    assert (enriched["overview"], enriched["original_title"], enriched["original_language"], enriched["imdb_id"]) == (
        details["overview"],
        details["original_title"],
        details["original_language"],
        details["imdb_id"],
    )
    assert enriched["directors"] == [p["name"] for p in details["credits"]["crew"] if p["job"] == "Director"]
    billed = [p["name"] for p in sorted(details["credits"]["cast"], key=lambda p: p["order"])]
    assert enriched["cast_members"] == list(dict.fromkeys(billed))[:8]
    assert details["overview"] in enriched["document"]
    assert await rows(
        sync_pool,
        """SELECT m.title FROM movies m JOIN movie_embeddings v ON v.movie_id = m.id
           WHERE v.content_hash = md5(m.document) ORDER BY m.title""",
    ) == [{"title": t} for t in ("Described already", "Gone from TMDB", "Imported from MovieLens", "No TMDB id")]
    untouched = await rows(sync_pool, "SELECT overview FROM movies WHERE tmdb_id = 100003")
    assert untouched == [{"overview": "Our own overview."}]


async def test_enrichment_gives_a_described_film_without_a_poster_its_poster_and_keeps_its_overview(
    sync_pool, upstream
) -> None:
    # A catalogue film that a MovieLens link gave a TMDB id: described, but with no poster.
    async with sync_pool.connection() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO movies (title, year, genres, tmdb_id, overview)
               VALUES ('Linked from MovieLens', 2001, '{}', 100003, 'Our own overview.')"""
        )

    report = await enrich_films(sync_pool, upstream, None)

    assert (report.fetched, report.updated, report.skipped, report.failed) == (1, 1, 0, 0)
    assert await rows(sync_pool, "SELECT title, overview, poster_url FROM movies WHERE tmdb_id = 100003") == [
        {
            "title": "Linked from MovieLens",
            "overview": "Our own overview.",
            "poster_url": f"https://image.tmdb.org/t/p/w500{upstream.movies[100003]['poster_path']}",
        }
    ]


async def test_a_film_enrichment_could_not_reach_is_asked_about_again_next_run(sync_pool, upstream) -> None:
    await add_sparse_films(sync_pool)
    upstream.fail("/tmdb/3/movie/100002", status=500, times=3)  # every attempt of the first run

    first = await enrich_films(sync_pool, upstream, None)
    second = await enrich_films(sync_pool, upstream, None)

    assert (first.fetched, first.updated, first.skipped, first.failed) == (2, 0, 1, 1)
    assert sorted(first.errors) == [
        "TMDB 100002: /movie/100002: HTTP 500",
        "skipped TMDB 999999: TMDB no longer has this film",
    ]
    assert (second.fetched, second.updated, second.skipped, second.failed) == (1, 1, 0, 0)
    assert await rows(sync_pool, "SELECT overview FROM movies WHERE tmdb_id = 100002") == [
        {"overview": upstream.movies[100002]["overview"]}
    ]


async def test_the_enrich_command_fills_in_films_and_prints_its_summary(sync_pool, upstream, server_url) -> None:
    await add_sparse_films(sync_pool)

    enriched = run_cli("sync", "movies", "--enrich", env=cli_environment(server_url, upstream, upstream.tmdb_api_key))

    assert enriched.returncode == 0, enriched.stderr
    summary = [" ".join(line.replace("│", " ").split()) for line in enriched.stdout.splitlines()]
    assert any(line.startswith("tmdb 2 0 1 0 1 0 4 3 ") for line in summary), enriched.stdout
    assert await rows(sync_pool, "SELECT overview FROM movies WHERE tmdb_id = 100002") == [
        {"overview": upstream.movies[100002]["overview"]}
    ]
