"""Vectors record whether their text had an overview; match_movies()/match_books() can rank the
undescribed a little lower, each kind from a partial HNSW index of its own.

Revision ID: 0013_described_first
Revises: 0012_search_generation
"""

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0013_described_first"
down_revision = "0012_search_generation"


def upgrade() -> None:
    run_sql_file("0013_described_first.sql")


def downgrade() -> None:
    raise NotImplementedError(
        "0013_described_first cannot be undone: restore a backup made before it with "
        "`cinelibre db restore --replace FILE` (docs/operations.md, Backups)."
    )
