"""The `cinelibre` command: each command parses its arguments, calls one service function and
prints. Commands import what they use when they run, so that starting (`--help` included) loads
only Typer and rich: not FastAPI, pydantic, NumPy, SciPy, Matplotlib, the embedder or the
database drivers (tests/test_cli_startup.py checks this)."""

import errno
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cinelibre.terminal import console, print_table, progress

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool
    from pydantic import ValidationError

    from cinelibre.database.connection import Connection
    from cinelibre.experiments.schemas import Results, Variant
    from cinelibre.settings import Settings

app = typer.Typer(help="CineLibre: ratings, search and recommendations for movies and books.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
import_app = typer.Typer(help="Bring data into the catalogue.", no_args_is_help=True)
users_app = typer.Typer(help="Accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(users_app, name="users")


@contextmanager
def _exit_on(errors: type[Exception] | tuple[type[Exception], ...], code: int, template: str) -> Iterator[None]:
    """A known failure ends the command with one line (`template` around the error) and `code`."""
    try:
        yield
    except errors as error:
        console.print(template.format(error))
        raise typer.Exit(code) from error


def _settings(*, uses_database: bool = True) -> "Settings":
    from cinelibre.settings import ConfigurationError, get_settings

    with _exit_on(ConfigurationError, 2, "[red]Configuration error:[/red] {}"):
        settings = get_settings()
        if uses_database:
            settings.check_database_configuration()
    return settings


def _fail(message: str, code: int) -> typer.Exit:
    """One plain line on stderr (never wrapped, whatever the width) and the exit code to raise."""
    console.print(message, soft_wrap=True, markup=False, highlight=False)
    return typer.Exit(code)


def _listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound before the database and the model start, so that a port another
    server holds ends the command at once with one line (bound as uvicorn binds its own)."""
    listening = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        if error.errno == errno.EADDRINUSE:
            raise _fail(f"Port {port} on {host} is already in use: stop the other server or set PORT", 2) from None
        raise _fail(f"Cannot listen on port {port} of {host}: {error.strerror}", 2) from None
    return listening


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: PORT or 8000).")] = None,
    demo: Annotated[bool, typer.Option(help="Load the demo catalogue into an empty database.")] = True,
) -> None:
    """Run the API (with the embedded database unless DATABASE_URL is set). Ctrl-C stops both."""
    settings = _settings()
    listening = _listen(host or settings.host, settings.port if port is None else port)
    from cinelibre.app import serve_forever

    if not demo:
        settings = settings.model_copy(update={"load_demo_catalogue": False})
    if settings.web_app_enabled and settings.web_build == "auto":
        _build_web_app_for_serve(settings.web_app_dir)
    serve_forever(settings, listening)


def _say(line: str) -> None:
    console.print(line, soft_wrap=True, markup=False, highlight=False)


def _build_web_app_for_serve(web_dir: Path) -> None:
    """Build the web app when it is missing or stale; whatever happens, the API starts after."""
    from cinelibre.web import service as web_service

    current = web_service.state(web_dir)
    if not current.has_sources:
        if not current.is_built:
            _say(f"Web app: none in {web_dir} (no package.json); the API runs without it.")
        return
    try:
        outcome = web_service.build(web_dir, on_step=lambda step: _say(f"Web app: {step}"))
    except web_service.WebBuildError as error:
        if error.output:
            typer.echo(error.output, err=True)
        still = "the previous build is served" if current.is_built else "the API runs without the web app"
        _say(f"Web app not built: {error}; {still}. Fix that and run `cinelibre web build`.")
        return
    if outcome is web_service.BuildOutcome.UP_TO_DATE:
        _say(f"Web app: {web_service.dist_dir(web_dir)} is up to date.")


@db_app.command("url")
def db_url() -> None:
    """Print the connection string (for psql and other tools)."""
    from cinelibre.database.embedded import open_database

    settings = _settings()
    with open_database(settings.database_url, settings.data_dir) as database:
        typer.echo(database.url)
        if database.is_embedded:
            console.print("The embedded database accepts connections while `cinelibre serve` is running.")


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending migrations (`cinelibre serve` also does this on start)."""
    from cinelibre.database.migrate import current_revision
    from cinelibre.database.runner import migrated_database

    with migrated_database(_settings()) as database:
        console.print(f"Database schema at revision {current_revision(database.url)}.")


@db_app.command("schema")
def db_schema() -> None:
    """Print the whole schema as one SQL script (what database_schema.sql holds)."""
    from cinelibre.database.migrate import schema_sql

    typer.echo(schema_sql(), nl=False)


BackupFileArgument = Annotated[
    Path, typer.Argument(dir_okay=False, metavar="FILE", help="The backup file (PostgreSQL's custom format).")
]


@db_app.command("backup")
def db_backup(path: BackupFileArgument) -> None:
    """Write the whole database (accounts, ratings, views, catalogue, vectors, trained models) to
    FILE with pg_dump. Safe while the API runs: the backup is one consistent snapshot."""
    from cinelibre.database import backup
    from cinelibre.database.embedded import open_database

    settings = _settings()
    with (
        _exit_on(backup.BackupError, 1, "[red]Backup failed:[/red] {}"),
        open_database(settings.database_url, settings.data_dir) as database,
        progress() as start_progress,
    ):
        report = backup.backup(database.url, path, start_progress=start_progress)
    console.print(report.summary())


@db_app.command("restore")
def db_restore(
    path: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, metavar="FILE", help="A file written by `cinelibre db backup`."),
    ],
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace the data the database holds now with the backup's.")
    ] = False,
) -> None:
    """Restore a backup into the configured database, in one transaction. Refuses a database that
    already holds CineLibre data unless --replace is given. Stop the API first."""
    from cinelibre.database import backup
    from cinelibre.database.embedded import open_database
    from cinelibre.database.schema_state import latest_revision

    settings = _settings()
    with (
        _exit_on((backup.BackupError, backup.DatabaseNotEmptyError), 1, "[red]Not restored:[/red] {}."),
        open_database(settings.database_url, settings.data_dir) as database,
        progress() as start_progress,
    ):
        report = backup.restore(database.url, path, replace=replace, start_progress=start_progress)
    console.print(report.summary())
    if report.revision != latest_revision():
        console.print("The backup's schema is older than this release: `cinelibre db migrate` brings it up to date.")


