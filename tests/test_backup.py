"""`cinelibre db backup` and `cinelibre db restore`, run as commands against databases of their own:
a backup needs committed rows, which the rolled-back test transaction cannot give."""

import stat
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from cinelibre.catalog import repository as catalog_repository
from cinelibre.database import migrate
from cinelibre.database.connection import open_pool, prepare_connection
from cinelibre.recommend.training import train_rating_model
from cinelibre.search import service as search_service
from cinelibre.search.embedder import Embedder
from cinelibre.settings import Settings
from tests.conftest import app_on_database, client_for, recreate_database
from tests.factories import add_book, add_movie, register
from tests.test_cli import cinelibre
from tests.test_recommend import add_user, rate


async def _fill(url: str, settings: Settings, embedder: Embedder) -> None:
    """Accounts, a catalogue with vectors, ratings, views and trained models, all committed."""
    async with app_on_database(url, settings) as application, client_for(application) as http:
        await register(http, "asha@example.com", "first-password", "Asha")
        await register(http, "ravi@example.com", "second-password", "Ravi")
    connection = await psycopg.AsyncConnection.connect(url, row_factory=dict_row)
    await prepare_connection(connection)
    async with connection, connection.transaction():
        movies = [await add_movie(connection, title=f"Film {n}", year=1990 + n) for n in range(6)]
        books = [await add_book(connection, title=f"Book {n}") for n in range(2)]
        raters = [await add_user(connection, f"backup-rater{n}") for n in range(8)]
        for number, user in enumerate(raters):
            for offset in range(4):
                await rate(connection, user, movies[(number + offset) % 6], float(1 + (number * offset) % 5))
            await rate(connection, user, books[number % 2], 4.5, item_type="book")
            await connection.execute(
                "INSERT INTO interactions (user_id, kind, item_type, item_id) VALUES (%s, 'view', 'movie', %s)",
                (user, movies[number % 6]),
            )
        await catalog_repository.recompute_rating_aggregates(connection)
        await train_rating_model(connection)
    pool = await open_pool(url, settings)
    try:
        await search_service.embed_pending(pool, embedder)
    finally:
        await pool.close()


def _contents(url: str) -> dict[str, list[str]]:
    """Every table of the public schema, row for row as text (vectors, arrays and model blobs
    included), and where each sequence stands."""
    with psycopg.connect(url) as conn:
        tables = [name for (name,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        contents = {
            table: [row for (row,) in conn.execute(f'SELECT t::text FROM public."{table}" t ORDER BY 1')]
            for table in tables
        }
        sequences = conn.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
        contents["sequences"] = sorted(f"{name}={value}" for name, value in sequences)
        extensions = conn.execute("SELECT extname FROM pg_extension ORDER BY 1")
        contents["extensions"] = [name for (name,) in extensions]
    return contents


@pytest.fixture(scope="module")
async def backed_up(server_url: str, settings: Settings, embedder: Embedder, tmp_path_factory) -> dict:
    """A database full of data, and its backup written by `cinelibre db backup`."""
    url = recreate_database(server_url, "cinelibre_backup_source")
    migrate.upgrade_to_head(url)
    await _fill(url, settings, embedder)
    folder = tmp_path_factory.mktemp("backup")
    path = folder / "cinelibre.dump"
    result = cinelibre("db", "backup", str(path), database_url=url, cwd=folder)
    assert result.returncode == 0, result.stderr
    return {"url": url, "path": path, "contents": _contents(url), "output": result.stderr}


async def test_backup_reports_what_it_wrote_and_only_its_owner_can_read_it(backed_up: dict) -> None:
    path = backed_up["path"]
    tables = len(backed_up["contents"]) - 2

    assert f"Backed up {tables} tables (schema revision {migrate.head_revision()}) to {path}" in backed_up["output"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.with_name("cinelibre.dump.partial").exists()


async def test_a_restored_database_holds_exactly_what_was_backed_up(backed_up: dict, server_url: str) -> None:
    source = backed_up["contents"]
    target = recreate_database(server_url, "cinelibre_backup_target")

    result = cinelibre("db", "restore", str(backed_up["path"]), database_url=target, cwd=backed_up["path"].parent)

    assert result.returncode == 0, result.stderr
    assert f"tables (schema revision {migrate.head_revision()}) from" in result.stderr
    assert _contents(target) == source
    # The data is there to compare: accounts, the catalogue's vectors and trained models.
    assert len(source["users"]) == 10
    assert len(source["ratings"]) == 40
    assert len(source["interactions"]) == 8
    assert len(source["movie_embeddings"]) == 6
    assert len(source["book_embeddings"]) == 2
    assert {row.split(",")[1] for row in source["recommender_models"]} == {"biased-mf", "ease"}
    assert source["extensions"] == ["pg_trgm", "plpgsql", "vector"]


async def test_restore_into_a_migrated_empty_database_needs_no_replace(backed_up: dict, server_url: str) -> None:
    target = recreate_database(server_url, "cinelibre_backup_target")
    migrate.upgrade_to_head(target)

    result = cinelibre("db", "restore", str(backed_up["path"]), database_url=target, cwd=backed_up["path"].parent)

    assert result.returncode == 0, result.stderr
    assert _contents(target) == backed_up["contents"]


async def test_restore_refuses_a_database_with_data_unless_told_to_replace_it(
    backed_up: dict, server_url: str, settings: Settings, embedder: Embedder
) -> None:
    target = recreate_database(server_url, "cinelibre_backup_target")
    migrate.upgrade_to_head(target)
    with psycopg.connect(target) as conn:
        conn.execute("INSERT INTO movies (title) VALUES ('Only here')")
        conn.execute("INSERT INTO users (name) VALUES ('Only here')")
    before = _contents(target)
    folder = backed_up["path"].parent

    refused = cinelibre("db", "restore", str(backed_up["path"]), database_url=target, cwd=folder)
    after_refusal = _contents(target)
    replaced = cinelibre("db", "restore", str(backed_up["path"]), "--replace", database_url=target, cwd=folder)

    assert refused.returncode == 1
    assert "Not restored: the database already holds CineLibre data (rows in movies, users)" in refused.stderr
    assert "--replace" in refused.stderr
    assert after_refusal == before
    assert replaced.returncode == 0, replaced.stderr
    assert _contents(target) == backed_up["contents"]


def test_restoring_a_file_that_is_not_a_backup_fails_clearly(server_url: str, tmp_path: Path) -> None:
    target = recreate_database(server_url, "cinelibre_backup_target")
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("not a dump\n")

    result = cinelibre("db", "restore", str(not_a_backup), database_url=target, cwd=tmp_path)

    assert result.returncode == 1
    assert f"Not restored: {not_a_backup} is not a CineLibre backup" in " ".join(result.stderr.split())


def test_a_failed_backup_leaves_no_file_behind(tmp_path: Path) -> None:
    path = tmp_path / "never.dump"

    result = cinelibre(
        "db", "backup", str(path), database_url="postgresql://nobody@127.0.0.1:1/none?connect_timeout=1", cwd=tmp_path
    )

    assert result.returncode == 1
    assert "Backup failed:" in result.stderr
    assert sorted(tmp_path.iterdir()) == []
