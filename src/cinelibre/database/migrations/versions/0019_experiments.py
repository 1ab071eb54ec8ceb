"""Experiments, list exposures, and the list an interaction was made from.

Revision ID: 0019_experiments
Revises: 0018_popular_order
"""

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0019_experiments"
down_revision = "0018_popular_order"


def upgrade() -> None:
    run_sql_file("0019_experiments.sql")


def downgrade() -> None:
    raise NotImplementedError(
        "0019_experiments cannot be undone: restore a backup made before it with "
        "`cinelibre db restore --replace FILE` (docs/operations.md, Backups)."
    )