def _change_admin(email: str, is_admin: bool) -> None:
    from cinelibre.auth import service as auth_service
    from cinelibre.database.runner import in_one_transaction, run_with_database
    from cinelibre.errors import NotFoundError

    with _exit_on(NotFoundError, 1, "[red]{}[/red]"):
        job = in_one_transaction(lambda conn: auth_service.set_admin(conn, email=email, is_admin=is_admin))
        run_with_database(_settings(), job)
    console.print(f"{email} is now an administrator." if is_admin else f"{email} is no longer an administrator.")


EmailArgument = Annotated[str, typer.Argument(help="The account's email (any case).")]


@users_app.command("grant-admin")
def grant_admin(email: EmailArgument) -> None:
    """Let an account use the /admin operations (retrain, syncs). Takes effect on its next request."""
    _change_admin(email, True)


@users_app.command("revoke-admin")
def revoke_admin(email: EmailArgument) -> None:
    """Take the /admin operations away from an account. Takes effect on its next request."""
    _change_admin(email, False)


@app.command()
def embed(
    everything: Annotated[bool, typer.Option("--all", help="Embed every item again, not only what changed.")] = False,
) -> None:
    """Embed the catalogue with the configured EMBEDDING_MODEL (what is new or changed, or --all)."""
    from cinelibre.database.runner import run_with_database
    from cinelibre.search import service as search_service
    from cinelibre.search.embedder import Embedder

    settings = _settings()

    async def embed_catalogue(pool: "AsyncConnectionPool[Connection]") -> search_service.EmbeddingRun:
        with progress() as start_progress:
            return await search_service.embed_catalogue(
                pool, Embedder(settings), everything=everything, start_progress=start_progress
            )

    run = run_with_database(settings, embed_catalogue)
    console.print(f"Embedded {run.embedded} items with {settings.embedding_model}.")


EMBED_NEXT = (
    "Next: run `cinelibre embed`, so that search finds them by meaning and not only by their words "
    "(`cinelibre serve` also embeds them after it starts, unless EMBED_ON_START=false)."
)
EmbedOption = Annotated[
    bool,
    typer.Option(help="Embed what was added or changed, so search finds it by meaning (--no-embed: later)."),
]


