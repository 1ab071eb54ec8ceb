"""The `cinelibre` command."""

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import psycopg
import typer
import uvicorn
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from cinelibre.catalog import service as catalog_service
from cinelibre.catalog.service import UpsertOutcome
from cinelibre.database import migrate
from cinelibre.database.connection import connection_kwargs, open_pool
from cinelibre.database.embedded import open_database
from cinelibre.errors import InvalidInputError, NotFoundError
from cinelibre.logs import configure_logging
from cinelibre.movielens import reader as movielens_reader
from cinelibre.movielens import service as movielens_service
from cinelibre.search import service as search_service
from cinelibre.search.embedder import Embedder
from cinelibre.settings import ConfigurationError, Settings, get_settings

if TYPE_CHECKING:
    from cinelibre.recommend.evaluation import Scores
    from cinelibre.recommend.training import TrainedModel
    from cinelibre.sync.http import ClientOptions
    from cinelibre.sync.schemas import SourceReport

app = typer.Typer(help="CineLibre: ratings, search and recommendations for movies and books.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
import_app = typer.Typer(help="Bring data into the catalogue.", no_args_is_help=True)
users_app = typer.Typer(help="Accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(users_app, name="users")
console = Console(stderr=True)


def _settings() -> Settings:
    try:
        settings = get_settings()
        settings.check_database_configuration()
        return settings
    except ConfigurationError as error:
        console.print(f"[red]Configuration error:[/red] {error}")
        raise typer.Exit(2) from error


def _progress(*columns: ProgressColumn) -> Progress:
    """A progress bar on a terminal; on anything else (CI, a log file) it stays silent."""
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        *columns,
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: PORT or 8000).")] = None,
    demo: Annotated[bool, typer.Option(help="Load the demo catalogue into an empty database.")] = True,
) -> None:
    """Run the API (with the embedded database unless DATABASE_URL is set). Ctrl-C stops both."""
    from cinelibre.app import create_app

    settings = _settings()
    if not demo:
        settings = settings.model_copy(update={"load_demo_catalogue": False})
    uvicorn.run(
        create_app(settings),  # which sets up logging
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


@db_app.command("url")
def db_url() -> None:
    """Print the connection string (for psql and other tools)."""
    settings = _settings()
    with open_database(settings.database_url, settings.data_dir) as database:
        typer.echo(database.url)
        if database.is_embedded:
            console.print("The embedded database accepts connections while `cinelibre serve` is running.")


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending migrations (`cinelibre serve` also does this on start)."""
    settings = _settings()
    with open_database(settings.database_url, settings.data_dir) as database:
        migrate.upgrade_to_head(database.url)
        console.print(f"Database schema at revision {migrate.current_revision(database.url)}.")


@db_app.command("schema")
def db_schema() -> None:
    """Print the whole schema as one SQL script (what database_schema.sql holds)."""
    typer.echo(migrate.schema_sql(), nl=False)


async def _set_admin(database_url: str, settings: Settings, email: str, is_admin: bool) -> None:
    from cinelibre.auth import service as auth_service

    kwargs = connection_kwargs(settings)
    async with await psycopg.AsyncConnection.connect(database_url, **kwargs) as conn, conn.transaction():
        await auth_service.set_admin(conn, email=email, is_admin=is_admin)


def _change_admin(email: str, is_admin: bool) -> None:
    settings = _settings()
    with open_database(settings.database_url, settings.data_dir) as database:
        migrate.upgrade_to_head(database.url)
        try:
            asyncio.run(_set_admin(database.url, settings, email, is_admin))
        except NotFoundError as error:
            console.print(f"[red]{error.message}[/red]")
            raise typer.Exit(1) from error


@users_app.command("grant-admin")
def grant_admin(email: Annotated[str, typer.Argument(help="The account's email (any case).")]) -> None:
    """Let an account use the /admin operations (retrain, syncs). Takes effect on its next request."""
    _change_admin(email, True)
    console.print(f"{email} is now an administrator.")


@users_app.command("revoke-admin")
def revoke_admin(email: Annotated[str, typer.Argument(help="The account's email (any case).")]) -> None:
    """Take the /admin operations away from an account. Takes effect on its next request."""
    _change_admin(email, False)
    console.print(f"{email} is no longer an administrator.")


async def _import_movielens(database_url: str, settings: Settings, path: Path, with_ratings: bool) -> None:
    dataset = movielens_reader.open_dataset(path)
    total = dataset.ratings_file.stat().st_size if with_ratings else 0
    kwargs = connection_kwargs(settings)
    async with await psycopg.AsyncConnection.connect(database_url, **kwargs) as conn:
        with _progress(DownloadColumn(), TransferSpeedColumn()) as progress:
            task = progress.add_task(f"Loading {dataset.name} ratings", total=total)
            async with conn.transaction():
                report = await movielens_service.import_dataset(
                    conn,
                    dataset,
                    with_ratings=with_ratings,
                    on_progress=lambda advanced: progress.advance(task, advanced),
                )
    console.print(
        f"Imported {report.dataset}: {report.movies_read} films read, {report.movies_added} added, "
        f"{report.movies_linked} linked to films already here; {report.users_added} users added; "
        f"{report.ratings_written} ratings written."
    )


async def _embed(database_url: str, settings: Settings, everything: bool) -> int:
    embedder = Embedder(settings)
    pool = await open_pool(database_url, settings)
    try:
        if everything:
            async with pool.connection() as conn, conn.transaction():
                await search_service.mark_all_for_embedding(conn)
        async with pool.connection() as conn:
            status = await search_service.embedding_status(conn, model=embedder.model_name)
        pending = status.missing + status.outdated + status.other_model
        with _progress() as progress:
            task = progress.add_task(f"Embedding with {embedder.model_name}", total=pending)
            run = await search_service.embed_pending(
                pool, embedder, on_progress=lambda done: progress.advance(task, done)
            )
        return run.embedded
    finally:
        await pool.close()


@app.command()
def embed(
    everything: Annotated[bool, typer.Option("--all", help="Embed every item again, not only what changed.")] = False,
) -> None:
    """Embed the catalogue with the configured EMBEDDING_MODEL (what is new or changed, or --all)."""
    settings = _settings()
    with open_database(settings.database_url, settings.data_dir) as database:
        migrate.upgrade_to_head(database.url)
        embedded = asyncio.run(_embed(database.url, settings, everything))
    console.print(f"Embedded {embedded} items with {settings.embedding_model}.")


async def _import_catalogue(database_url: str, settings: Settings, path: Path) -> None:
    kwargs = connection_kwargs(settings)
    async with await psycopg.AsyncConnection.connect(database_url, **kwargs) as conn, conn.transaction():
        with path.open(encoding="utf-8") as file:
            report = await catalog_service.import_catalogue(conn, file)
    for number, reason in report.bad_lines:
        console.print(f"[yellow]line {number} skipped:[/yellow] {reason}")
    counts = report.counts
    console.print(
        f"Catalogue {path.name}: {counts[UpsertOutcome.INSERTED]} added, {counts[UpsertOutcome.UPDATED]} updated, "
        f"{counts[UpsertOutcome.UNCHANGED]} unchanged, {len(report.bad_lines)} bad lines skipped."
    )


@import_app.command("catalogue")
def import_catalogue(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A JSONL file, one item per line.")],
) -> None:
    """Add or update movies and books from a JSONL file (see the README for the fields); new or changed
    items are embedded. Idempotent: items are matched by external id, else by title and year."""
    settings = _settings()
    with open_database(settings.database_url, settings.data_dir) as database:
        migrate.upgrade_to_head(database.url)
        asyncio.run(_import_catalogue(database.url, settings, path))
        embedded = asyncio.run(_embed(database.url, settings, everything=False))
    console.print(f"Embedded {embedded} new or changed items.")


EVALUATION_METRICS = ("RMSE", "MAE", "NDCG@10", "P@10", "R@10", "coverage", "ILS", "fit s")


def _write_chart(results: dict[str, "Scores"], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (rating_axis, ranking_axis) = pyplot.subplots(1, 2, figsize=(12, 4.5))
    rated = {name: s.mean("RMSE") for name, s in results.items() if s.mean("RMSE") is not None}
    ranked = {name: s.mean("NDCG@10") for name, s in results.items() if s.mean("NDCG@10") is not None}
    rating_axis.barh(list(rated), list(rated.values()), color="#4c72b0")
    rating_axis.set_title("Rating prediction: RMSE (lower is better)")
    rating_axis.set_xlim(0.8, max(rated.values()) + 0.05)
    ranking_axis.barh(list(ranked), list(ranked.values()), color="#55a868")
    ranking_axis.set_title("Top-10: NDCG@10 (higher is better)")
    for axis, values in ((rating_axis, rated), (ranking_axis, ranked)):
        for row, value in enumerate(values.values()):
            axis.text(value, row, f" {value:.3f}", va="center")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


@app.command()
def evaluate(
    dataset: Annotated[Path, typer.Option(exists=True, file_okay=False, help="The ml-100k folder.")],
    folds: Annotated[str, typer.Option(help="Which canonical folds, e.g. 1,2,3,4,5.")] = "1,2,3,4,5",
    chart: Annotated[Path, typer.Option(help="Where to write the PNG chart.")] = Path("evaluation.png"),
) -> None:
    """Every algorithm on MovieLens ml-100k's canonical folds (train uN.base, test uN.test): one table
    and a PNG chart. Runs the same recommender code the service uses."""
    from cinelibre.recommend.evaluation import evaluate_ml100k

    numbers = tuple(int(number) for number in folds.split(","))
    with _progress() as progress:
        task = progress.add_task("Evaluating", total=len(numbers))
        results = evaluate_ml100k(dataset, folds=numbers, on_fold=lambda _: progress.advance(task))
    table = Table(title=f"{dataset.name}, folds {folds} (mean over folds)")
    table.add_column("algorithm")
    for metric in EVALUATION_METRICS:
        table.add_column(metric, justify="right")
    for name, scores in results.items():
        cells = [scores.mean(metric) for metric in EVALUATION_METRICS]
        table.add_row(name, *("–" if value is None else f"{value:.3f}" for value in cells))
    Console(width=max(console.width, 150)).print(table)
    _write_chart(results, chart)
    console.print(f"Chart written to {chart}")


async def _train(database_url: str, settings: Settings) -> "TrainedModel":
    from cinelibre.recommend.training import train_rating_model

    pool = await open_pool(database_url, settings)
    try:
        async with pool.connection() as conn:
            return await train_rating_model(conn, max_items=settings.ranking_model_max_items)
    finally:
        await pool.close()


@app.command()
def train() -> None:
    """Train the rating and ranking models on every rating and view and make them the ones every
    API process serves. A failed run leaves the previous models in place. Run it on a schedule."""
    from cinelibre.recommend.training import NothingToLearnError, TrainingBusyError

    settings = _settings()
    configure_logging(settings)
    with open_database(settings.database_url, settings.data_dir) as database:
        migrate.upgrade_to_head(database.url)
        try:
            trained = asyncio.run(_train(database.url, settings))
        except (NothingToLearnError, TrainingBusyError) as error:
            console.print(f"[yellow]Not trained:[/yellow] {error}.")
            raise typer.Exit(1) from error
    console.print(f"Rating model v{trained.version}: {trained.ratings_seen} ratings of {trained.items} items.")


@import_app.command("movielens")
def import_movielens(
    path: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="A MovieLens folder.")],
    ratings: Annotated[bool, typer.Option(help="Also import the ratings (as users who cannot log in).")] = True,
) -> None:
    """Import ml-100k or a CSV-layout MovieLens set (ml-latest-small, ml-25m, ml-32m). Idempotent."""

    settings = _settings()
    with open_database(settings.database_url, settings.data_dir) as database:
        migrate.upgrade_to_head(database.url)
        try:
            asyncio.run(_import_movielens(database.url, settings, path, ratings))
        except InvalidInputError as error:
            console.print(f"[red]{error.message}[/red]")
            raise typer.Exit(2) from error


sync_app = typer.Typer(help="Keep the catalogue fresh from TMDB and Google Books.")
app.add_typer(sync_app, name="sync")
LimitOption = Annotated[int | None, typer.Option("--limit", min=1, help="At most this many items per source.")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Fetch and compare, write nothing.")]
LanguagesOption = Annotated[
    str | None,
    typer.Option("--languages", help="Comma-separated TMDB original languages, e.g. hi,ta (default: TMDB_LANGUAGES)."),
]


def _client_options(settings: Settings) -> "ClientOptions":
    from cinelibre.sync.http import ClientOptions

    return ClientOptions(
        requests_per_second=settings.sync_requests_per_second,
        concurrency=settings.sync_concurrency,
        timeout_seconds=settings.sync_timeout_seconds,
        attempts=settings.sync_attempts,
        backoff_seconds=settings.sync_backoff_seconds,
    )


async def _sync(
    database_url: str,
    settings: Settings,
    sources: tuple[str, ...],
    *,
    limit: int | None,
    languages: list[str] | None,
    dry_run: bool,
    full: bool = False,
) -> list["SourceReport"]:
    from cinelibre.sync import google_books, tmdb
    from cinelibre.sync import service as sync_service

    embedder = None if dry_run else Embedder(settings)
    pool = await open_pool(database_url, settings)
    reports = []
    try:
        with _progress() as progress:
            if "movies" in sources and settings.tmdb_api_key is None:
                console.print("[yellow]TMDB_API_KEY is not set: films are not synced.[/yellow]")
            elif "movies" in sources:
                options = sync_service.MovieSyncOptions(
                    languages or settings.tmdb_languages, settings.tmdb_films_per_language, limit, full
                )
                total = len(options.languages) * options.per_language
                task = progress.add_task("TMDB films", total=min(total, limit or total))
                key = settings.tmdb_api_key.get_secret_value()
                async with tmdb.client(settings.tmdb_api_base_url, key, _client_options(settings)) as http:
                    reports.append(
                        await sync_service.sync_movies(
                            pool,
                            http,
                            options,
                            embedder=embedder,
                            dry_run=dry_run,
                            on_progress=lambda handled: progress.advance(task, handled),
                        )
                    )
            if "books" in sources:
                book_options = sync_service.BookSyncOptions(
                    settings.google_books_queries,
                    settings.google_books_per_query,
                    settings.google_books_language,
                    limit,
                )
                total = len(book_options.queries) * book_options.per_query
                task = progress.add_task("Google Books", total=min(total, limit or total))
                key = settings.google_books_api_key.get_secret_value() if settings.google_books_api_key else None
                async with google_books.client(
                    settings.google_books_api_base_url, key, _client_options(settings)
                ) as http:
                    reports.append(
                        await sync_service.sync_books(
                            pool,
                            http,
                            book_options,
                            embedder=embedder,
                            dry_run=dry_run,
                            on_progress=lambda handled: progress.advance(task, handled),
                        )
                    )
    finally:
        await pool.close()
    return reports


def _run_sync(
    sources: tuple[str, ...], limit: int | None, languages: str | None, dry_run: bool, full: bool = False
) -> None:
    from cinelibre.sync.http import UpstreamError
    from cinelibre.sync.service import SyncBusyError

    settings = _settings()
    configure_logging(settings)
    chosen = [code.strip() for code in languages.split(",") if code.strip()] if languages else None
    with open_database(settings.database_url, settings.data_dir) as database:
        migrate.upgrade_to_head(database.url)
        try:
            reports = asyncio.run(
                _sync(database.url, settings, sources, limit=limit, languages=chosen, dry_run=dry_run, full=full)
            )
        except (UpstreamError, SyncBusyError) as error:
            console.print(f"[red]Sync stopped:[/red] {error}")
            raise typer.Exit(1) from error
    table = Table(title="Sync (dry run: nothing written)" if dry_run else "Sync")
    for column in (
        "source",
        "fetched",
        "new",
        "updated",
        "unchanged",
        "skipped",
        "failed",
        "embedded",
        "requests",
        "time",
    ):
        table.add_column(column, justify="left" if column == "source" else "right")
    for report in reports:
        source = f"{report.source} (resumed run {report.run_id})" if report.resumed else report.source
        table.add_row(
            source,
            *(str(v) for v in report.counts().values()),
            str(report.embedded),
            str(report.requests),
            f"{report.seconds:.1f} s",
        )
    Console(width=max(console.width, 120)).print(table)
    for report in reports:
        for error in report.errors[:10]:
            console.print(f"[yellow]{report.source}:[/yellow] {error}")
        if len(report.errors) > 10:
            console.print(
                f"[yellow]{report.source}:[/yellow] … and {len(report.errors) - 10} more (see `cinelibre sync status`)"
            )


@sync_app.callback(invoke_without_command=True)
def sync(
    ctx: typer.Context, limit: LimitOption = None, languages: LanguagesOption = None, dry_run: DryRunOption = False
) -> None:
    """Sync films from TMDB and books from Google Books (or one of them: `sync movies`, `sync books`).
    Idempotent and resumable: run it daily."""
    if ctx.invoked_subcommand is None:
        _run_sync(("movies", "books"), limit, languages, dry_run)


@sync_app.command("movies")
def sync_movies(
    limit: LimitOption = None,
    languages: LanguagesOption = None,
    dry_run: DryRunOption = False,
    full: Annotated[bool, typer.Option("--full", help="Fetch every film's details, not only changed films'.")] = False,
) -> None:
    """Sync the most popular films of each language from TMDB."""
    _run_sync(("movies",), limit, languages, dry_run, full)


@sync_app.command("books")
def sync_books(limit: LimitOption = None, dry_run: DryRunOption = False) -> None:
    """Sync books from Google Books for each configured query."""
    _run_sync(("books",), limit, None, dry_run)


async def _recent_syncs(database_url: str, settings: Settings, runs: int) -> list[dict]:
    from cinelibre.sync import service as sync_service

    async with await psycopg.AsyncConnection.connect(database_url, **connection_kwargs(settings)) as conn:
        return await sync_service.recent_runs(conn, runs)


@sync_app.command("status")
def sync_status(runs: Annotated[int, typer.Option(min=1, max=1000, help="How many recent runs.")] = 10) -> None:
    """Recent sync runs with their counts."""
    settings = _settings()
    with open_database(settings.database_url, settings.data_dir) as database:
        migrate.upgrade_to_head(database.url)
        rows = asyncio.run(_recent_syncs(database.url, settings, runs))
    table = Table(title="Recent syncs")
    for column in (
        "run",
        "source",
        "started",
        "status",
        "fetched",
        "new",
        "updated",
        "unchanged",
        "skipped",
        "failed",
        "errors",
    ):
        table.add_column(column)
    for row in rows:
        counts = row["counts"]
        table.add_row(
            str(row["id"]),
            row["source"],
            f"{row['started_at']:%Y-%m-%d %H:%M}",
            row["status"],
            *(str(counts.get(name, 0)) for name in ("fetched", "new", "updated", "unchanged", "skipped", "failed")),
            str(row["error_count"]),
        )
    Console(width=max(console.width, 120)).print(table)
