"""A migration that cannot get a table lock gives up after a few seconds with a message saying
what to do, instead of queueing every request to that table behind it."""

import threading
import time

import psycopg
import pytest
from alembic import command
from alembic.script import ScriptDirectory

from cinelibre.database import migrate
from tests.conftest import recreate_database


def test_a_migration_behind_a_held_table_lock_gives_up_clearly_and_changes_nothing(server_url: str) -> None:
    url = recreate_database(server_url, "cinelibre_lock_timeout_test")
    config = migrate.alembic_config(url)
    script = ScriptDirectory.from_config(config)
    before_head = script.get_revision(script.get_current_head()).down_revision
    command.upgrade(config, before_head)

    with psycopg.connect(url) as holder:
        # An open transaction holding a lock the migration needs, as a long report query or an
        # idle-in-transaction session would.
        holder.execute("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE")
        # Should the migration wait without a limit, the lock goes away after 30 s and the
        # migration then succeeds: the test fails instead of hanging.
        release = threading.Timer(30.0, holder.close)
        release.start()
        started = time.monotonic()
        try:
            with pytest.raises(
                RuntimeError, match=r"waited 5s for a table lock .* then run `cinelibre db migrate`"
            ) as failed:
                migrate.upgrade_to_head(url)
        finally:
            release.cancel()
        waited = time.monotonic() - started
        holder.rollback()

    assert type(failed.value).__name__ == "MigrationLockTimeout"
    assert 5.0 <= waited < 15.0
    assert migrate.current_revision(url) == before_head
    migrate.upgrade_to_head(url)
    assert migrate.current_revision(url) == script.get_current_head()