@import_app.command("catalogue")
def import_catalogue(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A JSONL file, one item per line.")],
    embed: EmbedOption = True,
) -> None:
    """Add or update movies and books from a JSONL file (see the README for the fields), then embed
    what is new or changed. Idempotent: items are matched by external id, else by title and year."""
    from cinelibre.database.runner import run_with_database
    from cinelibre.search import service as search_service
    from cinelibre.search.embedder import Embedder

    settings = _settings()

    async def import_file(pool: "AsyncConnectionPool[Connection]") -> tuple:
        with progress() as start_progress:
            embedder = Embedder(settings)
            return await search_service.import_catalogue_file(
                pool, embedder, path, embed=embed, start_progress=start_progress
            )

    report, run = run_with_database(settings, import_file)
    for number, reason in report.bad_lines:
        console.print(f"[yellow]line {number} skipped:[/yellow] {reason}")
    console.print(report.summary(path.name))
    if embed:
        console.print(f"Embedded {run.embedded} new or changed items with {settings.embedding_model}.")
    else:
        console.print(f"New and changed items are not embedded yet. {EMBED_NEXT}", soft_wrap=True)


EVALUATION_CHART = "evaluation.png"
EVALUATION_RESULTS = "results.json"
TUNING_RESULTS = "tuning.json"


@app.command()
def evaluate(
    dataset: Annotated[Path, typer.Option(exists=True, file_okay=False, help="The ml-100k folder.")],
    folds: Annotated[str, typer.Option(help="Which canonical folds, e.g. 1,2,3,4,5.")] = "1,2,3,4,5",
    out: Annotated[
        Path | None,
        typer.Option(
            file_okay=False,
            show_default=False,
            help=f"Folder for the chart ({EVALUATION_CHART}) and every figure ({EVALUATION_RESULTS}, or "
            f"{TUNING_RESULTS} with --tune); default: a new folder under CINELIBRE_DATA_DIR/evaluations.",
        ),
    ] = None,
    cold_start: Annotated[
        bool,
        typer.Option(
            "--cold-start",
            help="Also refit the served hybrid with a sample of users cut down to 0-10 training ratings.",
        ),
    ] = False,
    views: Annotated[
        bool,
        typer.Option("--views", help="Also refit it with half the training ratings turned into views."),
    ] = False,
    tune: Annotated[
        bool,
        typer.Option(
            "--tune",
            help="Instead, choose hyper-parameters on validation folds carved from the training folds.",
        ),
    ] = False,
) -> None:
    """Every algorithm on MovieLens ml-100k's canonical folds (train uN.base, test uN.test): one table,
    a PNG chart and the figures as JSON. Runs the same recommender code the service uses. With --tune,
    tunes hyper-parameters on validation folds instead, never reading the test folds."""
    from cinelibre.recommend import evaluation

    if out is None:
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
        out = _settings(uses_database=False).data_dir / "evaluations" / f"{dataset.name}-{started}"
    numbers = tuple(int(number) for number in folds.split(","))
    if tune:
        _tune(dataset, numbers, out)
        return

    # Matplotlib is an optional extra (the service never draws): say so before any work is done.
    with _exit_on(ModuleNotFoundError, 2, "[red]{}[/red]: the chart needs pip install 'cinelibre\\[evaluation]'."):
        from cinelibre.recommend.evaluation_chart import write_chart

    cold, viewed = None, None
    with progress() as start_progress:
        results = evaluation.evaluate_ml100k(dataset, folds=numbers, start_progress=start_progress)
        if cold_start:
            cold = evaluation.evaluate_cold_start(dataset, numbers, start_progress)
        if views:
            viewed = evaluation.evaluate_views(dataset, numbers, start_progress, measured=results)
    rows = [[name, *scores.mean_cells()] for name, scores in results.items()]
    title = f"{dataset.name}, folds {folds} (mean over folds)"
    print_table(title, ["algorithm", *evaluation.TABLE_METRICS], rows, min_width=200)
    if cold is not None and not cold.rows:
        console.print(f"Cold start: no test user has {evaluation.COLD_START_MIN_RATINGS} training ratings.")
    elif cold is not None:
        users = "/".join(str(count) for count in cold.users)
        title = f"Cold start: NDCG@10 of {users} sampled users per fold, by training ratings kept"
        print_table(title, ["training data", *cold.models()], cold.mean_cells(), min_width=120)
    if viewed is not None:
        title = "Views: NDCG@10 on the test folds, with half the training ratings as views"
        print_table(title, ["training data", *viewed.models()], viewed.mean_cells(), min_width=120)
    out.mkdir(parents=True, exist_ok=True)
    write_chart(results, out / EVALUATION_CHART, cold_start=cold)
    evaluation.write_results(
        results, out / EVALUATION_RESULTS, dataset=dataset.name, folds=numbers, cold_start=cold, views=viewed
    )
    console.print(f"Chart and results written to {out}", soft_wrap=True, highlight=False)


