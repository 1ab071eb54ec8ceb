"""Clicks and views on lists served to callers who are not signed in.

Revision ID: 0021_anonymous_list_interactions
Revises: 0020_imports_and_adaptations
"""

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0021_anonymous_list_interactions"
down_revision = "0020_imports_and_adaptations"


def upgrade() -> None:
    run_sql_file("0021_anonymous_list_interactions.sql")


def downgrade() -> None:
    raise NotImplementedError(
        "0021_anonymous_list_interactions cannot be undone: restore a backup made before it with "
        "`cinelibre db restore --replace FILE` (docs/operations.md, Backups)."
    )
