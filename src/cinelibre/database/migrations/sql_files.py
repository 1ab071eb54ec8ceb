"""Each migration's DDL lives in `sql/<revision>.sql`: the same files, concatenated, make
`database_schema.sql` for people who create the schema by pasting it into an SQL editor."""

from pathlib import Path

from alembic import op

SQL_DIR = Path(__file__).parent / "sql"


def run_sql_file(name: str) -> None:
    # Straight to the driver: SQLAlchemy's text() would read ':name' and '%' as parameters.
    driver_connection = op.get_bind().connection.driver_connection
    driver_connection.execute((SQL_DIR / name).read_text(encoding="utf-8"))


def ordered_sql_files() -> list[Path]:
    return sorted(SQL_DIR.glob("*.sql"))