def _tune(dataset: Path, folds: tuple[int, ...], out: Path) -> None:
    """`evaluate --tune`: one table per tunable setting, and tuning.json."""
    from cinelibre.recommend import tuning

    with progress() as start_progress:
        tuned = tuning.tune_ml100k(dataset, folds, start_progress=start_progress)
    on = ",".join(str(number) for number in folds)
    for setting in tuned:
        title = (
            f"{setting.tunable.name}: mean over the validation folds of folds {on}, chosen on {setting.tunable.metric}"
        )
        print_table(title, setting.columns(), setting.rows(), min_width=100)
    out.mkdir(parents=True, exist_ok=True)
    tuning.write_tuning(tuned, out / TUNING_RESULTS, dataset=dataset.name, folds=folds)
    console.print(f"Tuning results written to {out / TUNING_RESULTS}", soft_wrap=True, highlight=False)


@app.command()
def train() -> None:
    """Train the rating and ranking models on every rating and view and make them the ones every
    API process serves. A failed run leaves the previous models in place. Run it on a schedule."""
    from cinelibre.database.runner import run_with_database
    from cinelibre.logs import configure_logging
    from cinelibre.recommend import training

    settings = _settings()
    configure_logging(settings)

    async def train_models(pool: "AsyncConnectionPool[Connection]") -> training.TrainedModel:
        with progress() as start_progress:
            return await training.train(pool, max_items=settings.ranking_model_max_items, start_progress=start_progress)

    with _exit_on((training.NothingToLearnError, training.TrainingBusyError), 1, "[yellow]Not trained:[/yellow] {}."):
        trained = run_with_database(settings, train_models)
    console.print(f"Rating model v{trained.version}: {trained.ratings_seen} ratings of {trained.items} items.")


@import_app.command("movielens")
def import_movielens(
    path: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="A MovieLens folder.")],
    ratings: Annotated[bool, typer.Option(help="Also import the ratings (as users who cannot log in).")] = True,
    embed: EmbedOption = True,
) -> None:
    """Import ml-100k or a CSV-layout MovieLens set (ml-latest-small, ml-25m, ml-32m), then embed
    what it added or changed. Idempotent."""
    from cinelibre.database.runner import run_with_database
    from cinelibre.errors import InvalidInputError
    from cinelibre.movielens import service as movielens_service
    from cinelibre.search.embedder import Embedder

    settings = _settings()

    async def import_folder(pool: "AsyncConnectionPool[Connection]") -> movielens_service.ImportRun:
        # The service's first bar counts the bytes of the ratings file, the second the items embedded.
        with progress(units=["bytes"]) as start_progress:
            return await movielens_service.import_and_embed(
                pool, path, Embedder(settings), embed=embed, with_ratings=ratings, start_progress=start_progress
            )

    with _exit_on(InvalidInputError, 2, "[red]{}[/red]"):
        run = run_with_database(settings, import_folder)
    console.print(run.report.summary())
    if embed:
        console.print(f"Embedded {run.embedded} new or changed items with {settings.embedding_model}.")
    if run.not_embedded:
        console.print(f"{run.not_embedded} items are not embedded yet. {EMBED_NEXT}", soft_wrap=True)


