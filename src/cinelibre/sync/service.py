"""Keeping the catalogue fresh from TMDB and Google Books.

A run walks listings (a language's TMDB discover results, a Google Books query) page by page.
Each page's items are written, with the listing's checkpoint and the run's counts, in one
transaction: a run killed halfway and started again resumes after the last finished page. Only
what changed is written, and only changed documents are embedded, so an unchanged re-sync is
cheap; on TMDB a film's details are fetched again only when its list entry changed.
"""

import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

import anyio
import psycopg
from psycopg_pool import AsyncConnectionPool

from cinelibre.database.connection import Connection
from cinelibre.search import service as search_service
from cinelibre.search.embedder import Embedder
from cinelibre.settings import Settings
from cinelibre.sync import cleaning, google_books, repository, tmdb
from cinelibre.sync.http import ClientOptions, PoliteClient, UpstreamError, UpstreamNotFound
from cinelibre.sync.schemas import SourceReport, SyncedBook, SyncedMovie

logger = logging.getLogger(__name__)

Progress = Callable[[int], None]  # items handled since the last call
# Starts a progress display with a description and a total; returns what advances it.
StartProgress = Callable[[str, int], Progress]
Writer = Callable[[Connection], Awaitable[Counter[str]]]  # writes a page's items, returns their outcomes


class SyncBusyError(RuntimeError):
    pass


# TMDB keywords saying a film adapts a book (its title is then looked for among the books).
BOOK_KEYWORDS = frozenset(
    {"based on novel or book", "based on short story", "based on young adult novel", "based on children's book"}
)


@dataclass(frozen=True)
class MovieSyncOptions:
    languages: list[str]
    per_language: int
    limit: int | None = None  # at most this many films in all
    full: bool = False  # fetch every film's details, changed or not


@dataclass(frozen=True)
class BookSyncOptions:
    queries: list[str]
    per_query: int
    language: str | None = None
    limit: int | None = None


class _Run:
    """Bookkeeping shared by both sources: the run row, its checkpoints and the report."""

    def __init__(self, pool: AsyncConnectionPool[Connection], source: str, dry_run: bool) -> None:
        self.pool, self.source, self.dry_run = pool, source, dry_run
        self.started = time.perf_counter()
        self.report = SourceReport(source)
        self.done: dict[str, tuple[int, bool]] = {}
        self.seen: set[Any] = set()

    async def open(self, options: dict[str, Any]) -> None:
        if self.dry_run:
            return
        async with self.pool.connection() as conn, conn.transaction():
            previous = await repository.unfinished_run(conn, self.source)
            if previous is not None and previous["options"] == options:
                self.report.run_id, self.report.resumed = previous["id"], True
                self.report.add_counts(previous["counts"])
                self.done = await repository.checkpoints(conn, previous["id"])
                logger.info("%s: resuming run %s after %s", self.source, previous["id"], self.done)
            else:
                if previous is not None:  # asked for something else: that run is abandoned
                    await repository.finish_run(conn, previous["id"], previous["counts"])
                self.report.run_id = await repository.start_run(conn, self.source, options)

    def fail(self, reason: str, *, count: bool = True) -> None:
        logger.warning("%s: %s", self.source, reason)
        self.report.errors.append(reason)
        if count:
            self.report.failed += 1

    def skip(self, reason: str) -> None:
        logger.info("%s: skipped %s", self.source, reason)
        self.report.errors.append(f"skipped {reason}")
        self.report.skipped += 1

    async def walk(
        self,
        listing: str,
        *,
        page_size: int,
        wanted: int,
        budget: float,
        fetch_page: Callable[[int], Awaitable[tuple[list[dict[str, Any]], int]]],
        prepare: Callable[[list[dict[str, Any]]], Awaitable[Writer]],
        on_progress: Progress,
    ) -> None:
        """One listing, page by page from its checkpoint: fetch a page (1-based), keep what the
        listing's target and the run's limit leave room for, prepare its writes and write them
        with the checkpoint."""
        pages_done, finished = self.done.get(listing, (0, False))
        wanted_pages = math.ceil(wanted / page_size)
        page_number = pages_done + 1
        while not finished and page_number <= wanted_pages and self.report.fetched < budget:
            try:
                entries, total_pages = await fetch_page(page_number)
            except UpstreamError as error:
                # This listing stops here; the next run resumes at this page.
                self.fail(f"{listing} page {page_number}: {error}", count=False)
                return
            room = min(budget - self.report.fetched, wanted - (page_number - 1) * page_size)
            entries = entries[: int(room)]
            self.report.fetched += len(entries)
            finished = page_number >= min(wanted_pages, total_pages) or not entries
            await self.write_page(listing, page_number, finished, await prepare(entries))
            on_progress(len(entries))
            page_number += 1

    async def write_page(self, listing: str, page_number: int, finished: bool, write: Writer) -> None:
        """Write a page's items and its checkpoint in one transaction (rolled back in a dry run)."""
        errors_before = len(self.report.errors)
        async with self.pool.connection() as conn, conn.transaction(force_rollback=self.dry_run):
            outcomes = await write(conn)
            self.report.add_counts(outcomes)
            logger.info(
                "%s page %s: %s new, %s updated, %s unchanged%s",
                listing,
                page_number,
                outcomes["new"],
                outcomes["updated"],
                outcomes["unchanged"],
                " (dry run)" if self.dry_run else "",
            )
            if self.report.run_id is not None:
                await repository.save_progress(
                    conn,
                    self.report.run_id,
                    listing=listing,
                    pages_done=page_number,
                    finished=finished,
                    counts=self.report.counts(),
                    errors=self.report.errors[errors_before:],
                )

    async def close(self, embedder: Embedder | None, http: PoliteClient) -> SourceReport:
        if not self.dry_run and embedder is not None:
            self.report.embedded = (await search_service.embed_pending(self.pool, embedder)).embedded
        if self.report.run_id is not None:
            async with self.pool.connection() as conn, conn.transaction():
                await repository.finish_run(conn, self.report.run_id, self.report.counts())
        self.report.requests = len(http.sent_at)
        self.report.seconds = time.perf_counter() - self.started
        return self.report


