"""Trained recommender models and their item factors.

Revision ID: 0004_models
Revises: 0003_recommend
"""

from alembic import op

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0004_models"
down_revision = "0003_recommend"


def upgrade() -> None:
    run_sql_file("0004_models.sql")


def downgrade() -> None:
    op.execute("DROP TABLE model_item_neighbours, model_item_factors, recommender_models")