sync_app = typer.Typer(help="Keep the catalogue fresh from TMDB and Google Books.")
app.add_typer(sync_app, name="sync")
LimitOption = Annotated[int | None, typer.Option("--limit", min=1, help="At most this many items per source.")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Fetch and compare, write nothing.")]
LanguagesOption = Annotated[
    str | None,
    typer.Option("--languages", help="Comma-separated TMDB original languages, e.g. hi,ta (default: TMDB_LANGUAGES)."),
]
ERRORS_SHOWN = 10


def _run_sync(
    sources: tuple[str, ...],
    limit: int | None,
    languages: str | None,
    dry_run: bool,
    full: bool = False,
    enrich: bool = False,
) -> None:
    from cinelibre.database.runner import run_with_database
    from cinelibre.logs import configure_logging
    from cinelibre.sync import service as sync_service
    from cinelibre.sync.http import UpstreamError
    from cinelibre.sync.schemas import SourceReport

    settings = _settings()
    configure_logging(settings)
    chosen = [code.strip() for code in languages.split(",") if code.strip()] if languages else None
    options = {"limit": limit, "languages": chosen, "dry_run": dry_run, "full": full, "enrich": enrich}

    def warn(reason: str) -> None:
        console.print(f"[yellow]{reason}[/yellow]")

    async def sync(pool: "AsyncConnectionPool[Connection]") -> list[SourceReport]:
        with progress() as start_progress:
            return await sync_service.run_sync(
                pool, settings, sources, **options, start_progress=start_progress, on_source_skipped=warn
            )

    with _exit_on((UpstreamError, sync_service.SyncBusyError), 1, "[red]Sync stopped:[/red] {}"):
        reports = run_with_database(settings, sync)
    title = "Sync (dry run: nothing written)" if dry_run else "Sync"
    rows = [report.summary_cells() for report in reports]
    print_table(title, SourceReport.SUMMARY_COLUMNS, rows, min_width=120)
    for report in reports:
        for line in report.error_lines(shown=ERRORS_SHOWN):
            console.print(f"[yellow]{report.source}:[/yellow] {line}")


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
    enrich: Annotated[
        bool,
        typer.Option(
            "--enrich",
            help="Discover no films: fill in those of the catalogue that have a TMDB id and no overview "
            "(MovieLens films) from their TMDB details, then embed them again.",
        ),
    ] = False,
) -> None:
    """Sync the most popular films of each language from TMDB (or, with --enrich, fill in the
    catalogue's films that have a TMDB id and no overview)."""
    _run_sync(("movies",), limit, languages, dry_run, full, enrich)


@sync_app.command("books")
def sync_books(limit: LimitOption = None, dry_run: DryRunOption = False) -> None:
    """Sync books from Google Books for each configured query."""
    _run_sync(("books",), limit, None, dry_run)


@sync_app.command("status")
def sync_status(runs: Annotated[int, typer.Option(min=1, max=1000, help="How many recent runs.")] = 10) -> None:
    """Recent sync runs with their counts."""
    from cinelibre.database.runner import in_one_transaction, run_with_database
    from cinelibre.sync import service as sync_service
    from cinelibre.sync.schemas import RECENT_RUN_COLUMNS, recent_run_cells

    recent = run_with_database(_settings(), in_one_transaction(lambda conn: sync_service.recent_runs(conn, runs)))
    rows = [recent_run_cells(run) for run in recent]
    print_table("Recent syncs", RECENT_RUN_COLUMNS, rows, min_width=120, numbers_right=False)


web_app = typer.Typer(help="The web app (React, in web/), served by the API on its own origin.", no_args_is_help=True)
app.add_typer(web_app, name="web")


@web_app.command("build")
def web_build(
    force: Annotated[bool, typer.Option("--force", help="Build even when dist/ is up to date.")] = False,
) -> None:
    """Build the web app into WEB_APP_DIR/dist (npm ci when its packages are missing or stale, then
    npm run build); does nothing when dist/ was built from the same sources."""
    from cinelibre.web import service as web_service

    web_dir = _settings(uses_database=False).web_app_dir
    try:
        outcome = web_service.build(web_dir, on_step=lambda step: _say(f"Web app: {step}"), force=force)
    except web_service.WebBuildError as error:
        if error.output:
            typer.echo(error.output, err=True)
        raise _fail(f"Web app not built: {error}.", 1) from error
    if outcome is web_service.BuildOutcome.UP_TO_DATE:
        _say(f"Web app: {web_service.dist_dir(web_dir)} is up to date (--force builds it again).")