async def _locked(
    pool: AsyncConnectionPool[Connection], source: str, work: Callable[[], Awaitable[SourceReport]]
) -> SourceReport:
    # The lock lives on its own connection for the whole run, so two syncs of a source never overlap.
    async with pool.connection() as lock_conn:
        await lock_conn.set_autocommit(True)
        if not await repository.try_sync_lock(lock_conn, source):
            raise SyncBusyError(f"another {source} sync is running")
        try:
            return await work()
        finally:
            await repository.release_sync_lock(lock_conn, source)
            await lock_conn.set_autocommit(False)


async def sync_movies(
    pool: AsyncConnectionPool[Connection],
    http: PoliteClient,
    options: MovieSyncOptions,
    *,
    embedder: Embedder | None,
    dry_run: bool = False,
    on_progress: Progress = lambda handled: None,
) -> SourceReport:
    """Fetch each language's most popular films from TMDB and bring the catalogue up to date."""
    return await _locked(pool, "tmdb", lambda: _sync_movies(pool, http, options, embedder, dry_run, on_progress))


async def _sync_movies(
    pool: AsyncConnectionPool[Connection],
    http: PoliteClient,
    options: MovieSyncOptions,
    embedder: Embedder | None,
    dry_run: bool,
    on_progress: Progress,
) -> SourceReport:
    run = _Run(pool, "tmdb", dry_run)
    await run.open(asdict(options))
    genres = await tmdb.genre_names(http)
    budget = options.limit if options.limit is not None else math.inf

    async def prepare(entries: list[dict[str, Any]]) -> Writer:
        movies, standing = await _movies_of_page(pool, http, run, entries, genres, options.full)
        return partial(_write_movies, run=run, movies=movies, standing=standing)

    for language in options.languages:
        await run.walk(
            f"tmdb:{language}",
            page_size=tmdb.PAGE_SIZE,
            wanted=options.per_language,
            budget=budget,
            fetch_page=partial(tmdb.discover, http, language),
            prepare=prepare,
            on_progress=on_progress,
        )
    return await run.close(embedder, http)


