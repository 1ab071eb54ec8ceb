"""The all-time popular list read in index order (a stored Bayesian average per item).

Revision ID: 0018_popular_order
Revises: 0017_item_rating_counts
"""

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0018_popular_order"
down_revision = "0017_item_rating_counts"


def upgrade() -> None:
    run_sql_file("0018_popular_order.sql")


def downgrade() -> None:
    raise NotImplementedError(
        "0018_popular_order cannot be undone: restore a backup made before it with "
        "`cinelibre db restore --replace FILE` (docs/operations.md, Backups)."
    )
