"""Each item of a rating model records how many ratings it was trained on.

Revision ID: 0018_item_rating_counts
Revises: 0017_model_artefacts
"""

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0018_item_rating_counts"
down_revision = "0017_model_artefacts"


def upgrade() -> None:
    run_sql_file("0018_item_rating_counts.sql")


def downgrade() -> None:
    raise NotImplementedError(
        "0018_item_rating_counts cannot be undone: restore a backup made before it with "
        "`cinelibre db restore --replace FILE` (docs/operations.md, Backups)."
    )
