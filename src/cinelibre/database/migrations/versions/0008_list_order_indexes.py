"""Catalogue list indexes in the lists' full sort order.

Revision ID: 0008_list_order_indexes
Revises: 0007_activity
"""

from alembic import op

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0008_list_order_indexes"
down_revision = "0007_activity"


def upgrade() -> None:
    run_sql_file("0008_list_order_indexes.sql")


def downgrade() -> None:
    op.execute("DROP INDEX books_rating_count_idx")
    op.execute("DROP INDEX movies_rating_idx")
    op.execute("CREATE INDEX movies_rating_idx ON movies (average_rating DESC NULLS LAST, id)")
    op.execute("DROP INDEX movies_popularity_idx")
    op.execute("CREATE INDEX movies_popularity_idx ON movies (popularity DESC NULLS LAST, id)")
