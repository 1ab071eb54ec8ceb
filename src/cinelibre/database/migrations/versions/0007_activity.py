"""users.activity_version, moved by triggers on ratings and interactions (cache keys).

Revision ID: 0007_activity
Revises: 0006_sync
"""

from alembic import op

from cinelibre.database.migrations.sql_files import run_sql_file

revision = "0007_activity"
down_revision = "0006_sync"


def upgrade() -> None:
    run_sql_file("0007_activity.sql")


def downgrade() -> None:
    for table, event in [
        ("ratings", "inserted"),
        ("ratings", "updated"),
        ("ratings", "deleted"),
        ("interactions", "inserted"),
        ("interactions", "deleted"),
    ]:
        op.execute(f"DROP TRIGGER {table}_{event}_bump_activity ON {table}")
    op.execute("DROP FUNCTION bump_activity_version()")
    op.execute("ALTER TABLE users DROP COLUMN activity_version")