async def _write_movies(conn: Connection, *, run: _Run, movies: list[SyncedMovie], standing: list[Any]) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    for movie in movies:
        try:
            async with conn.transaction():
                outcomes[await repository.upsert_movie(conn, movie)] += 1
                await _link_adapted_books(conn, movie)
        except psycopg.errors.UniqueViolation:
            run.skip(f"TMDB {movie.tmdb_id}: its IMDb id {movie.imdb_id} belongs to another film")
    moved = await repository.update_movie_standing(conn, standing)
    outcomes["updated"] += moved
    outcomes["unchanged"] += len(standing) - moved
    return outcomes


async def _link_adapted_books(conn: Connection, movie: SyncedMovie) -> None:
    """Link a film whose details were just written to the catalogue's books it adapts, when TMDB
    credits a book's author or tags it as based on a book."""
    by_keyword = not BOOK_KEYWORDS.isdisjoint(movie.keywords)
    if movie.source_authors or by_keyword:
        linked = await repository.link_adapted_books(
            conn, movie.tmdb_id, authors=movie.source_authors, by_keyword=by_keyword
        )
        if linked:
            logger.info("TMDB %s: linked to %s book(s) it adapts", movie.tmdb_id, linked)


async def _write_books(conn: Connection, *, run: _Run, books: list[SyncedBook]) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    for book in books:
        try:
            async with conn.transaction():
                outcomes[await repository.upsert_book(conn, book)] += 1
        except psycopg.errors.UniqueViolation:
            run.skip(f"volume {book.google_books_id}: ISBN {book.isbn13} is another volume's")
    return outcomes


async def _movies_of_page(
    pool: AsyncConnectionPool[Connection],
    http: PoliteClient,
    run: _Run,
    entries: list[dict[str, Any]],
    genres: dict[int, str],
    full: bool,
) -> tuple[list[SyncedMovie], list[tuple[int, float | None, float | None, int | None]]]:
    """The page's films whose details must be fetched (new or changed), fetched and cleaned; and
    for the others, the popularity and votes the list gives."""
    fresh: list[tuple[int, str]] = []
    for entry in entries:
        tmdb_id = cleaning.integer(entry.get("id"), low=1, high=2**31 - 1)
        if tmdb_id is None:
            run.skip(f"a list entry without a usable id ({entry.get('id')!r})")
        elif tmdb_id in run.seen:
            run.skip(f"TMDB {tmdb_id}: listed twice")
        else:
            run.seen.add(tmdb_id)
            fresh.append((tmdb_id, cleaning.fingerprint(entry)))
    async with pool.connection() as conn:
        stored = await repository.list_fingerprints(conn, [tmdb_id for tmdb_id, _ in fresh])
    to_fetch = [(i, f) for i, f in fresh if full or stored.get(i, "") != f]
    by_id = {cleaning.integer(e.get("id"), low=1, high=2**31 - 1): e for e in entries}
    standing = [
        (
            i,
            cleaning.number(by_id[i].get("popularity"), low=0, high=1e9),
            cleaning.number(by_id[i].get("vote_average"), low=0, high=10),
            cleaning.integer(by_id[i].get("vote_count"), low=0, high=2**31 - 1),
        )
        for i, f in fresh
        if (i, f) not in to_fetch
    ]
    movies: list[SyncedMovie] = []

    async def fetch(tmdb_id: int, list_fingerprint: str) -> None:
        try:
            movies.append(cleaning.movie_from_tmdb(await tmdb.details(http, tmdb_id), genres, list_fingerprint))
        except cleaning.SkipItem as reason:
            run.skip(str(reason))
        except UpstreamError as error:
            run.fail(f"TMDB {tmdb_id}: {error}")

    async with anyio.create_task_group() as group:
        for tmdb_id, list_fingerprint in to_fetch:
            group.start_soon(fetch, tmdb_id, list_fingerprint)
    movies.sort(key=lambda movie: movie.tmdb_id)  # a stable write order whatever the fetch order
    return movies, standing


# Films whose details are fetched together and written in one transaction.
ENRICH_BATCH = 20


