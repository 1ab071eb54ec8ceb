"""Catalogue sync: sync_runs, sync_checkpoints, movies.tmdb_list_fingerprint and spoken_languages.

Revision ID: 0006_sync
Revises: 0005_factor_index
"""

from alembic import op

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0006_sync"
down_revision = "0005_factor_index"


def upgrade() -> None:
    run_sql_file("0006_sync.sql")


def downgrade() -> None:
    op.execute("DROP TABLE sync_checkpoints, sync_runs")
    op.execute("ALTER TABLE movies DROP COLUMN tmdb_list_fingerprint, DROP COLUMN spoken_languages")
