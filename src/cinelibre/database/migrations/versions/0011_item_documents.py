"""Item documents as sentences (MovieLens tags in them); movies.tags and movies.tmdb_enriched_at.

Revision ID: 0011_item_documents
Revises: 0010_accounts
"""

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0011_item_documents"
down_revision = "0010_accounts"


def upgrade() -> None:
    run_sql_file("0011_item_documents.sql")


def downgrade() -> None:
    raise NotImplementedError(
        "0011_item_documents cannot be undone: restore a backup made before it with "
        "`cinelibre db restore --replace FILE` (docs/operations.md, Backups)."
    )
