"""Item documents open with the overview (a book's description), then the title and the rest.

Revision ID: 0014_overview_first_documents
Revises: 0013_described_first
"""

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0014_overview_first_documents"
down_revision = "0013_described_first"


def upgrade() -> None:
    run_sql_file("0014_overview_first_documents.sql")


def downgrade() -> None:
    raise NotImplementedError(
        "0014_overview_first_documents cannot be undone: restore a backup made before it with "
        "`cinelibre db restore --replace FILE` (docs/operations.md, Backups)."
    )
