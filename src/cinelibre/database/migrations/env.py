"""Alembic environment: every pending migration runs in one transaction that holds an advisory
lock, so API instances starting at the same time never migrate concurrently. A transaction-level
lock also works through a transaction pooler, where a session-level lock would not.

Once it holds that lock, the migration waits at most MIGRATION_LOCK_TIMEOUT for each table lock
it needs: a migration queued behind a long query or an open transaction would otherwise hold
its place in the lock queue while every request that touches the table waits behind it."""

from alembic import context
from sqlalchemy import create_engine, pool, text
from sqlalchemy.exc import OperationalError

from cinelibre.database.locks import AdvisoryLock

MIGRATION_LOCK_TIMEOUT = "5s"
LOCK_NOT_AVAILABLE = "55P03"


class MigrationLockTimeout(RuntimeError):
    pass


def run_migrations_online() -> None:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            # Taken before the timeout is set: another instance migrating may take longer than it.
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": int(AdvisoryLock.MIGRATION)})
            connection.execute(text(f"SET LOCAL lock_timeout = '{MIGRATION_LOCK_TIMEOUT}'"))
            context.configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise MigrationLockTimeout(
            f"The migration waited {MIGRATION_LOCK_TIMEOUT} for a table lock that another session holds (a long "
            "query, an open transaction, or a job such as `cinelibre train`) and gave up, changing nothing. "
            "Find the session in pg_stat_activity, let it finish or end it, then run `cinelibre db migrate` again."
        ) from error
    finally:
        engine.dispose()


run_migrations_online()
