"""Each item of a rating model records how many ratings it was trained on.

Revision ID: 0017_item_rating_counts
Revises: 0016_exact_small_catalogue
"""

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0017_item_rating_counts"
down_revision = "0016_exact_small_catalogue"


def upgrade() -> None:
    run_sql_file("0017_item_rating_counts.sql")


def downgrade() -> None:
    raise NotImplementedError(
        "0017_item_rating_counts cannot be undone: restore a backup made before it with "
        "`cinelibre db restore --replace FILE` (docs/operations.md, Backups)."
    )
