"""A model version can carry one serialised artefact (the learned ranking stage).

Revision ID: 0017_model_artefacts
Revises: 0016_exact_small_catalogue
"""

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0017_model_artefacts"
down_revision = "0016_exact_small_catalogue"


def upgrade() -> None:
    run_sql_file("0017_model_artefacts.sql")


def downgrade() -> None:
    raise NotImplementedError(
        "0017_model_artefacts cannot be undone: restore a backup made before it with "
        "`cinelibre db restore --replace FILE` (docs/operations.md, Backups)."
    )
