"""Rating-model factors as vector(64) with an HNSW index, and similar_by_ratings().

Revision ID: 0005_factor_index
Revises: 0004_models
"""

from alembic import op

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0005_factor_index"
down_revision = "0004_models"


def upgrade() -> None:
    run_sql_file("0005_factor_index.sql")


def downgrade() -> None:
    op.execute("DROP FUNCTION similar_by_ratings(bigint, text, bigint, text, integer)")
    op.execute("DROP INDEX model_item_factors_hnsw_idx")
    op.execute("ALTER TABLE model_item_factors ALTER COLUMN factors TYPE vector")