config_app = typer.Typer(help="The settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("docs")
def config_docs(
    check: Annotated[bool, typer.Option("--check", help="Write nothing; exit 1 if a file is out of date.")] = False,
    root: Annotated[
        Path, typer.Option(file_okay=False, show_default=False, help="The repository root (default: here).")
    ] = Path("."),
) -> None:
    """Write .env.example and docs/configuration.md from the settings' descriptions (or --check them)."""
    from cinelibre import settings_reference

    raise typer.Exit(settings_reference.main([*(["--check"] if check else []), "--root", str(root)]))


experiments_app = typer.Typer(
    help="A/B and interleaving experiments on the lists each surface serves.", no_args_is_help=True
)
app.add_typer(experiments_app, name="experiments")
ExperimentIdArgument = Annotated[int, typer.Argument(metavar="ID", help="The experiment's id (`experiments list`).")]
# What a move leaves the experiment's users with.
MOVED = {
    "running": "is running",
    "paused": "is paused: its users get the default until it resumes",
    "stopped": "is stopped for good: its users get the default, its results stay",
}
# The options of `experiments create` that pydantic's field names stand for.
DEFINITION_OPTIONS = {
    "name": "NAME",
    "surface": "--surface",
    "kind": "--kind",
    "variants": "--variant",
    "expected_daily_users": "--expected-daily-users",
}


@experiments_app.command("configurations")
def experiments_configurations() -> None:
    """The recommender configurations a variant may use, and the surfaces each serves."""
    from cinelibre.experiments import service as experiments_service

    rows = [
        [item.name, ", ".join(item.surfaces), item.description] for item in experiments_service.configurations().items
    ]
    print_table(
        "Configurations", ["configuration", "surfaces", "what it serves"], rows, min_width=140, numbers_right=False
    )


@experiments_app.command("list")
def experiments_list() -> None:
    """Every experiment, newest first, with its variants and their shares."""
    from cinelibre.database.runner import in_one_transaction, run_with_database
    from cinelibre.experiments import service as experiments_service

    listed = run_with_database(_settings(), in_one_transaction(experiments_service.list_all))
    if not listed.items:
        _say("No experiments yet: `cinelibre experiments create` defines one.")
        return
    rows = [
        [str(item.id), item.name, item.surface, item.kind, item.status, _variant_shares(item.variants)]
        for item in listed.items
    ]
    columns = ["id", "name", "surface", "kind", "status", "variants (the first is the control)"]
    print_table("Experiments, newest first", columns, rows, min_width=140, numbers_right=False)


@experiments_app.command("create")
def experiments_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="What the experiment tries, in a few words.")],
    surface: Annotated[str, typer.Option(help="personalized, similar, popular or search.")],
    variants: Annotated[
        list[str] | None,
        typer.Option(
            "--variant",
            metavar="NAME=CONFIGURATION:SHARE",
            help="One per variant, the control first, e.g. --variant control=default:0.5; SHARE is a fraction "
            "(0.5, 1/3) or a percentage (50%). `experiments configurations` lists the configurations.",
        ),
    ] = None,
    kind: Annotated[str, typer.Option(help="ab, or interleaving (exactly two variants, merged into one list).")] = "ab",
    expected_daily_users: Annotated[
        int | None, typer.Option(help="Users a day the surface expects, for the effect a draft can detect.")
    ] = None,
) -> None:
    """Define an experiment as a draft: nobody is in it until `experiments start ID`. Prints its id."""
    from pydantic import ValidationError

    from cinelibre.database.runner import in_one_transaction, run_with_database
    from cinelibre.experiments import service as experiments_service
    from cinelibre.experiments.schemas import ExperimentCreate

    given = variants or []
    definition = {
        "name": name,
        "surface": surface,
        "kind": kind,
        "variants": [_parsed_variant(text) for text in given],
        "expected_daily_users": expected_daily_users,
    }
    try:
        data = ExperimentCreate.model_validate(definition)
    except ValidationError as error:
        raise _fail(f"Not created: {_definition_problems(error, given)}.", 2) from None
    made = run_with_database(_settings(), in_one_transaction(lambda conn: experiments_service.create(conn, data)))
    typer.echo(made.id)
    _say(
        f"Experiment {made.id} ({made.name}) is a draft on the {made.surface} surface: "
        f"`cinelibre experiments report {made.id}` tells the effect it can detect, "
        f"`cinelibre experiments start {made.id}` starts it."
    )


def _parsed_variant(text: str) -> dict[str, object]:
    """NAME=CONFIGURATION:SHARE as ExperimentCreate takes a variant (variant names hold no '=' and
    configuration names no ':', so the split is never ambiguous)."""
    name, equals, rest = text.partition("=")
    configuration, colon, share = rest.rpartition(":")
    if not equals or not colon:
        raise _fail(f"Not created: --variant {text} is not NAME=CONFIGURATION:SHARE (e.g. control=default:0.5).", 2)
    return {"name": name.strip(), "configuration": configuration.strip(), "share": _share_of(share.strip())}


def _share_of(text: str) -> float | str:
    """0.5, 1/3 or 50% as a fraction; anything else as typed, for the validation to refuse."""
    try:
        if text.endswith("%"):
            return float(text[:-1]) / 100
        numerator, slash, denominator = text.partition("/")
        return float(numerator) / float(denominator) if slash else float(text)
    except (ValueError, ZeroDivisionError):
        return text


