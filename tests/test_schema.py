"""database_schema.sql (for Supabase's SQL editor) and the migrations must build the same schema."""

from pathlib import Path

import psycopg

from cinelibre.database import migrate, schema_state
from cinelibre.database.connection import connection_kwargs
from tests.conftest import recreate_database

SCHEMA_FILE = Path(__file__).parents[1] / "database_schema.sql"

SNAPSHOT_QUERIES = {
    "columns": """
        SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default, is_generated,
               generation_expression, character_maximum_length, numeric_precision, numeric_scale
        FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'alembic_version'
        ORDER BY table_name, column_name""",
    "constraints": """
        SELECT conrelid::regclass::text AS table_name, conname, pg_get_constraintdef(oid) AS definition
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace
          AND conrelid::regclass::text <> 'alembic_version'
        ORDER BY 1, 2""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename <> 'alembic_version' ORDER BY 1, 2""",
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.prokind = 'f'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
        ORDER BY 1, 2""",
    "extensions": "SELECT extname FROM pg_extension ORDER BY 1",
}


def snapshot(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        return {name: conn.execute(query).fetchall() for name, query in SNAPSHOT_QUERIES.items()}


def test_schema_file_is_generated_from_the_migrations() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == migrate.schema_sql()


def test_schema_file_and_migrations_build_the_same_schema(server_url: str) -> None:
    migrated = recreate_database(server_url, "cinelibre_schema_migrated")
    pasted = recreate_database(server_url, "cinelibre_schema_pasted")
    migrate.upgrade_to_head(migrated)
    with psycopg.connect(pasted, autocommit=True) as conn:
        conn.execute(SCHEMA_FILE.read_text(encoding="utf-8"))

    from_migrations = snapshot(migrated)
    from_file = snapshot(pasted)

    assert len(from_migrations["columns"]) > 50
    assert from_file == from_migrations
    assert migrate.current_revision(migrated) == migrate.head_revision()


def test_migrating_twice_changes_nothing(database_url: str) -> None:
    before = snapshot(database_url)

    migrate.upgrade_to_head(database_url)

    assert snapshot(database_url) == before


def test_transaction_pooler_mode_never_prepares_statements(database_url: str, settings) -> None:
    pooled = settings.model_copy(update={"database_transaction_pooler": True})
    with psycopg.connect(database_url, **connection_kwargs(pooled)) as conn:
        for _ in range(10):
            conn.execute("SELECT count(*) FROM movies WHERE id = %s", (1,))
        prepared = conn.execute("SELECT count(*) AS n FROM pg_prepared_statements").fetchone()

    assert prepared["n"] == 0


def test_default_mode_prepares_repeated_statements(database_url: str, settings) -> None:
    with psycopg.connect(database_url, **connection_kwargs(settings)) as conn:
        for _ in range(10):
            conn.execute("SELECT count(*) FROM movies WHERE id = %s", (1,))
        prepared = conn.execute("SELECT count(*) AS n FROM pg_prepared_statements").fetchone()

    assert prepared["n"] == 1


def test_latest_revision_is_alembics_head(database_url: str) -> None:
    assert schema_state.latest_revision() == migrate.head_revision()
    assert schema_state.current_revision(database_url) == migrate.head_revision()


def test_an_empty_database_is_migrated_in_a_child_process(server_url: str) -> None:
    url = recreate_database(server_url, "cinelibre_schema_child")

    schema_state.ensure_current(url)

    assert schema_state.current_revision(url) == migrate.head_revision()
