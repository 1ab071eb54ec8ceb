"""Nearest neighbours compared exactly while the catalogue is small (under 2,000 vectors).

Revision ID: 0016_exact_small_catalogue
Revises: 0015_text_filter_indexes
"""

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0016_exact_small_catalogue"
down_revision = "0015_text_filter_indexes"


def upgrade() -> None:
    run_sql_file("0016_exact_small_catalogue.sql")


def downgrade() -> None:
    raise NotImplementedError(
        "0016_exact_small_catalogue cannot be undone: restore a backup made before it with "
        "`cinelibre db restore --replace FILE` (docs/operations.md, Backups)."
    )
