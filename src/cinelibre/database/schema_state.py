"""Whether a database's schema is current, answered without importing Alembic: the API process
then never loads Alembic and SQLAlchemy (about 20 MB) unless there is something to migrate, and
even then migrates in a child process so that memory goes away with it."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import psycopg

logger = logging.getLogger(__name__)

VERSIONS_DIR = Path(__file__).parent / "migrations" / "versions"


def latest_revision() -> str:
    # Revision ids are the migration file names, numbered in order.
    return max(path.stem for path in VERSIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.py"))


def current_revision(database_url: str) -> str | None:
    with psycopg.connect(database_url) as conn:
        if conn.execute("SELECT to_regclass('alembic_version')").fetchone() == (None,):
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None


def ensure_current(database_url: str) -> None:
    if current_revision(database_url) == latest_revision():
        return
    env = os.environ | {"DATABASE_URL": database_url}
    # Its output is passed on through logging, so that every line the API writes is a log record.
    done = subprocess.run([sys.executable, "-m", "cinelibre", "db", "migrate"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"migrating the database failed:\n{done.stderr}{done.stdout}")
    for line in (done.stderr + done.stdout).splitlines():
        logger.info("migration: %s", line)
