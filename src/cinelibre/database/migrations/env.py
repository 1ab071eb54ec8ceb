"""Alembic environment: every pending migration runs in one transaction that holds an advisory
lock, so API instances starting at the same time never migrate concurrently. A transaction-level
lock also works through a transaction pooler, where a session-level lock would not."""

from alembic import context
from sqlalchemy import create_engine, pool, text

from cinelibre.database.locks import AdvisoryLock


def run_migrations_online() -> None:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": int(AdvisoryLock.MIGRATION)})
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