def _definition_problems(error: "ValidationError", variants: list[str]) -> str:
    """pydantic's messages in one line, each after the option it is about."""
    problems = []
    for problem in error.errors():
        message = str(problem["msg"]).removeprefix("Value error, ")
        location = problem["loc"]
        if len(location) >= 3 and location[0] == "variants" and isinstance(location[1], int):
            where = f"--variant {variants[location[1]]}, {location[2]}"
        elif location:
            where = DEFINITION_OPTIONS.get(str(location[0]), ".".join(str(part) for part in location))
        else:
            where = ""
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)


def _move_experiment(experiment_id: int, to: str) -> None:
    from cinelibre.database.runner import in_one_transaction, run_with_database
    from cinelibre.errors import ConflictError, NotFoundError
    from cinelibre.experiments import service as experiments_service
    from cinelibre.experiments.schemas import Status

    settings = _settings()
    job = in_one_transaction(lambda conn: experiments_service.move(conn, experiment_id, Status(to)))
    try:
        moved = run_with_database(settings, job)
    except (NotFoundError, ConflictError) as error:
        raise _fail(str(error), 1) from None
    # Running API processes read the experiments again within this long; none is told at once.
    _say(
        f"Experiment {moved.id} ({moved.name}) {MOVED[moved.status]}. Running API processes follow within "
        f"{settings.experiments_refresh_seconds:g} s (EXPERIMENTS_REFRESH_SECONDS)."
    )


@experiments_app.command("start")
def experiments_start(experiment_id: ExperimentIdArgument) -> None:
    """Start a draft, or resume a paused experiment; one experiment runs on a surface at a time."""
    _move_experiment(experiment_id, "running")


@experiments_app.command("pause")
def experiments_pause(experiment_id: ExperimentIdArgument) -> None:
    """Pause a running experiment: everyone gets the default until it starts again."""
    _move_experiment(experiment_id, "paused")


@experiments_app.command("stop")
def experiments_stop(experiment_id: ExperimentIdArgument) -> None:
    """Stop an experiment for good: everyone gets the default; its results stay."""
    _move_experiment(experiment_id, "stopped")


@experiments_app.command("report")
def experiments_report(
    experiment_id: ExperimentIdArgument,
    png: Annotated[
        Path | None,
        typer.Option(dir_okay=False, show_default=False, help="Where to write the chart (default: experiment-ID.png)."),
    ] = None,
    no_png: Annotated[bool, typer.Option("--no-png", help="Print the results, draw no chart.")] = False,
) -> None:
    """An experiment's results so far, and a PNG chart of them.

    Each variant's users, exposures, clicks, CTR, CTR@k, ratings and coverage; each variant against
    the control with its 95% interval and p-value; the verdict; the sample ratio check; a draft's
    detectable effect, or an interleaving's win shares."""
    import importlib.util

    from cinelibre.database.runner import in_one_transaction, run_with_database
    from cinelibre.errors import NotFoundError
    from cinelibre.experiments import service as experiments_service

    # Matplotlib is an optional extra (the service never draws): say so before any work is done.
    if not no_png and importlib.util.find_spec("matplotlib") is None:
        raise _fail("The chart needs Matplotlib: pip install 'cinelibre[evaluation]' (or pass --no-png).", 2)
    settings = _settings()
    window = settings.experiment_rating_window_days
    job = in_one_transaction(lambda conn: experiments_service.results(conn, experiment_id, window_days=window))
    try:
        results = run_with_database(settings, job)
    except NotFoundError as error:
        raise _fail(str(error), 1) from None
    _print_results(results, planning_days=experiments_service.PLANNING_DAYS)
    if not no_png:
        from cinelibre.experiments.report_chart import write_chart

        path = png or Path(f"experiment-{experiment_id}.png")
        write_chart(results, path)
        _say(f"Chart written to {path.resolve()}")


