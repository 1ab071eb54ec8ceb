"""search_generation: moves whenever item vectors or the search vocabulary change.

Revision ID: 0012_search_generation
Revises: 0011_item_documents
"""

from alembic import op

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0012_search_generation"
down_revision = "0011_item_documents"


def upgrade() -> None:
    run_sql_file("0012_search_generation.sql")


def downgrade() -> None:
    op.execute("DROP TABLE search_generation")
