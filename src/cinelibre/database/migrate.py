"""Schema migrations (Alembic) and the schema file for SQL editors."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from cinelibre.database.migrations.sql_files import ordered_sql_files

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SCHEMA_FILE_HEADER = """\
-- CineLibre database schema.
-- Paste this whole file into Supabase's SQL editor (or run it with psql) on an empty database
-- to create the same schema that `cinelibre db migrate` creates. Generated from the migrations
-- by `cinelibre db schema`; do not edit by hand.
"""


def sqlalchemy_url(database_url: str) -> str:
    scheme, rest = database_url.split("://", 1)
    if scheme in ("postgres", "postgresql"):
        scheme = "postgresql+psycopg"
    return f"{scheme}://{rest}"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would read '%' in passwords.
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return config


def upgrade_to_head(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(database_url: str) -> str | None:
    engine = create_engine(sqlalchemy_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def schema_sql() -> str:
    parts = [SCHEMA_FILE_HEADER]
    for path in ordered_sql_files():
        parts.append(f"\n-- ===== {path.stem} =====\n")
        parts.append(path.read_text(encoding="utf-8"))
    return "".join(parts)
