"""Imported histories, and films linked to the books they adapt.

Revision ID: 0020_imports_and_adaptations
Revises: 0019_experiments
"""

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0020_imports_and_adaptations"
down_revision = "0019_experiments"


def upgrade() -> None:
    run_sql_file("0020_imports_and_adaptations.sql")


def downgrade() -> None:
    raise NotImplementedError(
        "0020_imports_and_adaptations cannot be undone: restore a backup made before it with "
        "`cinelibre db restore --replace FILE` (docs/operations.md, Backups)."
    )