async def enrich_movies(
    pool: AsyncConnectionPool[Connection],
    http: PoliteClient,
    *,
    embedder: Embedder | None,
    limit: int | None = None,
    dry_run: bool = False,
    start_progress: StartProgress = lambda description, total: lambda handled: None,
) -> SourceReport:
    """Fill in the films that have a TMDB id and no overview (MovieLens films, say) from their TMDB
    details: overview, genres, people, original title, language and the rest, each only where the
    film has nothing; then embed them again. A film is asked about once: when TMDB answered (or
    no longer has it), the next run leaves it alone; one that failed is asked again next run."""
    return await _locked(pool, "tmdb", lambda: _enrich_movies(pool, http, embedder, limit, dry_run, start_progress))


async def _enrich_movies(
    pool: AsyncConnectionPool[Connection],
    http: PoliteClient,
    embedder: Embedder | None,
    limit: int | None,
    dry_run: bool,
    start_progress: StartProgress,
) -> SourceReport:
    run = _Run(pool, "tmdb", dry_run)
    await run.open({"enrich": True, "limit": limit})
    async with pool.connection() as conn:
        films = await repository.films_to_enrich(conn, limit)
    advance = start_progress("TMDB details of films without an overview", len(films))
    genres = await tmdb.genre_names(http) if films else {}
    for start in range(0, len(films), ENRICH_BATCH):
        batch = films[start : start + ENRICH_BATCH]
        answered, details = await _details_of(http, run, batch, genres)
        run.report.fetched += len(batch)
        await run.write_page(
            "tmdb:enrich", start // ENRICH_BATCH + 1, False, partial(_fill_movies, answered=answered, details=details)
        )
        advance(len(batch))
    return await run.close(embedder, http)


async def _details_of(
    http: PoliteClient, run: _Run, films: list[dict[str, Any]], genres: dict[int, str]
) -> tuple[list[int], dict[int, SyncedMovie]]:
    """TMDB's details of each film, cleaned: the ids of the films TMDB answered about (with usable
    details, unusable ones or "not found"), and the usable details by film id."""
    answered: list[int] = []
    details: dict[int, SyncedMovie] = {}

    async def fetch(film: dict[str, Any]) -> None:
        tmdb_id = film["tmdb_id"]
        try:
            details[film["id"]] = cleaning.movie_from_tmdb(await tmdb.details(http, tmdb_id), genres, "")
        except cleaning.SkipItem as reason:
            run.skip(str(reason))
        except UpstreamNotFound:
            run.skip(f"TMDB {tmdb_id}: TMDB no longer has this film")
        except UpstreamError as error:
            run.fail(f"TMDB {tmdb_id}: {error}")
            return
        answered.append(film["id"])

    async with anyio.create_task_group() as group:
        for film in films:
            group.start_soon(fetch, film)
    return sorted(answered), details


async def _fill_movies(conn: Connection, *, answered: list[int], details: dict[int, SyncedMovie]) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    for movie_id in sorted(details):
        filled = await repository.fill_movie_details(conn, movie_id, details[movie_id])
        outcomes["updated" if filled else "unchanged"] += 1
        await _link_adapted_books(conn, details[movie_id])
    await repository.mark_enriched(conn, answered)
    return outcomes


async def sync_books(
    pool: AsyncConnectionPool[Connection],
    http: PoliteClient,
    options: BookSyncOptions,
    *,
    embedder: Embedder | None,
    dry_run: bool = False,
    on_progress: Progress = lambda handled: None,
) -> SourceReport:
    """Search Google Books for each configured query and bring the catalogue up to date."""
    return await _locked(pool, "google_books", lambda: _sync_books(pool, http, options, embedder, dry_run, on_progress))


async def _sync_books(
    pool: AsyncConnectionPool[Connection],
    http: PoliteClient,
    options: BookSyncOptions,
    embedder: Embedder | None,
    dry_run: bool,
    on_progress: Progress,
) -> SourceReport:
    run = _Run(pool, "google_books", dry_run)
    await run.open(asdict(options))
    budget = options.limit if options.limit is not None else math.inf

    async def prepare(volumes: list[dict[str, Any]]) -> Writer:
        return partial(_write_books, run=run, books=_books_of_page(run, volumes))

    for query in options.queries:

        async def fetch_page(page_number: int, query: str = query) -> tuple[list[dict[str, Any]], int]:
            # 1-based in checkpoints; the API's startIndex is 0-based
            return await google_books.search(http, query, page_number - 1, language=options.language)

        await run.walk(
            f"google_books:{query}",
            page_size=google_books.PAGE_SIZE,
            wanted=options.per_query,
            budget=budget,
            fetch_page=fetch_page,
            prepare=prepare,
            on_progress=on_progress,
        )
    return await run.close(embedder, http)


