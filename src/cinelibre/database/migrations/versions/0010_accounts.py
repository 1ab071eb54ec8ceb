"""users.token_version (revoking issued tokens) and users.is_admin.

Revision ID: 0010_accounts
Revises: 0009_item_embeddings
"""

from alembic import op

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0010_accounts"
down_revision = "0009_item_embeddings"


def upgrade() -> None:
    run_sql_file("0010_accounts.sql")


def downgrade() -> None:
    op.execute("ALTER TABLE users DROP COLUMN is_admin")
    op.execute("ALTER TABLE users DROP COLUMN token_version")
