"""Trigram indexes for the text filter of /movies and /books (titles, original titles, authors).

Revision ID: 0015_text_filter_indexes
Revises: 0014_overview_first_documents
"""

from alembic import op

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0015_text_filter_indexes"
down_revision = "0014_overview_first_documents"


def upgrade() -> None:
    run_sql_file("0015_text_filter_indexes.sql")


def downgrade() -> None:
    indexes = (
        "movies_title_trgm_idx",
        "movies_original_title_trgm_idx",
        "books_title_trgm_idx",
        "books_authors_trgm_idx",
    )
    for index in indexes:
        op.execute(f"DROP INDEX IF EXISTS {index}")
    op.execute("DROP FUNCTION IF EXISTS book_authors_text(text[])")