def _print_results(results: "Results", *, planning_days: int) -> None:
    experiment = results.experiment
    control = experiment.variants[0].name
    kind = "an A/B test" if experiment.kind == "ab" else "interleaving"
    _say(
        f"Experiment {experiment.id}, {experiment.name}: {kind} on the {experiment.surface} surface, "
        f"{experiment.status}."
    )
    places = sorted(results.variants[0].ctr_at, key=int)
    columns = [
        "variant (configuration)",
        "users",
        "exposures",
        "clicks",
        "CTR",
        *(f"CTR@{k}" for k in places),
        f"rated within {results.rating_window_days} d",
        "mean rating",
        "coverage",
    ]
    rows = [
        [
            f"{variant.name} ({variant.configuration})",
            str(variant.users),
            str(variant.exposures),
            str(variant.clicks),
            _percent(variant.ctr),
            *(_percent(variant.ctr_at[k]) for k in places),
            _percent(variant.rating_rate),
            "—" if variant.mean_rating is None else f"{variant.mean_rating:.2f}",
            _percent(variant.coverage),
        ]
        for variant in results.variants
    ]
    print_table("Each variant's lists and what they led to; the first is the control", columns, rows, min_width=140)
    confidence = f"{1 - results.alpha:.0%}"
    for variant in results.variants:
        difference = variant.difference
        if difference is None:
            continue
        if not (variant.users and results.variants[0].users):
            _say(f"{variant.name} against {control}: nothing to compare yet (no list shown to one of them).")
            continue
        relative = "" if difference.relative is None else f" ({difference.relative * 100:+.1f}%)"
        low, high = difference.ci
        _say(
            f"{variant.name} against {control}: CTR {_points(difference.value)}{relative}, {confidence} interval "
            f"{_points(low)} to {_points(high)}, p {_p_value(difference.p_value)}"
            f"{': significant' if difference.significant else ''}."
        )
    _say(f"Verdict: {results.verdict.reason}")
    if results.srm.flagged:
        users = ", ".join(f"{variant.name} {variant.users}" for variant in results.variants)
        shares = ", ".join(_share_text(variant.share) for variant in experiment.variants)
        console.print(
            f"[yellow]Warning: sample ratio mismatch (p {_p_value(results.srm.p_value)}): the users split {users}, "
            f"not as the shares {shares} say. Assignment or exposure logging is broken somewhere: do not trust "
            "these results until it is found.[/yellow]",
            soft_wrap=True,
            highlight=False,
        )
    elif experiment.kind == "ab" and any(variant.users for variant in results.variants):
        _say(
            "Users split between the variants as their shares say "
            f"(sample ratio check p {_p_value(results.srm.p_value)})."
        )
    _print_detectable_effect(results, planning_days)
    _print_win_shares(results)


def _print_detectable_effect(results: "Results", planning_days: int) -> None:
    effect = results.minimum_detectable_effect
    if effect is None:
        return
    if effect.expected_users == 0:
        _say(
            f"Detectable effect: the surface served nobody in the last {planning_days} days; "
            "--expected-daily-users on a new experiment tells what its traffic could detect."
        )
        return
    assumed = "" if effect.baseline_measured else " (assumed: the surface has served no list yet)"
    relative = "" if effect.relative is None else f" ({_percent(effect.relative, 1)} relative)"
    _say(
        f"Detectable effect: with {effect.expected_users:,} users over {planning_days} days and a baseline CTR of "
        f"{_percent(effect.baseline_ctr)}{assumed}, the smallest difference this experiment reliably detects "
        f"(80% power, alpha {results.alpha:g}) is {effect.absolute * 100:.2f} percentage points{relative}."
    )


def _print_win_shares(results: "Results") -> None:
    interleaved = results.interleaving
    if interleaved is None:
        return
    share = interleaved.share
    won = ", ".join(f"{name} won {wins}" for name, wins in interleaved.wins.items())
    low, high = share.ci
    _say(
        f"Interleaving: {interleaved.lists} lists; {won}, {interleaved.ties} tied, the rest had no click. "
        f"{share.variant} won "
        f"{_percent(share.value, 1)} of the decided lists, {1 - results.alpha:.0%} interval {_percent(low, 1)} to "
        f"{_percent(high, 1)}, p {_p_value(share.p_value)} against an even split."
    )


def _variant_shares(variants: list["Variant"]) -> str:
    return ", ".join(f"{variant.name} ({variant.configuration}): {_share_text(variant.share)}" for variant in variants)


def _share_text(share: float) -> str:
    """A share as a percentage with no needless digits: 0.5 → 50%, 1/3 → 33.33%."""
    return f"{share * 100:.4g}%"


def _percent(value: float, digits: int = 2) -> str:
    return f"{value * 100:.{digits}f}%"


def _points(value: float) -> str:
    """A difference of two rates in percentage points, signed: 0.012 → +1.20 pp."""
    return f"{value * 100:+.2f} pp"


def _p_value(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"= {value:.3f}"
