"""The SQL functions get_popular_items() and get_collaborative_recommendations().

Revision ID: 0003_recommend
Revises: 0002_search
"""

from alembic import op

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0003_recommend"
down_revision = "0002_search"


def upgrade() -> None:
    run_sql_file("0003_recommend.sql")


def downgrade() -> None:
    op.execute("DROP FUNCTION get_popular_items, get_collaborative_recommendations")
