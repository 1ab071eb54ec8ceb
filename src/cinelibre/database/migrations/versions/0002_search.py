"""Semantic and full-text search: documents, embeddings, HNSW/GIN/trigram indexes, match functions.

Revision ID: 0002_search
Revises: 0001_foundation
"""

from alembic import op

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0002_search"
down_revision = "0001_foundation"


def upgrade() -> None:
    run_sql_file("0002_search.sql")


def downgrade() -> None:
    op.execute(
        """
        DROP FUNCTION match_movies, match_books;
        DROP TABLE search_terms, search_words;
        ALTER TABLE movies DROP COLUMN document, DROP COLUMN name_vector, DROP COLUMN search_vector;
        ALTER TABLE books DROP COLUMN document, DROP COLUMN name_vector, DROP COLUMN search_vector;
        DROP FUNCTION movie_document, book_document, language_name, join_text;
        """
    )