def _books_of_page(run: _Run, volumes: list[dict[str, Any]]) -> list[SyncedBook]:
    """Clean the page's volumes, leaving out those seen already in this run (same id or ISBN)."""
    books = []
    for volume in volumes:
        try:
            book = cleaning.book_from_volume(volume)
        except cleaning.SkipItem as reason:
            run.skip(str(reason))
            continue
        keys = {("id", book.google_books_id)} | ({("isbn", book.isbn13)} if book.isbn13 else set())
        if keys & run.seen:
            run.skip(f"volume {book.google_books_id}: listed twice (same id or ISBN)")
            continue
        run.seen |= keys
        books.append(book)
    return books


def client_options(settings: Settings) -> ClientOptions:
    return ClientOptions(
        requests_per_second=settings.sync_requests_per_second,
        concurrency=settings.sync_concurrency,
        timeout_seconds=settings.sync_timeout_seconds,
        attempts=settings.sync_attempts,
        backoff_seconds=settings.sync_backoff_seconds,
    )


async def run_sync(
    pool: AsyncConnectionPool[Connection],
    settings: Settings,
    sources: Collection[str],
    *,
    limit: int | None = None,
    languages: list[str] | None = None,
    dry_run: bool = False,
    full: bool = False,
    enrich: bool = False,
    start_progress: StartProgress = lambda description, total: lambda handled: None,
    on_source_skipped: Callable[[str], None] = logger.warning,
) -> list[SourceReport]:
    """Sync films from TMDB ("movies" in `sources`) and books from Google Books ("books") with the
    clients and options the settings describe; `languages` overrides TMDB_LANGUAGES. With
    `enrich`, films are not discovered: those in the catalogue without an overview are filled in
    (enrich_movies). Films are skipped, with a message, while TMDB_API_KEY is not set."""
    embedder = None if dry_run else Embedder(settings)
    reports = []
    if "movies" in sources and settings.tmdb_api_key is None:
        on_source_skipped("TMDB_API_KEY is not set: films are not synced.")
    elif "movies" in sources and enrich:
        key = settings.tmdb_api_key.get_secret_value()
        async with tmdb.client(settings.tmdb_api_base_url, key, client_options(settings)) as http:
            reports.append(
                await enrich_movies(
                    pool, http, embedder=embedder, limit=limit, dry_run=dry_run, start_progress=start_progress
                )
            )
    elif "movies" in sources:
        movie_options = MovieSyncOptions(
            languages or settings.tmdb_languages, settings.tmdb_films_per_language, limit, full
        )
        advance = start_progress(
            "TMDB films", _at_most(limit, len(movie_options.languages) * movie_options.per_language)
        )
        key = settings.tmdb_api_key.get_secret_value()
        async with tmdb.client(settings.tmdb_api_base_url, key, client_options(settings)) as http:
            reports.append(
                await sync_movies(pool, http, movie_options, embedder=embedder, dry_run=dry_run, on_progress=advance)
            )
    if "books" in sources:
        book_options = BookSyncOptions(
            settings.google_books_queries, settings.google_books_per_query, settings.google_books_language, limit
        )
        advance = start_progress("Google Books", _at_most(limit, len(book_options.queries) * book_options.per_query))
        key = settings.google_books_api_key.get_secret_value() if settings.google_books_api_key else None
        async with google_books.client(settings.google_books_api_base_url, key, client_options(settings)) as http:
            reports.append(
                await sync_books(pool, http, book_options, embedder=embedder, dry_run=dry_run, on_progress=advance)
            )
    return reports


def _at_most(limit: int | None, total: int) -> int:
    return total if limit is None else min(limit, total)


async def recent_runs(conn: Connection, limit: int = 10) -> list[dict[str, Any]]:
    return await repository.recent_runs(conn, limit)
