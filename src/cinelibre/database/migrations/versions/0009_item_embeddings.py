"""Item vectors in movie_embeddings and book_embeddings, out of the catalogue tables.

Revision ID: 0009_item_embeddings
Revises: 0008_list_order_indexes
"""

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0009_item_embeddings"
down_revision = "0008_list_order_indexes"


def upgrade() -> None:
    run_sql_file("0009_item_embeddings.sql")


def downgrade() -> None:
    raise NotImplementedError(
        "0009_item_embeddings cannot be undone: restore a backup made before it with "
        "`cinelibre db restore --replace FILE` (docs/operations.md, Backups)."
    )
