"""Accounts, catalogue, ratings and interactions.

Revision ID: 0001_foundation
Revises:
"""

from alembic import op

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0001_foundation"
down_revision = None


def upgrade() -> None:
    run_sql_file("0001_foundation.sql")


def downgrade() -> None:
    op.execute("DROP TABLE interactions, ratings, books, movies, users")
